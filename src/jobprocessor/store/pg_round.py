"""A worker's round on PostgreSQL, in one statement and one round trip.

A round records how the worker's finished jobs ended, claims queued jobs for its
free slots, and writes the timeline events of both. Written as separate
statements in a transaction it costs BEGIN, one UPDATE per outcome, the claim,
the events' INSERT and COMMIT: five or more round trips, during which the
worker's claim loop waits (three quarters of its time, measured with py-spy).
Here it is one statement run in autocommit mode: data-modifying CTEs commit
together, so the guarantees of the transaction are kept. The outcomes come in as
one JSON document (``jsonb_to_recordset``), so that the statement's text, and so
its prepared plan, is the same whatever their number; one string also costs the
driver less to send than eight arrays (a tenth of the claim loop's time went
into adapting them).

The statement goes to psycopg itself (``execute_on_driver``): SQLAlchemy's
execution took a quarter of a round on the client.

One difference from the transaction: every part of one statement sees the same
snapshot, so a queued job waiting for a lock value that a job finishing in this
very round holds is not claimed until the next round. The worker claims again at
once after such a round (see ``Worker._claim_loop``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from jobprocessor.model import Event, Status
from jobprocessor.store._sql import HELD_SQL
from jobprocessor.store.engine import execute_on_driver
from jobprocessor.store.tables import job_events, jobs

ROUND_SQL = f"""
WITH done AS (
    SELECT *
    FROM jsonb_to_recordset(CAST(%(outcomes)s AS jsonb)) AS d(
        id bigint, status text, result jsonb, error_type text, error_message text,
        error_traceback text, forced boolean, detail text
    )
),
finished AS (
    UPDATE {jobs.name} AS j
    SET status = d.status,
        finished_at = %(now)s,
        result = CASE WHEN d.status = '{Status.SUCCEEDED.value}'
                      THEN d.result ELSE j.result END,
        error_type = CASE WHEN d.status = '{Status.SUCCEEDED.value}'
                          THEN j.error_type ELSE d.error_type END,
        error_message = CASE WHEN d.status = '{Status.SUCCEEDED.value}'
                             THEN j.error_message ELSE d.error_message END,
        error_traceback = CASE WHEN d.status = '{Status.SUCCEEDED.value}'
                               THEN j.error_traceback ELSE d.error_traceback END
    FROM done AS d
    WHERE j.id = d.id AND j.worker_id = %(worker)s AND j.status IN {HELD_SQL}
    RETURNING j.id
),
candidates AS (
    SELECT q.id, q.lock_key
    FROM {jobs.name} AS q
    WHERE q.status = 'queued'
      AND q.type = ANY(CAST(%(types)s AS text[]))
      AND (q.lock_key IS NULL OR NOT EXISTS (
          SELECT 1 FROM {jobs.name} AS h
          WHERE h.lock_key = q.lock_key AND h.status IN {HELD_SQL}))
    ORDER BY q.priority, q.id
    LIMIT %(claim_limit)s
    FOR UPDATE OF q SKIP LOCKED
),
picked AS (
    SELECT id FROM (
        SELECT id, lock_key,
               row_number() OVER (PARTITION BY lock_key ORDER BY id) AS rank
        FROM candidates
    ) AS ranked
    WHERE lock_key IS NULL OR rank = 1
),
claimed AS (
    UPDATE {jobs.name} AS j
    SET status = '{Status.RUNNING.value}', worker_id = %(worker)s, started_at = %(now)s,
        attempts = j.attempts + 1
    FROM picked AS p
    WHERE j.id = p.id AND j.status = 'queued'
    RETURNING j.*
),
logged AS (
    INSERT INTO {job_events.name} (job_id, at, event, by, detail)
    SELECT job_id, %(now)s, event, NULL, detail FROM (
        SELECT d.id AS job_id, 0 AS step, '{Event.STOPPED_BY_FORCE.value}' AS event,
               d.detail
        FROM done AS d JOIN finished AS f ON f.id = d.id
        WHERE d.forced
        UNION ALL
        SELECT d.id, 1, d.status, CASE WHEN d.forced THEN NULL ELSE d.detail END
        FROM done AS d JOIN finished AS f ON f.id = d.id
        UNION ALL
        SELECT c.id, 0, '{Event.STARTED.value}', %(started_detail)s
        FROM claimed AS c
    ) AS e
    ORDER BY job_id, step
)
SELECT c.*, f.finished_ids
FROM (SELECT array_agg(id) AS finished_ids FROM finished) AS f
LEFT JOIN claimed AS c ON true
"""


def run_round(
    connection: Connection,
    worker_id: str,
    outcomes: Sequence[tuple[int, Any]],
    types: Sequence[str],
    limit: int,
    now: datetime,
) -> tuple[list[bool], list[Any]]:
    """Run one round on a ``prepare``d connection: (held flags per outcome, claimed rows).

    ``outcomes`` are ``(job_id, Outcome)`` pairs; a flag is False where the worker no
    longer held the job (a rescue or a cancel got there first).
    """
    parameters = {
        "outcomes": json.dumps(
            [
                {
                    "id": job_id,
                    "status": o.status.value,
                    "result": o.result if o.status is Status.SUCCEEDED else None,
                    "error_type": o.error.type if o.error else None,
                    "error_message": o.error.message if o.error else None,
                    "error_traceback": o.error.traceback if o.error else None,
                    "forced": o.forced,
                    "detail": o.detail,
                }
                for job_id, o in outcomes
            ]
        ),
        "types": list(types),
        "claim_limit": limit if types else 0,
        "worker": worker_id,
        "now": now,
        "started_detail": f"worker {worker_id}",
    }
    result = execute_on_driver(connection, ROUND_SQL, parameters)
    finished = set(result[0].finished_ids or ()) if result else set()
    flags = [job_id in finished for job_id, _ in outcomes]
    claimed = [row for row in result if row.id is not None]
    return flags, claimed


def prepare(connection: Connection) -> None:
    """Make ``connection`` a worker's own for its rounds (see ``KeptConnection``).

    PostgreSQL planned the round again for its arguments every time (a "custom
    plan", 0.5 to 2 ms) because the generic plan looked costlier on paper; it is
    the same index scan over queued rows whatever the arguments (checked with
    EXPLAIN), so the kept connection asks for it. The connection leaves the pool
    for good first, so that the setting never reaches the console's queries.
    """
    connection.detach()
    connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
