"""A worker's round on SQLite: outcomes, claim and events in one transaction.

The counterpart of ``pg_round``, with the same statements (``round_sql``). SQLite
runs statements in-process, so the round is several statements in one ``BEGIN
IMMEDIATE`` transaction (one writer at a time): no round trips to save, only the
commit, which the round shares. They go to the sqlite3 connection itself, like
``pg_round``'s statement to psycopg: SQLAlchemy's execution of five statements was
two fifths of a round. Times and claimed rows are converted by the columns' own
SQLAlchemy types (their ``dialect_impl``'s bind and result processors), so they are
written and read exactly as everywhere else.
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
from jobprocessor.store.engine import begin_immediate
from jobprocessor.store.round_sql import (
    Flavour,
    choose_sql,
    claim_parameters,
    end_events,
    finish_one_sql,
    is_capped,
    outcome_row,
    started_detail,
)
from jobprocessor.store.tables import QUEUED_INDEX, job_events, jobs
from jobprocessor.store.wal_checkpoints import ROUNDS_AUTOCHECKPOINT

if TYPE_CHECKING:
    from jobprocessor.store.records import ClaimRequest, Outcome, RunLease


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
#: The choice of jobs to claim, by whether a queue has less room than the round claims.
CLAIM_SQL = {capped: choose_sql(FLAVOUR, capped=capped) for capped in (False, True)}
#: Take one chosen job (one writer at a time: it is still queued).
TAKE_SQL = f"""
UPDATE {jobs.name}
SET status = '{Status.RUNNING.value}', worker_id = :worker, started_at = :now,
    attempts = attempts + 1, limit_slot = :place
WHERE id = :id AND status = '{Status.QUEUED.value}'
RETURNING *"""
EVENTS_SQL = f"INSERT INTO {job_events.name} (job_id, at, event, by, detail) VALUES (?, ?, ?, ?, ?)"


def run_round(
    connection: Connection,
    worker_id: str,
    outcomes: Sequence[tuple[RunLease, Outcome]],
    claim: ClaimRequest,
    now: datetime,
) -> tuple[list[bool], list[Any]]:
    """Run one round in a transaction of its own: (held flags per outcome, claimed rows).

    A flag is False where the worker no longer held the job (a rescue or a cancel
    got there first). Errors are raised as SQLAlchemy's, as ``pg_round`` raises them.
    """
    driver: sqlite3.Connection = connection.connection.dbapi_connection  # type: ignore[assignment]
    at = _converters(connection.dialect).time(now)
    sql = "BEGIN IMMEDIATE"
    try:
        begin_immediate(driver)
        finished: set[int] = set()
        sql = FINISH_SQL
        for lease, outcome in outcomes:
            ended = outcome_row(lease, outcome)
            ended.update(result=json.dumps(ended["result"]), now=at, worker=worker_id)
            finished.update(row[0] for row in driver.execute(sql, ended))
        rows: list[Any] = []
        if claim.wanted:
            sql = CLAIM_SQL[is_capped(claim)]
            parameters = {"worker": worker_id, "now": at, **claim_parameters(claim, FLAVOUR)}
            chosen = driver.execute(sql, parameters).fetchall()
            sql = TAKE_SQL
            convert = _converters(connection.dialect)
            for job_id, place in chosen:
                taken = {"worker": worker_id, "now": at, "place": place, "id": job_id}
                rows += convert.rows(driver.execute(sql, taken))
        events = [
            (job_id, at, event, None, detail)
            for job_id, event, detail in end_events(outcomes)
            if job_id in finished
        ]
        detail = started_detail(worker_id)
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
    return [lease.job_id in finished for lease, _ in outcomes], rows


def prepare(connection: Connection) -> None:
    """Make ``connection`` a worker's own for its rounds (see ``KeptConnection``), its
    checkpoints left to the worker's thread (``wal_checkpoints``). The connection
    leaves the pool for good first, so that the setting never reaches other work."""
    connection.detach()
    driver = connection.connection.dbapi_connection
    assert driver is not None
    driver.execute(f"PRAGMA wal_autocheckpoint = {ROUNDS_AUTOCHECKPOINT}")


class _Converters:
    """The jobs table's SQLAlchemy types, as plain functions for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        time = jobs.c.started_at.type.dialect_impl(dialect).bind_processor(dialect)
        assert time is not None
        self.time: Callable[[datetime], Any] = time
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
