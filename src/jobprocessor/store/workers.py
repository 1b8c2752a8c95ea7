"""The workers' table: who is alive, what each holds, and the rescue of lost ones.

Every worker writes a heartbeat (``liveness``); a worker whose heartbeat expired,
or whose process is gone where the database can tell, is lost, and its jobs are
re-queued (while retries are left) or ended, by whichever live worker looks first
(PostgreSQL: ``SKIP LOCKED`` keeps two rescuers apart, and a rescuer from waiting on
a worker frozen mid-heartbeat).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, and_, delete, exists, or_, select, update

from jobprocessor.model import Event, Job, Status, utcnow
from jobprocessor.store._sql import (
    CANCELED_BEFORE_START,
    HELD,
    INSERT_EVENTS,
    QUEUED_CHANNEL,
    event_row,
    row_to_job,
)
from jobprocessor.store.engine import reading
from jobprocessor.store.liveness import Liveness
from jobprocessor.store.tables import jobs, workers

if TYPE_CHECKING:
    from jobprocessor.store.backend import Backend

#: A rescue gives up on a lock after this long (and looks again next time) ...
RESCUE_LOCK_TIMEOUT_MS = 1000
#: ... and on any of its statements after this long.
RESCUE_STATEMENT_MS = 10_000


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

    def liveness(self, worker_id: str, *, silence: float) -> Liveness:
        """The worker's registration and heartbeats, on a connection of their own whose
        session the server gives up on after about ``silence`` seconds of silence."""
        return Liveness(self.backend, worker_id, silence=silence)

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

    def rescue_lost(
        self, *, heartbeat_timeout: float | None, gone_after: float | None = None
    ) -> list[Rescued]:
        """End or re-queue the jobs of lost workers; the lost workers' rows are removed.

        A worker is lost when its last heartbeat is older than ``heartbeat_timeout``,
        or (where the database can tell, see ``Backend.sessions_gone``) when it is
        older than ``gone_after`` and the worker's session has ended: its process is
        gone. None leaves a rule out. A job held by a lost worker, or by one that has
        no row any more, is re-queued while it has retries left, else it fails with
        ``WorkerLost``; one whose cancel was already requested ends ``canceled``.

        No rescuer waits on another worker: rows that someone has locked (a worker
        frozen mid-heartbeat, another rescuer) are skipped and looked at next time,
        and the transaction gives up on any lock or statement that takes too long.
        """
        rescued: list[Rescued] = []
        with self.engine.begin() as connection:
            self.backend.bound_waits(
                connection, lock_ms=RESCUE_LOCK_TIMEOUT_MS, statement_ms=RESCUE_STATEMENT_MS
            )
            lost = self._lost(connection, heartbeat_timeout, gone_after)
            orphaned = (
                select(jobs)
                .where(
                    jobs.c.status.in_(HELD),
                    or_(
                        jobs.c.worker_id.is_(None),
                        jobs.c.worker_id.in_(list(lost)),
                        ~exists().where(workers.c.id == jobs.c.worker_id),
                    ),
                )
                .with_for_update(skip_locked=True)  # none on SQLite
            )
            now = utcnow()
            released = self._release_ahead(connection, lost)
            for row in connection.execute(orphaned).all():
                job = row_to_job(row)
                detail = lost.get(job.worker_id or "", f"worker {job.worker_id} is gone")
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
                connection.execute(delete(workers).where(workers.c.id.in_(list(lost))))
            if released or any(r.status is Status.QUEUED for r in rescued):
                self.backend.notify(connection, QUEUED_CHANNEL)
        return rescued

    def _release_ahead(self, connection: Connection, lost: dict[str, str]) -> int:
        """Give back the jobs lost workers claimed ahead (``prefetch``): queued for
        anyone, their attempt not counted. Its worker may have started one in the
        moment before it was lost (its start is written a round later): such a job
        runs again. One whose cancel was asked for meanwhile ends ``canceled``."""
        ahead = and_(
            jobs.c.status.in_([Status.QUEUED.value, Status.CANCELING.value]),
            jobs.c.started_at.is_(None),
            jobs.c.worker_id.is_not(None),
            or_(
                jobs.c.worker_id.in_(list(lost)),
                ~exists().where(workers.c.id == jobs.c.worker_id),
            ),
        )
        rows = connection.execute(
            select(jobs.c.id, jobs.c.status).where(ahead).with_for_update(skip_locked=True)
        ).all()
        now = utcnow()
        for row in rows:
            if row.status == Status.CANCELING.value:
                values = {"status": Status.CANCELED.value, "finished_at": now}
                event = event_row(row.id, Event.CANCELED, None, now, CANCELED_BEFORE_START)
            else:
                values = {"worker_id": None, "attempts": jobs.c.attempts - 1}
                event = event_row(row.id, Event.REQUEUED, None, now, "its worker was lost")
            connection.execute(
                update(jobs).where(jobs.c.id == row.id, jobs.c.status == row.status).values(values)
            )
            connection.execute(INSERT_EVENTS, [event])
        return len(rows)

    def _lost(
        self, connection: Connection, heartbeat_timeout: float | None, gone_after: float | None
    ) -> dict[str, str]:
        """The lost workers (their rows locked for this transaction), each with why."""
        limits = [t for t in (heartbeat_timeout, gone_after) if t is not None]
        if not limits:
            return {}
        timeout = heartbeat_timeout if heartbeat_timeout is not None else max(limits)
        expired_flag = (workers.c.heartbeat_at < self.backend.ago(timeout)).label("expired")
        stale = connection.execute(
            select(workers.c.id, expired_flag)
            .where(workers.c.heartbeat_at < self.backend.ago(min(limits)))
            .with_for_update(skip_locked=True)
        ).all()
        expired = {r.id for r in stale if heartbeat_timeout is not None and r.expired}
        lost = {worker: f"worker {worker} stopped sending heartbeats" for worker in expired}
        if gone_after is not None:
            candidates = [r.id for r in stale if r.id not in expired]
            for worker in self.backend.sessions_gone(connection, candidates):
                lost[worker] = f"worker {worker} is gone (its database session ended)"
        return lost


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
