"""Pieces shared by the store's modules: rows to jobs, timeline events, channels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, overload

from sqlalchemy import ColumnElement, Connection, Row, and_, insert, literal_column, update

from jobprocessor.model import (
    FINISHED_STATUSES,
    HELD_STATUSES,
    Event,
    Job,
    JobError,
    Progress,
    Status,
)
from jobprocessor.store.tables import job_events, jobs

if TYPE_CHECKING:
    from jobprocessor.store.records import NewJob, RunLease

#: PostgreSQL channels: new jobs wake idle workers; cancels reach a worker at once.
QUEUED_CHANNEL = "jobprocessor_queued"
CANCEL_CHANNEL = "jobprocessor_cancel"

#: In the order the partial indexes' predicates write them (``tables.py``): SQLite
#: uses a partial index only for a query that writes its terms the same way, and
#: otherwise built an automatic index over the whole table for every claim.
HELD = [Status.RUNNING.value, Status.CANCELING.value]
assert set(HELD) == {s.value for s in HELD_STATUSES}
#: ``HELD`` as an SQL list, for the rounds' hand-written statements.
HELD_SQL = "(" + ", ".join(f"'{status}'" for status in HELD) + ")"
#: The detail of the ``canceled`` event of a job canceled before it started.
CANCELED_BEFORE_START = "canceled before it started"
#: What a run of a worker may write to: a job it holds, or one it claimed ahead
#: (``queued`` with the worker's id and attempt: nothing else is queued with a
#: worker). In the round's statements and in ``held_by``.
OURS = [*HELD, Status.QUEUED.value]
OURS_SQL = "(" + ", ".join(f"'{status}'" for status in OURS) + ")"
FINISHED = [s.value for s in FINISHED_STATUSES]
#: The job is held (running or canceling), written as literals so that a partial
#: index over held rows matches even in a prepared, generic plan: with the statuses
#: bound, SQLite read every held job through ``(status, id)`` instead of the partial
#: worker or limit index.
IS_HELD = jobs.c.status.in_([literal_column(f"'{status}'") for status in HELD])
#: Built once: a round inserts its events every time.
INSERT_EVENTS = insert(job_events)
INSERT_JOBS = insert(jobs).returning(*jobs.c, sort_by_parameter_order=True)


def held_by(lease: RunLease) -> ColumnElement[bool]:
    """The job is this run's: its worker, its attempt, and held (running or
    canceling) or claimed ahead (``OURS``)."""
    return and_(
        jobs.c.id == lease.job_id,
        jobs.c.worker_id == lease.worker_id,
        jobs.c.attempts == lease.attempt,
        jobs.c.status.in_(OURS),
    )


def job_row(new: NewJob, now: datetime) -> dict[str, Any]:
    """A new job's row of the jobs table, queued at ``now``."""
    return {
        "type": new.type,
        "category": new.category,
        "title": new.title,
        "status": Status.QUEUED.value,
        "params": new.params,
        "submitted_by": new.submitted_by,
        "created_at": now,
        "limit_key": new.limit_key,
        "concurrency_limit": new.concurrency_limit,
        "queue": new.queue or new.category,
        "priority": new.priority,
        "timeout": new.timeout,
        "run_at": new.run_at,
        "schedule": new.schedule,
        "scheduled_for": new.scheduled_for,
        "max_retries": new.max_retries,
        "cancel_grace": new.cancel_grace,
        "restarted_from": new.restarted_from,
    }


def insert_jobs(
    connection: Connection, rows: Sequence[dict[str, Any]], *, by: str, now: datetime
) -> list[Any]:
    """Insert jobs (``job_row``s) with their first events in the caller's transaction;
    the stored rows, in the order given. One batched ``INSERT … RETURNING``
    (SQLAlchemy's insertmanyvalues), so a bulk submission is short."""
    created = list(connection.execute(INSERT_JOBS, rows))
    connection.execute(INSERT_EVENTS, first_events(created, by=by, now=now))
    return created


def first_events(created: Sequence[Any], *, by: str, now: datetime) -> list[dict[str, Any]]:
    """The first events of new jobs' timelines (``event_row``s): submitted, and for a
    restart where it came from."""
    events = [
        event_row(row.id, Event.SUBMITTED, by, now, _submitted_detail(row)) for row in created
    ]
    events += [
        event_row(row.id, Event.RESTARTED_FROM, by, now, f"#{row.restarted_from}")
        for row in created
        if row.restarted_from is not None
    ]
    return events


def _submitted_detail(row: Any) -> str | None:
    if row.schedule is None:
        return None
    return f"by schedule {row.schedule}, for {row.scheduled_for:%Y-%m-%d %H:%M} UTC"


def event_row(
    job_id: int, event: Event, by: str | None, at: datetime, detail: str | None = None
) -> dict[str, Any]:
    """A row of the job's timeline, for ``INSERT_EVENTS``."""
    return {"job_id": job_id, "event": event.value, "by": by, "at": at, "detail": detail}


def move(
    connection: Connection,
    job_id: int,
    source: Status,
    target: Status,
    *,
    free: bool = False,
    **values: Any,
) -> Row[Any] | None:
    """Change a job's status only if it still has ``source`` (and, if ``free``, no
    worker claimed it ahead); the row after, or None."""
    which = [jobs.c.id == job_id, jobs.c.status == source.value]
    if free:
        which.append(jobs.c.worker_id.is_(None))
    statement = update(jobs).where(*which).values(status=target.value, **values).returning(*jobs.c)
    return connection.execute(statement).first()


@overload
def clip(value: str, length: int) -> str: ...
@overload
def clip(value: None, length: int) -> None: ...
@overload
def clip(value: str | None, length: int) -> str | None: ...


def clip(value: str | None, length: int) -> str | None:
    """``value`` cut to ``length`` characters, marked with an ellipsis."""
    if value is None or len(value) <= length:
        return value
    return value[: length - 1] + "…"


def _utc(value: datetime | None) -> datetime | None:
    """In UTC, whatever the time zone of the session that read it."""
    return None if value is None else value.astimezone(UTC)


def row_to_job(row: Any) -> Job:
    """A job from a row of the jobs table (SQLAlchemy's, or psycopg's named tuple)."""
    error = None
    if row.error_type is not None:
        error = JobError(row.error_type, row.error_message or "", row.error_traceback)
    return Job(
        id=row.id,
        type=row.type,
        category=row.category,
        title=row.title,
        status=Status(row.status),
        params=row.params,
        submitted_by=row.submitted_by,
        created_at=row.created_at.astimezone(UTC),
        started_at=_utc(row.started_at),
        finished_at=_utc(row.finished_at),
        progress=Progress(row.progress_done, row.progress_total, row.progress_message),
        restarted_from=row.restarted_from,
        cancel_requested_by=row.cancel_requested_by,
        cancel_requested_at=_utc(row.cancel_requested_at),
        error=error,
        result=row.result,
        queue=row.queue,
        priority=row.priority,
        timeout=row.timeout,
        run_at=_utc(row.run_at),
        limit_key=row.limit_key,
        concurrency_limit=row.concurrency_limit,
        schedule=row.schedule,
        scheduled_for=_utc(row.scheduled_for),
        attempts=row.attempts,
        max_retries=row.max_retries,
        cancel_grace=row.cancel_grace,
        worker_id=row.worker_id,
    )
