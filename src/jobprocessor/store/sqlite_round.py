"""A worker's round on SQLite: outcomes, claim and events in one transaction.

The counterpart of ``pg_round``, with the same statements (``round_sql``). SQLite
runs statements in-process, so the round is several statements in one ``BEGIN
IMMEDIATE`` transaction (one writer at a time): no round trips to save, only the
commit, which the round shares. They go to the sqlite3 connection itself
(``sqlite_driver``), like ``pg_round``'s statement to psycopg: SQLAlchemy's
execution of five statements was two fifths of a round.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from jobprocessor.model import Event, Status
from jobprocessor.store._sql import CANCELED_BEFORE_START
from jobprocessor.store.round_sql import (
    Flavour,
    choose_sql,
    claim_parameters,
    end_events,
    finish_one_sql,
    is_capped,
    outcome_row,
    release_sql,
    start_sql,
    started_detail,
)
from jobprocessor.store.sqlite_driver import Statement, converters, driver_of, immediate, read
from jobprocessor.store.tables import QUEUED_INDEX, RUN_AT_INDEX, job_events, jobs
from jobprocessor.store.wal_checkpoints import ROUNDS_AUTOCHECKPOINT

if TYPE_CHECKING:
    from jobprocessor.store.records import AheadWrites, Round


def _records(parameter: str, columns: dict[str, str], alias: str) -> str:
    # JSON columns keep their JSON text (``->``); the others are read as SQL values.
    read = [
        f"value {'->' if kind == 'jsonb' else '->>'} '{name}' AS {name}"
        for name, kind in columns.items()
    ]
    return f"(SELECT {', '.join(read)} FROM json_each(:{parameter})) AS {alias}"


FLAVOUR = Flavour(
    param=lambda name: f":{name}",
    records=_records,
    member=lambda column, parameter: f"{column} IN (SELECT value FROM json_each(:{parameter}))",
    list_value=lambda values: json.dumps(list(values)),
    skip_locked="",  # BEGIN IMMEDIATE: one writer at a time, nothing to skip
    json_int=lambda parameter, key: f"""json_extract(:{parameter}, '$."' || {key} || '"')""",
    # SQLite's RETURNING names the updated table's columns unqualified.
    returning_all=lambda alias: "*",
    # No LATERAL: the query's ids, each joined to its row by the primary key.
    each_row_of=lambda query, alias: (
        f"JOIN {jobs.name} AS {alias} ON {alias}.id IN (SELECT x.id FROM ({query}) AS x)"
    ),
    # Without statistics SQLite prefers `(status, id)` for `status = 'queued'`, and
    # reads every queued job to find the first submitter.
    queued_jobs=lambda alias: f"{jobs.name} AS {alias} INDEXED BY {QUEUED_INDEX}",
)
FINISH_SQL = finish_one_sql(FLAVOUR)
#: The choice of jobs to claim, by whether a queue has less room than the round claims
#: and whether it claims some ahead (then each chosen job comes with its place).
CLAIM_SQL = {
    (capped, ahead): choose_sql(FLAVOUR, capped=capped, ahead=ahead)
    for capped in (False, True)
    for ahead in (False, True)
}
#: Take one chosen job (one writer at a time: it is still queued).
TAKE_SQL = f"""
UPDATE {jobs.name}
SET status = '{Status.RUNNING.value}', worker_id = :worker, started_at = :now,
    attempts = attempts + 1, limit_slot = :place
WHERE id = :id AND status = '{Status.QUEUED.value}' AND worker_id IS NULL
RETURNING *"""
#: Claim one chosen job ahead: it stays queued (never a job of a limit).
TAKE_AHEAD_SQL = f"""
UPDATE {jobs.name}
SET worker_id = :worker, attempts = attempts + 1
WHERE id = :id AND status = '{Status.QUEUED.value}' AND worker_id IS NULL
  AND limit_key IS NULL
RETURNING *"""
START_SQL = start_sql(FLAVOUR, one=True)
RELEASE_SQL = release_sql(FLAVOUR, one=True)
EVENTS_SQL = f"INSERT INTO {job_events.name} (job_id, at, event, by, detail) VALUES (?, ?, ?, ?, ?)"
_QUEUED_OF_TYPES = f"status = '{Status.QUEUED.value}' AND {FLAVOUR.member('type', 'types')}"
#: Whether a job of the given types is queued and due (``JobStore.has_queued``).
HAS_QUEUED_SQL = f"""SELECT EXISTS (
    SELECT 1 FROM {jobs.name}
    WHERE {_QUEUED_OF_TYPES} AND (run_at IS NULL OR run_at <= :now)
)"""
#: When the earliest delayed job of the given types falls due (``JobStore.next_due``).
#: Bound to the partial index of delayed jobs: SQLite chose `(status, id)` and read
#: every queued job.
NEXT_DUE_SQL = (
    f"SELECT min(run_at) AS run_at FROM {jobs.name} INDEXED BY {RUN_AT_INDEX} "
    f"WHERE {_QUEUED_OF_TYPES} AND run_at > :now"
)


def run_round(connection: Connection, round_: Round) -> tuple[list[bool], list[Any]]:
    """Run one round in a transaction of its own: (held flags per outcome, claimed rows).

    A flag is False where the worker no longer held the job (a rescue or a cancel
    got there first). Errors are raised as SQLAlchemy's, as ``pg_round`` raises them.
    """
    worker_id, outcomes, claim = round_.worker_id, round_.outcomes, round_.claim
    driver = driver_of(connection)
    convert = converters(jobs, connection.dialect)
    at = convert.time(round_.now)
    finished: set[int] = set()
    rows: list[Any] = []
    events: list[tuple[Any, ...]] = []
    with immediate(driver) as statement:
        statement.sql = FINISH_SQL
        for lease, outcome in outcomes:
            ended = outcome_row(lease, outcome)
            ended.update(result=json.dumps(ended["result"]), now=at, worker=worker_id)
            if outcome.started_at is not None:
                ended["started_at"] = convert.time(outcome.started_at)
            finished.update(row[0] for row in driver.execute(FINISH_SQL, ended))
        if round_.ahead:
            events += _write_ahead(driver, statement, round_.ahead, worker_id, at, convert.time)
        if claim.wanted:
            with_ahead = claim.ahead > 0
            statement.sql = sql = CLAIM_SQL[is_capped(claim), with_ahead]
            parameters = {"worker": worker_id, "now": at, **claim_parameters(claim, FLAVOUR)}
            chosen = driver.execute(sql, parameters).fetchall()
            for job_id, place, *nth in chosen:
                taken = {"worker": worker_id, "now": at, "place": place, "id": job_id}
                ahead_of_slots = bool(nth) and nth[0] > claim.limit
                statement.sql = TAKE_AHEAD_SQL if ahead_of_slots else TAKE_SQL
                rows += convert.rows(driver.execute(statement.sql, taken))
        events += [
            (job_id, at, event, None, detail)
            for job_id, event, detail in end_events(outcomes)
            if job_id in finished
        ]
        started = started_detail(worker_id)
        events += [
            (row.id, at, Event.STARTED.value, None, started)
            for row in rows
            if row.status == Status.RUNNING.value
        ]
        if events:
            statement.sql = EVENTS_SQL
            driver.executemany(EVENTS_SQL, events)
    return [lease.job_id in finished for lease, _ in outcomes], rows


def _write_ahead(
    driver: sqlite3.Connection,
    statement: Statement,
    ahead: AheadWrites,
    worker_id: str,
    at: Any,
    time: Callable[[datetime], Any],
) -> list[tuple[Any, ...]]:
    """Write the starts and releases of jobs claimed ahead; their events."""
    events: list[tuple[Any, ...]] = []
    ours = {"worker": worker_id, "now": at}
    if ahead.starts:
        statement.sql = START_SQL
        detail = started_detail(worker_id)
        for lease, started in ahead.starts:
            start = {**ours, "job_id": lease.job_id, "attempt": lease.attempt, "at": time(started)}
            for (job_id,) in driver.execute(START_SQL, start):
                events.append((job_id, at, Event.STARTED.value, None, detail))
    statement.sql = RELEASE_SQL
    for lease in ahead.releases:
        release = {**ours, "job_id": lease.job_id, "attempt": lease.attempt}
        for job_id, status in driver.execute(RELEASE_SQL, release):
            if status == Status.CANCELED.value:
                events.append((job_id, at, Event.CANCELED.value, None, CANCELED_BEFORE_START))
    return events


def has_queued(connection: Connection, types: Sequence[str], now: datetime) -> bool:
    """``HAS_QUEUED_SQL``, outside a transaction (it reads one snapshot)."""
    at = converters(jobs, connection.dialect).time(now)
    parameters = {"types": FLAVOUR.list_value(types), "now": at}
    return bool(read(driver_of(connection), HAS_QUEUED_SQL, parameters).fetchone()[0])


def next_due(connection: Connection, types: Sequence[str], now: datetime) -> datetime | None:
    """``NEXT_DUE_SQL``, outside a transaction (see ``has_queued``)."""
    convert = converters(jobs, connection.dialect)
    parameters = {"types": FLAVOUR.list_value(types), "now": convert.time(now)}
    due: datetime | None = convert.rows(read(driver_of(connection), NEXT_DUE_SQL, parameters))[
        0
    ].run_at
    return due


def prepare(connection: Connection) -> None:
    """Make ``connection`` a worker's own for its rounds (see ``KeptConnection``), its
    checkpoints left to the worker's thread (``wal_checkpoints``). The connection
    leaves the pool for good first, so that the setting never reaches other work."""
    connection.detach()
    driver_of(connection).execute(f"PRAGMA wal_autocheckpoint = {ROUNDS_AUTOCHECKPOINT}")
