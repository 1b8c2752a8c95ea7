"""A worker's round on SQLite: outcomes, claim and events in one transaction.

The counterpart of ``pg_round``. SQLite runs statements in-process, so the round
is several statements inside the caller's transaction (``BEGIN IMMEDIATE``, one
writer at a time): no round trips to save, only the commit, which the round
shares. The statements are built once: building them cost more than running them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Integer,
    Row,
    String,
    Update,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)

from jobprocessor.model import Event, Status
from jobprocessor.store._sql import HELD, INSERT_EVENTS, IS_QUEUED, event_row
from jobprocessor.store.tables import UTCDateTime, jobs

if TYPE_CHECKING:
    from jobprocessor.store.jobs import Outcome


def _finish_statement() -> Update:
    return (
        update(jobs)
        .where(
            jobs.c.id == bindparam("f_id", type_=Integer),
            jobs.c.worker_id == bindparam("f_worker", type_=String),
            jobs.c.status.in_(HELD),
        )
        .values(
            status=bindparam("f_status", type_=String),
            finished_at=bindparam("f_at", type_=UTCDateTime),
        )
    )


#: The end of a succeeded job.
SUCCEED = _finish_statement().values(result=bindparam("f_result", type_=jobs.c.result.type))
#: The end of a failed or canceled job.
END = _finish_statement().values(
    error_type=bindparam("f_error_type", type_=String),
    error_message=bindparam("f_error_message", type_=String),
    error_traceback=bindparam("f_error_traceback", type_=String),
)


def _claim_statement() -> Update:
    """Queued jobs of the given types whose lock value no running job holds, oldest
    first; of several with one lock value only the oldest."""
    held = jobs.alias("held")
    lock_free = or_(
        jobs.c.lock_key.is_(None),
        ~exists(
            select(literal_column("1"))
            .select_from(held)
            .where(held.c.lock_key == jobs.c.lock_key, held.c.status.in_(HELD))
        ),
    )
    candidates = (
        select(jobs.c.id, jobs.c.lock_key)
        .where(IS_QUEUED, jobs.c.type.in_(bindparam("claim_types", expanding=True)), lock_free)
        .order_by(jobs.c.priority, jobs.c.id)
        .limit(bindparam("claim_limit", type_=Integer))
        .subquery("candidates")
    )
    ranked = select(
        candidates.c.id,
        candidates.c.lock_key,
        func.row_number()
        .over(partition_by=candidates.c.lock_key, order_by=candidates.c.id)
        .label("rank"),
    ).subquery("ranked")
    picked = select(ranked.c.id).where(or_(ranked.c.lock_key.is_(None), ranked.c.rank == 1))
    return (
        update(jobs)
        .where(jobs.c.id.in_(picked), IS_QUEUED)
        .values(
            status=Status.RUNNING.value,
            worker_id=bindparam("claim_worker", type_=String),
            started_at=bindparam("claim_now", type_=UTCDateTime),
            attempts=jobs.c.attempts + 1,
        )
        .returning(*jobs.c)
    )


CLAIM = _claim_statement()


def run_round(
    connection: Connection,
    worker_id: str,
    outcomes: Sequence[tuple[int, Outcome]],
    types: Sequence[str],
    limit: int,
    now: datetime,
) -> tuple[list[bool], list[Row[Any]]]:
    """Run one round inside the caller's transaction: (held flags per outcome, claimed rows).

    A flag is False where the worker no longer held the job (a rescue or a cancel
    got there first).
    """
    events: list[dict[str, Any]] = []
    flags = [
        finish_in(connection, job_id, worker_id, outcome, now, events)
        for job_id, outcome in outcomes
    ]
    rows: list[Row[Any]] = []
    if types and limit > 0:
        parameters = {
            "claim_types": list(types),
            "claim_limit": limit,
            "claim_worker": worker_id,
            "claim_now": now,
        }
        rows = list(connection.execute(CLAIM, parameters))
    events += [event_row(r.id, Event.STARTED, None, now, f"worker {worker_id}") for r in rows]
    if events:
        connection.execute(INSERT_EVENTS, events)
    return flags, rows


def finish_in(
    connection: Connection,
    job_id: int,
    worker_id: str,
    outcome: Outcome,
    now: datetime,
    events: list[dict[str, Any]],
) -> bool:
    """The conditional status move that ends a job; its events are added to ``events``."""
    values: dict[str, Any] = {
        "f_id": job_id,
        "f_worker": worker_id,
        "f_status": outcome.status.value,
        "f_at": now,
    }
    if outcome.status is Status.SUCCEEDED:
        statement = SUCCEED
        values["f_result"] = outcome.result
    else:
        statement = END
        error = outcome.error
        values["f_error_type"] = error.type if error else None
        values["f_error_message"] = error.message if error else None
        values["f_error_traceback"] = error.traceback if error else None
    if not connection.execute(statement, values).rowcount:
        return False
    if outcome.forced:
        events.append(event_row(job_id, Event.STOPPED_BY_FORCE, None, now, outcome.detail))
    detail = None if outcome.forced else outcome.detail
    events.append(event_row(job_id, Event(outcome.status.value), None, now, detail))
    return True
