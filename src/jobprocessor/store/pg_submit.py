"""Jobs submitted on PostgreSQL in one statement and one round trip.

A submission stores the jobs, their ``submitted`` events (and ``restarted_from``
for a restart) and notifies idle workers. As a transaction that was BEGIN, the
INSERTs, ``pg_notify`` and COMMIT: five round trips, most of a single submit's
time. Here the INSERTs are data-modifying CTEs and the notification a function in
the FROM clause of the same statement, run in autocommit mode: all of it commits
together (the notification is delivered at that commit), as the transaction did.

The jobs come in as one JSON document (``jsonb_to_recordset``). A batched
``INSERT … VALUES`` of 500 jobs has 5,500 placeholders, which the driver parsed
anew for every batch (a third of a bulk submission's time), and the events went
in as 500 more statements; one short statement with one parameter costs neither.
Like a worker's round, it goes to psycopg itself (``execute_on_driver``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from jobprocessor.model import Event, Status
from jobprocessor.store.engine import execute_on_driver
from jobprocessor.store.tables import job_events, jobs

#: The columns each job brings (the rest: status, created_at and the defaults).
COLUMNS = {
    "type": "text",
    "category": "text",
    "title": "text",
    "params": "jsonb",
    "submitted_by": "text",
    "limit_key": "text",
    "concurrency_limit": "integer",
    "queue": "text",
    "priority": "integer",
    "timeout": "double precision",
    "run_at": "timestamptz",
    "schedule": "text",
    "scheduled_for": "timestamptz",
    "max_retries": "integer",
    "cancel_grace": "double precision",
    "restarted_from": "bigint",
}
_NAMES = ", ".join(COLUMNS)

SUBMIT_SQL = f"""
WITH given AS (
    SELECT *
    FROM ROWS FROM (
        jsonb_to_recordset(CAST(%(jobs)s AS jsonb))
        AS ({", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())})
    ) WITH ORDINALITY AS g({_NAMES}, n)
),
created AS (
    INSERT INTO {jobs.name} ({_NAMES}, status, created_at)
    SELECT {_NAMES}, '{Status.QUEUED.value}', %(now)s FROM given ORDER BY n
    RETURNING *
),
logged AS (
    INSERT INTO {job_events.name} (job_id, at, event, by, detail)
    SELECT job_id, %(now)s, event, %(by)s, detail FROM (
        SELECT id AS job_id, 0 AS step, '{Event.SUBMITTED.value}' AS event,
               CAST(NULL AS text) AS detail
        FROM created
        UNION ALL
        SELECT id, 1, '{Event.RESTARTED_FROM.value}', '#' || restarted_from
        FROM created WHERE restarted_from IS NOT NULL
    ) AS e
    ORDER BY job_id, step
)
SELECT created.* FROM created, pg_notify(%(channel)s, '') ORDER BY created.id
"""


def submit(
    connection: Connection,
    rows: Sequence[dict[str, Any]],
    *,
    by: str,
    now: datetime,
    channel: str,
) -> list[Any]:
    """Insert jobs (each row holds ``COLUMNS``) on an autocommit connection.

    The rows come back in the order given: ids follow the input's order.
    """
    document = json.dumps([{name: row[name] for name in COLUMNS} for row in rows], default=_iso)
    parameters = {"jobs": document, "now": now, "by": by, "channel": channel}
    return execute_on_driver(connection, SUBMIT_SQL, parameters)


def _iso(value: object) -> str:
    """A time for the JSON document (``timestamptz`` reads ISO 8601 with its zone)."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
