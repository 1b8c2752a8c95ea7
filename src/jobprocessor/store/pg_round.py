"""A worker's round on PostgreSQL, in one statement and one round trip.

Written as separate statements in a transaction, a round costs BEGIN, the
outcomes' UPDATE, the claim, the events' INSERT and COMMIT: five round trips,
during which the worker's claim loop waits (three quarters of its time, measured
with py-spy). Here the statements of ``round_sql`` are data-modifying CTEs of one
statement run in autocommit mode: they commit together, so the guarantees of the
transaction are kept. The statement goes to psycopg itself (``execute_on_driver``):
SQLAlchemy's execution took a quarter of a round on the client.

One difference from the transaction: every part of one statement sees the same
snapshot, so a queued job waiting for a lock value that a job finishing in this
very round holds is not claimed until the next round. The worker claims again at
once after such a round (see ``Worker._claim_loop``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from jobprocessor.model import Event, Status
from jobprocessor.store._sql import CANCELED_BEFORE_START
from jobprocessor.store.engine import execute_on_driver
from jobprocessor.store.round_sql import (
    Flavour,
    ahead_value,
    claim_parameters,
    claim_sql,
    end_events,
    finish_sql,
    is_capped,
    outcomes_value,
    release_sql,
    start_sql,
    started_detail,
)
from jobprocessor.store.tables import job_events, jobs

if TYPE_CHECKING:
    from jobprocessor.store.records import Round


#: The round's parameters, in the order of PostgreSQL's numbered placeholders: the
#: round goes to psycopg as it is written (``execute_on_driver``), with no placeholders
#: of psycopg's to convert.
PARAMETERS = (
    "now",
    "worker",
    "outcomes",
    "events",
    "types",
    "claim_limit",
    "queues",
    "others",
    "started_detail",
    # Only in a round with jobs claimed ahead (last: the other rounds leave them out).
    "run_now",
    "starts",
    "releases",
)
#: How many of ``PARAMETERS`` a round without jobs claimed ahead takes.
PLAIN_PARAMETERS = PARAMETERS.index("run_now")


def _param(name: str) -> str:
    return f"${PARAMETERS.index(name) + 1}"


def _records(parameter: str, columns: dict[str, str], alias: str) -> str:
    described = ", ".join(f"{name} {kind}" for name, kind in columns.items())
    return f"jsonb_to_recordset({_param(parameter)}::jsonb) AS {alias}({described})"


FLAVOUR = Flavour(
    param=_param,
    records=_records,
    member=lambda column, parameter: f"{column} = ANY({_param(parameter)}::text[])",
    list_value=list,
    skip_locked="FOR UPDATE OF e SKIP LOCKED",
    json_int=lambda parameter, key: f"({_param(parameter)}::jsonb ->> {key})::integer",
    returning_all=lambda alias: f"{alias}.*",
    each_row_of=lambda query, alias: f"CROSS JOIN LATERAL ({query}) AS {alias}",
    queued_jobs=lambda alias: f"{jobs.name} AS {alias}",
)

_EVENT_COLUMNS = {"job_id": "bigint", "n": "integer", "event": "text", "detail": "text"}


def _round_sql(*, capped: bool, ahead: bool) -> str:
    started = canceled = ahead_parts = ""
    ended = "SELECT id FROM finished"
    if ahead:
        ended += " UNION ALL SELECT id FROM finished_ahead"
        ahead_parts = f"""
finished_ahead AS ({finish_sql(FLAVOUR, ahead=True)}
),
started AS ({start_sql(FLAVOUR)}
),
released AS ({release_sql(FLAVOUR)}
),"""
        started = f"""
        WHERE c.status = '{Status.RUNNING.value}'
        UNION ALL
        SELECT s.id, 0, '{Event.STARTED.value}', {_param("started_detail")}
        FROM started AS s"""
        canceled = f"""
        UNION ALL
        SELECT r.id, 0, '{Event.CANCELED.value}', '{CANCELED_BEFORE_START}'
        FROM released AS r WHERE r.status = '{Status.CANCELED.value}'"""
    return f"""
WITH finished AS ({finish_sql(FLAVOUR)}
),{ahead_parts}
claimed AS ({claim_sql(FLAVOUR, capped=capped, ahead=ahead)}
),
logged AS (
    INSERT INTO {job_events.name} (job_id, at, event, by, detail)
    SELECT job_id, {_param("now")}, event, NULL, detail FROM (
        SELECT e.job_id, e.n, e.event, e.detail
        FROM {_records("events", _EVENT_COLUMNS, "e")}
        WHERE e.job_id IN ({ended})
        UNION ALL
        SELECT c.id, 0, '{Event.STARTED.value}', {_param("started_detail")}
        FROM claimed AS c{started}{canceled}
    ) AS e
    ORDER BY job_id, n
)
SELECT c.*, f.finished_ids
FROM (SELECT array_agg(id) AS finished_ids FROM ({ended}) AS e) AS f
LEFT JOIN claimed AS c ON true
"""


#: The round, by whether a queue has less room than the round claims, and whether
#: it claims jobs ahead or writes their starts or releases.
ROUND_SQL = {
    (capped, ahead): _round_sql(capped=capped, ahead=ahead)
    for capped in (False, True)
    for ahead in (False, True)
}


def run_round(connection: Connection, round_: Round) -> tuple[list[bool], list[Any]]:
    """Run one round on a ``prepare``d connection: (held flags per outcome, claimed rows).

    A flag is False where the worker no longer held the job (a rescue or a cancel
    got there first).
    """
    statement = ROUND_SQL[is_capped(round_.claim), round_.of_ahead]
    result = execute_on_driver(connection, statement, round_values(round_))
    finished = set(result[0].finished_ids or ()) if result else set()
    flags = [lease.job_id in finished for lease, _ in round_.outcomes]
    claimed = [row for row in result if row.id is not None]
    return flags, claimed


def round_values(round_: Round) -> list[Any]:
    """The round's parameters, in the order of ``PARAMETERS``; without the last
    three unless it concerns jobs claimed ahead (``Round.of_ahead``)."""
    events = [
        {"job_id": job_id, "n": n, "event": event, "detail": detail}
        for n, (job_id, event, detail) in enumerate(end_events(round_.outcomes))
    ]
    ahead = round_.ahead
    parameters = {
        "outcomes": outcomes_value(round_.outcomes),
        "events": json.dumps(events),
        **claim_parameters(round_.claim, FLAVOUR),
        "worker": round_.worker_id,
        "now": round_.now,
        "started_detail": started_detail(round_.worker_id),
        "starts": _json(ahead_value(ahead.starts)),
        "releases": _json(ahead_value([(lease, None) for lease in ahead.releases])),
    }
    names = PARAMETERS if round_.of_ahead else PARAMETERS[:PLAIN_PARAMETERS]
    return [parameters[name] for name in names]


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=datetime.isoformat)


_QUEUED_OF_TYPES = f"status = '{Status.QUEUED.value}' AND type = ANY($2::text[])"
#: Whether a job of the given types is queued and due (``JobStore.has_queued``).
HAS_QUEUED_SQL = f"""SELECT EXISTS (
    SELECT 1 FROM {jobs.name}
    WHERE {_QUEUED_OF_TYPES} AND (run_at IS NULL OR run_at <= $1)
) AS queued"""
#: When the earliest delayed job of the given types falls due (``JobStore.next_due``).
NEXT_DUE_SQL = (
    f"SELECT min(run_at) AS due FROM {jobs.name} WHERE {_QUEUED_OF_TYPES} AND run_at > $1"
)


def has_queued(connection: Connection, types: Sequence[str], now: datetime) -> bool:
    """``HAS_QUEUED_SQL``: one round trip."""
    return bool(execute_on_driver(connection, HAS_QUEUED_SQL, [now, list(types)])[0].queued)


def next_due(connection: Connection, types: Sequence[str], now: datetime) -> datetime | None:
    """``NEXT_DUE_SQL``: one round trip."""
    due: datetime | None = execute_on_driver(connection, NEXT_DUE_SQL, [now, list(types)])[0].due
    return due


def prepare(connection: Connection) -> None:
    """Make ``connection`` a worker's own for its rounds (see ``KeptConnection``).

    PostgreSQL planned the round again for its arguments every time (a "custom
    plan", costlier than the round itself; ``bench/engine_changes.md``, change 6)
    because the generic plan looked costlier on paper; it is
    the same index scan over queued rows whatever the arguments (checked with
    EXPLAIN), so the kept connection asks for it, without JIT compilation. The
    connection leaves the pool for good first, so that the settings never reach the
    console's queries.
    """
    connection.detach()
    connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    # The claim's estimated cost (a row count it cannot know) passes jit_above_cost:
    # compiling it took 60 ms of a 1 ms round, every round.
    connection.exec_driver_sql("SET jit = off")
