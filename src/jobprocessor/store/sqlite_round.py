"""A worker's round on SQLite: outcomes, claim and events in one transaction.

The counterpart of ``pg_round``. SQLite runs statements in-process, so the round
is several statements in one ``BEGIN IMMEDIATE`` transaction (one writer at a
time): no round trips to save, only the commit, which the round shares. They go
to the sqlite3 connection itself, like ``pg_round``'s statement to psycopg:
SQLAlchemy's execution of five statements was two fifths of a round. Values are
converted by the columns' own SQLAlchemy types (their ``dialect_impl``'s bind
and result processors), so they are written and read exactly as everywhere else.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine

from jobprocessor.model import Event, Status
from jobprocessor.store._sql import HELD_SQL
from jobprocessor.store.tables import job_events, jobs

if TYPE_CHECKING:
    from jobprocessor.store.jobs import Outcome

_FINISH = f"""
UPDATE {jobs.name} SET status = ?, finished_at = ?, {{columns}}
WHERE id = ? AND worker_id = ? AND status IN {HELD_SQL}
"""
SUCCEED_SQL = _FINISH.format(columns="result = ?")
END_SQL = _FINISH.format(columns="error_type = ?, error_message = ?, error_traceback = ?")
#: Queued jobs of the given types whose lock value no running job holds, oldest
#: first; of several with one lock value only the oldest.
CLAIM_SQL = f"""
UPDATE {jobs.name}
SET status = '{Status.RUNNING.value}', worker_id = :worker, started_at = :now,
    attempts = attempts + 1
WHERE status = 'queued' AND id IN (
    SELECT id FROM (
        SELECT id, lock_key,
               row_number() OVER (PARTITION BY lock_key ORDER BY id) AS rank
        FROM (
            SELECT q.id, q.lock_key FROM {jobs.name} AS q
            WHERE q.status = 'queued'
              AND q.type IN (SELECT value FROM json_each(:types))
              AND (q.lock_key IS NULL OR NOT EXISTS (
                  SELECT 1 FROM {jobs.name} AS h
                  WHERE h.lock_key = q.lock_key AND h.status IN {HELD_SQL}))
            ORDER BY q.priority, q.id
            LIMIT :limit
        )
    )
    WHERE lock_key IS NULL OR rank = 1
)
RETURNING *
"""
EVENTS_SQL = f"INSERT INTO {job_events.name} (job_id, at, event, by, detail) VALUES (?, ?, ?, ?, ?)"


def run_round(
    connection: Connection,
    worker_id: str,
    outcomes: Sequence[tuple[int, Outcome]],
    types: Sequence[str],
    limit: int,
    now: datetime,
) -> tuple[list[bool], list[Any]]:
    """Run one round in a transaction of its own: (held flags per outcome, claimed rows).

    A flag is False where the worker no longer held the job (a rescue or a cancel
    got there first). Errors are raised as SQLAlchemy's, as ``pg_round`` raises them.
    """
    driver: sqlite3.Connection = connection.connection.dbapi_connection  # type: ignore[assignment]
    convert = _converters(connection.dialect)
    at = convert.time(now)
    sql = "BEGIN IMMEDIATE"
    try:
        driver.execute(sql)
        events: list[tuple[Any, ...]] = []
        flags = []
        for job_id, outcome in outcomes:
            sql, values = _finish(job_id, worker_id, outcome, at, convert.json)
            held = driver.execute(sql, values).rowcount > 0
            flags.append(held)
            if held:
                events += _end_events(job_id, outcome, at)
        rows: list[Any] = []
        if types and limit > 0:
            sql = CLAIM_SQL
            parameters = {
                "worker": worker_id,
                "now": at,
                "types": json.dumps(list(types)),
                "limit": limit,
            }
            cursor = driver.execute(sql, parameters)
            rows = convert.rows(cursor)
        detail = f"worker {worker_id}"
        events += [(row.id, at, Event.STARTED.value, None, detail) for row in rows]
        if events:
            sql = EVENTS_SQL
            driver.executemany(sql, events)
        sql = "COMMIT"
        driver.execute(sql)
    except sqlite3.Error as error:
        if driver.in_transaction:
            driver.execute("ROLLBACK")
        raise DBAPIError.instance(sql, (), error, sqlite3.Error) from error
    return flags, rows


def _finish(
    job_id: int, worker_id: str, outcome: Outcome, at: Any, to_json: Callable[[Any], Any]
) -> tuple[str, tuple[Any, ...]]:
    """The conditional status move that ends a job, with its values."""
    status = outcome.status.value
    if outcome.status is Status.SUCCEEDED:
        return SUCCEED_SQL, (status, at, to_json(outcome.result), job_id, worker_id)
    error = outcome.error
    described = (error.type, error.message, error.traceback) if error else (None, None, None)
    return END_SQL, (status, at, *described, job_id, worker_id)


def _end_events(job_id: int, outcome: Outcome, at: Any) -> list[tuple[Any, ...]]:
    events: list[tuple[Any, ...]] = []
    if outcome.forced:
        events.append((job_id, at, Event.STOPPED_BY_FORCE.value, None, outcome.detail))
    detail = None if outcome.forced else outcome.detail
    events.append((job_id, at, outcome.status.value, None, detail))
    return events


class _Converters:
    """The jobs table's SQLAlchemy types, as plain functions for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        time = jobs.c.started_at.type.dialect_impl(dialect).bind_processor(dialect)
        to_json = jobs.c.result.type.dialect_impl(dialect).bind_processor(dialect)
        assert time is not None
        assert to_json is not None
        self.time: Callable[[datetime], Any] = time
        self.json: Callable[[Any], Any] = to_json
        self._dialect = dialect
        self._readers: dict[tuple[str, ...], tuple[Any, list[Any]]] = {}

    def rows(self, cursor: sqlite3.Cursor) -> list[Any]:
        """Rows of the jobs table (``RETURNING *``), read as SQLAlchemy would."""
        names = tuple(d[0] for d in cursor.description)
        if names not in self._readers:
            self._readers[names] = (
                namedtuple("_Row", names),
                [_reader(jobs.c[name].type, self._dialect) for name in names],
            )
        make_row, readers = self._readers[names]
        return [
            make_row(*(v if r is None else r(v) for r, v in zip(readers, raw, strict=True)))
            for raw in cursor.fetchall()
        ]


def _reader(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    return column_type.dialect_impl(dialect).result_processor(dialect, None)


@functools.cache
def _converters(dialect: Dialect) -> _Converters:
    return _Converters(dialect)
