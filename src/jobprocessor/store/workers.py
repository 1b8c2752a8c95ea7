"""The workers' table: who is alive, what each holds, and the rescue of lost ones.

Every worker writes a heartbeat; a worker whose heartbeat expired is lost, and
its jobs are re-queued (while retries are left) or ended, by whichever live
worker looks first (PostgreSQL: ``SKIP LOCKED`` keeps two rescuers apart).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, delete, exists, insert, or_, select, update

from jobprocessor.model import Event, Job, Status, utcnow
from jobprocessor.store._sql import (
    HELD,
    INSERT_EVENTS,
    QUEUED_CHANNEL,
    event_row,
    row_to_job,
)
from jobprocessor.store.engine import reading
from jobprocessor.store.tables import jobs, workers

if TYPE_CHECKING:
    from jobprocessor.store.backend import Backend


@dataclass(frozen=True, slots=True)
class Rescued:
    """A job taken from a lost worker: re-queued, or ended."""

    job_id: int
    status: Status


class WorkerRegistry:
    """Registration, heartbeats and the rescue of lost workers' jobs."""

    def __init__(self, engine: Engine, backend: Backend) -> None:
        self.engine = engine
        self.backend = backend

    def register(self, worker_id: str, *, host: str, pid: int, slots: int) -> None:
        now = utcnow()
        with self.engine.begin() as connection:
            connection.execute(
                insert(workers).values(
                    id=worker_id, host=host, pid=pid, slots=slots, started_at=now, heartbeat_at=now
                )
            )

    def heartbeat(self, worker_id: str, *, stopping: bool = False) -> bool:
        """Record that the worker lives; False if its row is gone (it was declared lost)."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(workers)
                .where(workers.c.id == worker_id)
                .values(heartbeat_at=utcnow(), stopping=stopping)
            )
            return bool(result.rowcount)

    def unregister(self, worker_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(workers).where(workers.c.id == worker_id))

    def live(self) -> list[dict[str, Any]]:
        """The registered workers, oldest first, as rows of the workers table."""
        with reading(self.engine) as connection:
            return [
                dict(r._mapping)
                for r in connection.execute(select(workers).order_by(workers.c.started_at))
            ]

    def held_jobs(self) -> dict[str, list[Job]]:
        """Running and canceling jobs, by the worker that holds them."""
        statement = (
            select(jobs)
            .where(jobs.c.status.in_(HELD), jobs.c.worker_id.is_not(None))
            .order_by(jobs.c.id)
        )
        held: dict[str, list[Job]] = {}
        with reading(self.engine) as connection:
            for row in connection.execute(statement):
                held.setdefault(row.worker_id, []).append(row_to_job(row))
        return held

    def rescue_lost(self, *, heartbeat_timeout: float) -> list[Rescued]:
        """End or re-queue the jobs of workers whose heartbeat expired.

        A job held by a worker that no longer has a row (or whose heartbeat is
        older than the timeout) is re-queued while it has retries left, else it
        fails with ``WorkerLost``; one whose cancel was already requested ends
        ``canceled``. The lost workers' rows are removed.
        """
        cutoff = utcnow() - timedelta(seconds=heartbeat_timeout)
        rescued: list[Rescued] = []
        with self.engine.begin() as connection:
            lost = [
                r.id
                for r in connection.execute(
                    select(workers.c.id).where(workers.c.heartbeat_at < cutoff)
                )
            ]
            orphaned = select(jobs).where(
                jobs.c.status.in_(HELD),
                or_(
                    jobs.c.worker_id.is_(None),
                    jobs.c.worker_id.in_(lost),
                    ~exists().where(workers.c.id == jobs.c.worker_id),
                ),
            )
            orphaned = orphaned.with_for_update(skip_locked=True)  # none on SQLite
            now = utcnow()
            for row in connection.execute(orphaned).all():
                job = row_to_job(row)
                detail = f"worker {job.worker_id} stopped sending heartbeats"
                status, values, (ending, ending_detail) = _rescue_of(job, detail)
                if status.is_finished:
                    values["finished_at"] = now
                connection.execute(
                    update(jobs)
                    .where(and_(jobs.c.id == job.id, jobs.c.status == job.status.value))
                    .values(status=status.value, **values)
                )
                events = [
                    event_row(job.id, Event.WORKER_LOST, None, now, detail),
                    event_row(job.id, ending, None, now, ending_detail),
                ]
                connection.execute(INSERT_EVENTS, events)
                rescued.append(Rescued(job.id, status))
            if lost:
                connection.execute(delete(workers).where(workers.c.id.in_(lost)))
            if any(r.status is Status.QUEUED for r in rescued):
                self.backend.notify(connection, QUEUED_CHANNEL)
        return rescued


def _rescue_of(job: Job, detail: str) -> tuple[Status, dict[str, Any], tuple[Event, str]]:
    """What becomes of a lost worker's job: its new status, the columns that change
    with it, and the last event of its timeline with that event's detail."""
    if job.status is Status.CANCELING:
        return Status.CANCELED, {}, (Event.CANCELED, "its worker was lost")
    if job.attempts <= job.max_retries:
        cleared: dict[str, Any] = {
            "worker_id": None,
            "started_at": None,
            "progress_done": None,
            "progress_total": None,
            "progress_message": None,
        }
        retry = f"retry {job.attempts} of {job.max_retries}"
        return Status.QUEUED, cleared, (Event.REQUEUED, retry)
    failed = {"error_type": "WorkerLost", "error_message": detail}
    return Status.FAILED, failed, (Event.FAILED, "WorkerLost")
