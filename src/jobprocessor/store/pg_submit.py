"""One job submitted on PostgreSQL in one statement and one round trip.

A submission stores the job, its ``submitted`` event (and ``restarted_from`` for a
restart) and notifies idle workers. As a transaction that is BEGIN, two INSERTs,
``pg_notify`` and COMMIT: five round trips, most of a single submit's time. Here
the INSERTs are data-modifying CTEs and the notification a function in the FROM
clause of the same statement, run in autocommit mode: all of it commits together
(the notification is delivered at that commit), as the transaction did.
Bulk submissions keep the batched INSERT (``JobStore.insert``): there the round
trips are shared by hundreds of jobs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, text
from sqlalchemy.sql.selectable import TextualSelect

from jobprocessor.model import Event
from jobprocessor.store.tables import UTCDateTime, job_events, jobs

#: The columns a submission sets; the rest take their defaults.
COLUMNS = (
    "type",
    "category",
    "title",
    "status",
    "params",
    "submitted_by",
    "created_at",
    "lock_key",
    "max_retries",
    "cancel_grace",
    "restarted_from",
)

SUBMIT_SQL = f"""
WITH created AS (
    INSERT INTO {jobs.name} ({", ".join(COLUMNS)})
    VALUES ({", ".join(f":{name}" for name in COLUMNS)})
    RETURNING *
),
logged AS (
    INSERT INTO {job_events.name} (job_id, at, event, by, detail)
    SELECT job_id, :now, event, :by, detail FROM (
        SELECT id AS job_id, 0 AS step, '{Event.SUBMITTED.value}' AS event,
               CAST(NULL AS text) AS detail
        FROM created
        UNION ALL
        SELECT id, 1, '{Event.RESTARTED_FROM.value}', '#' || restarted_from
        FROM created WHERE restarted_from IS NOT NULL
    ) AS e
    ORDER BY step
)
SELECT created.* FROM created, pg_notify(:channel, '')
"""


def _statement() -> TextualSelect:
    binds = [bindparam(name, type_=jobs.c[name].type) for name in COLUMNS]
    return text(SUBMIT_SQL).bindparams(*binds, bindparam("now", type_=UTCDateTime)).columns(*jobs.c)


SUBMIT = _statement()


def submit_one(
    connection: Connection, row: dict[str, Any], *, by: str, now: datetime, channel: str
) -> Row[Any]:
    """Insert one job (``row`` holds ``COLUMNS``) on an autocommit connection."""
    return connection.execute(SUBMIT, {**row, "now": now, "by": by, "channel": channel}).one()
