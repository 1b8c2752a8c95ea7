"""Jobs submitted on SQLite with the driver's own statements.

A single submission through SQLAlchemy's ``INSERT … RETURNING`` cost more than twice
what SQLite spent on it (building the statement and its cache key, the result's
metadata: ``bench/engine_changes.md``, change 39), most of a single submit's time.
Here each job is one prepared ``INSERT … RETURNING`` on the sqlite3 connection
(``sqlite_driver``) and the events one ``executemany``, in one ``BEGIN IMMEDIATE``
transaction; the values pass through the columns' own types, as SQLAlchemy would
bind them. SQLite runs statements in-process, so a row per statement costs no round
trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from jobprocessor.store._sql import first_events
from jobprocessor.store.sqlite_driver import converters, driver_of, immediate
from jobprocessor.store.sqlite_round import EVENTS_SQL
from jobprocessor.store.tables import jobs


def insert_sql(columns: Sequence[str]) -> str:
    """The INSERT of one job with these columns, returning its stored row."""
    values = ", ".join(f":{name}" for name in columns)
    return f"INSERT INTO {jobs.name} ({', '.join(columns)}) VALUES ({values}) RETURNING *"


def submit(
    connection: Connection, rows: Sequence[dict[str, Any]], *, by: str, now: datetime
) -> list[Any]:
    """Insert jobs (``job_row``s, all with the same columns) with their first events,
    in one transaction; the stored rows, in the order given."""
    if not rows:
        return []
    driver = driver_of(connection)
    convert = converters(jobs, connection.dialect)
    sql = insert_sql(list(rows[0]))
    created: list[Any] = []
    with immediate(driver) as statement:
        statement.sql = sql
        for row in rows:
            created += convert.rows(driver.execute(sql, convert.values(row)))
        events = first_events(created, by=by, now=now)
        statement.sql = EVENTS_SQL
        at = convert.time(now)
        driver.executemany(
            EVENTS_SQL, [(e["job_id"], at, e["event"], e["by"], e["detail"]) for e in events]
        )
    return created
