"""A worker's round, written once for both databases.

A round records how the worker's finished jobs ended, claims queued jobs for its
free slots, and writes the timeline events of both. The statements below are the
same on PostgreSQL and SQLite; a ``Flavour`` fills in the few places where the two
speak differently: how a parameter is written, how a table of rows is read from one
JSON parameter, how a column is tested against a list, and whether the claim may
skip rows that other workers have locked. ``pg_round`` runs them as one statement
of data-modifying CTEs (one round trip), ``sqlite_round`` as statements in one
``BEGIN IMMEDIATE`` transaction (SQLite has no data-modifying CTEs, and no round
trips to save).

The outcomes come in as one JSON document, so that a statement's text (and so its
prepared plan) is the same whatever their number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobprocessor.model import Event, Status
from jobprocessor.store._sql import HELD_SQL, OURS_SQL
from jobprocessor.store.tables import jobs, workers

if TYPE_CHECKING:
    from jobprocessor.store.records import ClaimRequest, Outcome, RunLease

#: The columns of an outcome in the ``outcomes`` parameter, with their SQL types.
#: (``job_id``, not ``id``: SQLite's RETURNING names the updated table's columns
#: unqualified, and PostgreSQL's would then find two ``id``.)
OUTCOME_COLUMNS = {
    "job_id": "bigint",
    "attempt": "integer",
    "status": "text",
    "result": "jsonb",
    "error_type": "text",
    "error_message": "text",
    "error_traceback": "text",
    "started_at": "timestamptz",
}
#: A start or a release of a job claimed ahead (``AheadWrites``).
AHEAD_COLUMNS = {"job_id": "bigint", "attempt": "integer", "at": "timestamptz"}


@dataclass(frozen=True, slots=True)
class Flavour:
    """How one database writes the round's few dialect-specific parts."""

    #: A named parameter as the driver expects it.
    param: Callable[[str], str]
    #: ``records(parameter, columns, alias)``: the rows of a JSON array parameter as
    #: a table with the given columns (SQL types as PostgreSQL names them).
    records: Callable[[str, dict[str, str], str], str]
    #: ``member(column, parameter)``: the column's value is one of a list parameter.
    member: Callable[[str, str], str]
    #: The list parameter's value as the driver takes it.
    list_value: Callable[[Sequence[str]], Any]
    #: Appended to the claim's choice of rows: skip rows other workers have locked.
    skip_locked: str
    #: ``json_int(parameter, key)``: the integer under the key (an SQL expression) of a
    #: JSON object parameter, NULL if absent.
    json_int: Callable[[str, str], str]
    #: ``returning_all(alias)``: every column of an updated table, for RETURNING.
    returning_all: Callable[[str], str]
    #: ``each_row_of(query, alias)``: join each row of the outer FROM to the rows of a
    #: correlated query of the jobs table (its columns named as the table's), as ``alias``.
    each_row_of: Callable[[str, str], str]
    #: ``queued_jobs(alias)``: the jobs table in a FROM that reads queued jobs by
    #: submitter, bound to the queued index where the planner would not find it alone.
    queued_jobs: Callable[[str], str]


def finish_sql(flavour: Flavour, *, ahead: bool = False) -> str:
    """End the jobs of ``outcomes`` whose runs still hold them (this worker, the
    outcome's attempt); their ids. ``ahead``: instead, the jobs claimed ahead whose
    start is written with their outcome (its ``started_at``).

    (Two statements, not one that takes either: with ``queued`` among its statuses,
    PostgreSQL's plan of the whole round cost twice as much, measured.)"""
    if ahead:
        which = f"""j.status IN ('{Status.QUEUED.value}', '{Status.CANCELING.value}')
  AND j.started_at IS NULL AND d.started_at IS NOT NULL"""
    else:
        which = f"j.status IN {HELD_SQL} AND d.started_at IS NULL"
    return f"""
UPDATE {jobs.name} AS j
SET {_ending(flavour, lambda column: f"d.{column}")}
FROM {flavour.records("outcomes", OUTCOME_COLUMNS, "d")}
WHERE j.id = d.job_id AND j.attempts = d.attempt AND j.worker_id = {flavour.param("worker")}
  AND {which}
RETURNING id"""


def finish_one_sql(flavour: Flavour) -> str:
    """``finish_sql`` for one outcome, its columns as parameters of their own.

    (SQLite's UPDATE ... FROM json_each cost three times as much as one plain UPDATE
    per outcome, measured; a round rarely has more than one outcome per slot.)
    """
    p = flavour.param
    return f"""
UPDATE {jobs.name} AS j
SET {_ending(flavour, p)}
WHERE j.id = {p("job_id")} AND j.attempts = {p("attempt")} AND j.worker_id = {p("worker")}
  AND j.status IN {OURS_SQL}
RETURNING id"""


def _ending(flavour: Flavour, value: Callable[[str], str]) -> str:
    """The SET clause that ends a job, with an outcome's columns as ``value`` gives them."""
    succeeded = f"{value('status')} = '{Status.SUCCEEDED.value}'"

    def if_succeeded(column: str) -> str:
        return f"CASE WHEN {succeeded} THEN {value(column)} ELSE j.{column} END"

    def unless_succeeded(column: str) -> str:
        return f"CASE WHEN {succeeded} THEN j.{column} ELSE {value(column)} END"

    return f"""status = {value("status")},
    started_at = COALESCE(j.started_at, {value("started_at")}),
    finished_at = {flavour.param("now")},
    result = {if_succeeded("result")},
    error_type = {unless_succeeded("error_type")},
    error_message = {unless_succeeded("error_message")},
    error_traceback = {unless_succeeded("error_traceback")}"""


def choose_sql(flavour: Flavour, *, capped: bool = True, ahead: bool = False) -> str:
    """The queued jobs that free slots should run next (docs/reference/scheduling.md):
    their ids, and for a job of a limit the place it takes.

    A job may start if its type is one the worker knows, its queue one the worker
    serves with room left (``queues``: the named queues' allowances as a JSON object;
    ``others``: every other queue's, NULL if not served), its ``run_at`` has come, and
    its limit has a free place. Of those, the highest priority first; among equal
    priorities the submitter with the fewest jobs running (counting the ones this very
    round gives them), then the one whose latest job started longest ago (never:
    first), then the oldest job. Every submitter's first few jobs are looked at
    (``submitters``: one index probe per submitter), so that one person's thousands
    of queued jobs cannot hide another's one. Of several jobs of one limit, one per
    round. A claimed job of a limit takes its lowest free place (``limit_slot``); the
    unique index on held places turns a race between two workers for the last one into
    an error for one of them, which claims nothing that round.

    A worker whose row is gone (taken for lost, and not yet told by its heartbeat)
    gets nothing: a job it started would only be failed by the next rescue.

    Two costs are paid only when they matter: the fair-share figures (two index probes
    per candidate) only when candidates of several submitters compete, and the
    queues' room within the round only in the ``capped`` statement, for a round where
    some queue has less room than the round claims.

    Jobs another worker claimed ahead are queued but not free (``worker_id`` set).
    With ``ahead``, each chosen job also gets its place in the choice (``nth``, from
    1): the first ``run_now`` start now, the others are claimed ahead.
    """
    p, held = flavour.param, HELD_SQL
    queued = f"'{Status.QUEUED.value}'"
    allowance = f"COALESCE({flavour.json_int('queues', '{queue}')}, {p('others')})"
    limit_open = f"""(e.limit_key IS NULL OR (
                SELECT count(*) FROM {jobs.name} AS h
                WHERE h.limit_key = e.limit_key AND h.status IN {held}
            ) < e.concurrency_limit)"""
    free_place = f"""(SELECT min(t.place + 1) FROM (
                SELECT -1 AS place
                UNION ALL
                SELECT h.limit_slot FROM {jobs.name} AS h
                WHERE h.limit_key = o.limit_key AND h.status IN {held}
            ) AS t
            WHERE t.place + 1 < o.concurrency_limit AND NOT EXISTS (
                SELECT 1 FROM {jobs.name} AS h
                WHERE h.limit_key = o.limit_key AND h.status IN {held}
                  AND h.limit_slot = t.place + 1))"""
    order = "priority DESC, load, last_start NULLS FIRST, id"
    several = "d.first_submitter <> d.last_submitter"
    room_of_queues = room_left = ""
    nth = f", row_number() OVER (ORDER BY {order}) AS nth" if ahead else ""
    if capped:
        room_of_queues = f""",
    ordered AS (
        SELECT o.*, row_number() OVER (PARTITION BY o.queue ORDER BY {order}) AS nth_of_queue
        FROM scored AS o
    )"""
        room_left = f"WHERE o.nth_of_queue <= {allowance.format(queue='o.queue')}"
    # Each submitter's first few eligible jobs, most urgent first.
    firsts = f"""
            SELECT e.id, e.submitted_by, e.priority, e.queue, e.limit_key, e.concurrency_limit
            FROM {flavour.queued_jobs("e")}
            WHERE e.status = {queued} AND e.submitted_by = s.name AND e.worker_id IS NULL
              AND {flavour.member("e.type", "types")}
              AND (e.run_at IS NULL OR e.run_at <= {p("now")})
              AND {allowance.format(queue="e.queue")} > 0
              AND {limit_open}
            ORDER BY e.priority DESC, e.id
            LIMIT {p("claim_limit")}
            {flavour.skip_locked}"""

    # The first submitter of a queued job (after ``s.name``), in the queued index's
    # own order: ordered by the submitter alone, PostgreSQL may read it from
    # `(submitted_by, id)` instead, stepping over every finished job of the first
    # submitter in every round (it did, after the statistics of a burst of submissions).
    def first_submitter(alias: str, after: str = "") -> str:
        return f"""(SELECT {alias}.submitted_by FROM {flavour.queued_jobs(alias)}
            WHERE {alias}.status = {queued} {after}
            ORDER BY {alias}.submitted_by, {alias}.priority DESC, {alias}.id LIMIT 1)"""

    return f"""
    WITH RECURSIVE submitters(name) AS (
        SELECT {first_submitter("f")}
        WHERE EXISTS (SELECT 1 FROM {workers.name} AS w WHERE w.id = {p("worker")})
        UNION ALL
        SELECT {first_submitter("n", "AND n.submitted_by > s.name")}
        FROM submitters AS s WHERE s.name IS NOT NULL
    ),
    candidates AS (
        SELECT q.id, q.submitted_by, q.priority, q.queue, q.limit_key, q.concurrency_limit,
               row_number() OVER (
                   PARTITION BY q.limit_key ORDER BY q.priority DESC, q.id
               ) AS nth_of_limit,
               min(q.submitted_by) OVER () AS first_submitter,
               max(q.submitted_by) OVER () AS last_submitter
        FROM submitters AS s
        {flavour.each_row_of(firsts, "q")}
    ),
    scored AS (
        SELECT d.id, d.priority, d.queue, d.limit_key, d.concurrency_limit,
               CASE WHEN {several} THEN
                   (SELECT count(*) FROM {jobs.name} AS h
                    WHERE h.submitted_by = d.submitted_by AND h.status IN {held})
                   + row_number() OVER (
                       PARTITION BY d.submitted_by ORDER BY d.priority DESC, d.id
                   ) - 1
               ELSE 0 END AS load,
               CASE WHEN {several} THEN
                   (SELECT max(h.started_at) FROM {jobs.name} AS h
                    WHERE h.submitted_by = d.submitted_by AND h.started_at IS NOT NULL)
               END AS last_start
        FROM candidates AS d
        WHERE d.limit_key IS NULL OR d.nth_of_limit = 1
    ){room_of_queues}
    SELECT o.id, CASE WHEN o.limit_key IS NULL THEN NULL ELSE {free_place} END AS place{nth}
    FROM {"ordered" if capped else "scored"} AS o
    {room_left}
    ORDER BY {order}
    LIMIT {p("claim_limit")}"""


def claim_sql(flavour: Flavour, *, capped: bool = True, ahead: bool = False) -> str:
    """Take the jobs ``choose_sql`` chooses, in one statement; the claimed rows, whole.

    With ``ahead``, only the first ``run_now`` start (``running``); the others stay
    ``queued`` with the worker's id and a new attempt: claimed ahead, started later
    by ``start_sql`` or given back by ``release_sql``. A job of a limit is never
    claimed ahead: its place counts only once it runs.

    (SQLite runs the choice and the updates as statements of its own: an UPDATE whose
    FROM is the choice took ten times as long as the choice alone, measured.)
    """
    p = flavour.param
    queued = f"'{Status.QUEUED.value}'"
    status, started_at, takes = f"'{Status.RUNNING.value}'", p("now"), ""
    if ahead:
        now = f"c.nth <= {p('run_now')}"
        status = f"CASE WHEN {now} THEN {status} ELSE {queued} END"
        started_at = f"CASE WHEN {now} THEN {started_at} END"
        takes = f" AND ({now} OR j.limit_key IS NULL)"
    return f"""
UPDATE {jobs.name} AS j
SET status = {status}, worker_id = {p("worker")}, started_at = {started_at},
    attempts = j.attempts + 1, limit_slot = c.place
FROM ({choose_sql(flavour, capped=capped, ahead=ahead)}
) AS c
WHERE j.id = c.id AND j.status = {queued} AND j.worker_id IS NULL{takes}
RETURNING {flavour.returning_all("j")}"""


def start_sql(flavour: Flavour, *, one: bool = False) -> str:
    """Write the starts of jobs claimed ahead (``starts``): ``running`` now, or still
    ``canceling`` if a cancel was asked for meanwhile (the worker stops it); their ids.
    ``one``: a single start, its columns as parameters of their own (``finish_one_sql``)."""
    source, value = _ahead_rows(flavour, "starts", one=one)
    return f"""
UPDATE {jobs.name} AS j
SET status = CASE WHEN j.status = '{Status.QUEUED.value}' THEN '{Status.RUNNING.value}'
                  ELSE j.status END,
    started_at = {value("at")}{source}
WHERE {_ahead_of_ours(flavour, value)}
RETURNING id"""


def release_sql(flavour: Flavour, *, one: bool = False) -> str:
    """Give back jobs claimed ahead that the worker will not run (``releases``):
    queued for anyone, their attempt not counted; one whose cancel was asked for
    meanwhile ends ``canceled``. Their ids and new statuses. ``one``: as ``start_sql``."""
    source, value = _ahead_rows(flavour, "releases", one=one)
    canceling = f"j.status = '{Status.CANCELING.value}'"
    return f"""
UPDATE {jobs.name} AS j
SET status = CASE WHEN {canceling} THEN '{Status.CANCELED.value}' ELSE j.status END,
    finished_at = CASE WHEN {canceling} THEN {flavour.param("now")} END,
    worker_id = CASE WHEN {canceling} THEN j.worker_id END,
    attempts = CASE WHEN {canceling} THEN j.attempts ELSE j.attempts - 1 END{source}
WHERE {_ahead_of_ours(flavour, value)}
RETURNING id, status"""


def _ahead_rows(flavour: Flavour, parameter: str, *, one: bool) -> tuple[str, Callable[[str], str]]:
    """The FROM clause of the rows of ``parameter`` (none for ``one``), and how a
    statement names their columns."""
    if one:
        return "", flavour.param
    source = f"\nFROM {flavour.records(parameter, AHEAD_COLUMNS, 'a')}"
    return source, lambda column: f"a.{column}"


def _ahead_of_ours(flavour: Flavour, value: Callable[[str], str]) -> str:
    """The job is one this worker claimed ahead, in that attempt, not yet started."""
    return f"""j.id = {value("job_id")} AND j.attempts = {value("attempt")}
  AND j.worker_id = {flavour.param("worker")} AND j.status IN {OURS_SQL}
  AND j.started_at IS NULL"""


def ahead_value(writes: Sequence[tuple[RunLease, datetime | None]]) -> list[dict[str, Any]]:
    """The ``starts`` or ``releases`` parameter's rows (``AHEAD_COLUMNS``)."""
    return [{"job_id": lease.job_id, "attempt": lease.attempt, "at": at} for lease, at in writes]


def is_capped(claim: ClaimRequest) -> bool:
    """Whether a queue has less room than the round claims (the ``capped`` statement)."""
    rooms = [*claim.queues.values(), *([] if claim.others is None else [claim.others])]
    return any(room < claim.limit + claim.ahead for room in rooms)


def claim_parameters(claim: ClaimRequest, flavour: Flavour) -> dict[str, Any]:
    """The claim's parameters: types, how many, and each queue's room."""
    return {
        "types": flavour.list_value(claim.types),
        "claim_limit": claim.limit + claim.ahead if claim.wanted else 0,
        "run_now": claim.limit,
        "queues": json.dumps(dict(claim.queues)),
        "others": claim.others,
    }


def outcome_row(lease: RunLease, outcome: Outcome) -> dict[str, Any]:
    """One outcome's columns (``OUTCOME_COLUMNS``), its result still a Python value."""
    succeeded = outcome.status is Status.SUCCEEDED
    error = outcome.error
    return {
        "job_id": lease.job_id,
        "attempt": lease.attempt,
        "status": outcome.status.value,
        "result": outcome.result if succeeded else None,
        "error_type": error.type if error else None,
        "error_message": error.message if error else None,
        "error_traceback": error.traceback if error else None,
        "started_at": outcome.started_at,
    }


def outcomes_value(outcomes: Sequence[tuple[RunLease, Outcome]]) -> str:
    """The ``outcomes`` parameter: one JSON document."""
    return json.dumps([outcome_row(lease, outcome) for lease, outcome in outcomes], default=_iso)


def end_events(outcomes: Sequence[tuple[RunLease, Outcome]]) -> list[tuple[int, str, str | None]]:
    """The timeline events that close the jobs, as (job id, event, detail), in order:
    the start of a job claimed ahead if it was not written yet; a forced stop, with
    the reason; then the final status."""
    events: list[tuple[int, str, str | None]] = []
    for lease, outcome in outcomes:
        job_id = lease.job_id
        if outcome.started_at is not None:
            events.append((job_id, Event.STARTED.value, started_detail(lease.worker_id)))
        if outcome.forced:
            events.append((job_id, Event.STOPPED_BY_FORCE.value, outcome.detail))
            events.append((job_id, outcome.status.value, None))
        else:
            events.append((job_id, outcome.status.value, outcome.detail))
    return events


def _iso(value: datetime) -> str:
    """A time in a JSON parameter (PostgreSQL reads it as ``timestamptz``)."""
    return value.isoformat()


def started_detail(worker_id: str) -> str:
    """The detail of a claimed job's ``started`` event."""
    return f"worker {worker_id}"
