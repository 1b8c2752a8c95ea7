"""Recurring schedules in the database, and their ticks' jobs, one per tick.

Any number of workers and web processes call ``submit_due``; no process leads. A due
schedule's row is locked for the submission (PostgreSQL: ``FOR UPDATE SKIP LOCKED``,
so another process goes on to other schedules; SQLite: one writer at a time), its
ticks' jobs are inserted and its ``last_tick`` advanced in the same transaction, and
the unique index on jobs' (schedule, tick) makes a second job for one tick an error
that rolls its transaction back, whatever happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from jobprocessor.model import Job
from jobprocessor.store._sql import QUEUED_CHANNEL, insert_jobs, job_row, row_to_job
from jobprocessor.store.backend import Backend
from jobprocessor.store.engine import reading
from jobprocessor.store.records import NewJob
from jobprocessor.store.tables import jobs, schedules
from jobprocessor.ticks import Missed, Schedule, check_zone, due_ticks, next_tick

#: Due schedules one transaction deals with, at most.
BATCH = 20


@dataclass(frozen=True, slots=True)
class StoredSchedule:
    """A schedule as stored: its definition and where it stands."""

    schedule: Schedule
    paused: bool
    source: str
    last_tick: datetime
    next_run_at: datetime
    last_job_id: int | None
    created_at: datetime


class ScheduleStore:
    """The schedules table, and the submission of due ticks' jobs."""

    def __init__(self, engine: Engine, backend: Backend) -> None:
        self.engine = engine
        self.backend = backend

    def put(self, schedule: Schedule, *, source: str, now: datetime, replace: bool) -> bool:
        """Store a checked schedule; False if its name is taken and ``replace`` is not
        asked. A replaced schedule keeps its paused state and its past ticks (a changed
        cron counts from its last tick); a new one starts with the ticks after ``now``."""
        values = _definition(schedule)
        with self.engine.begin() as connection:
            row = connection.execute(
                select(schedules).where(schedules.c.name == schedule.name).with_for_update()
            ).first()
            if row is None:
                zone = check_zone(schedule.timezone)
                connection.execute(
                    insert(schedules).values(
                        name=schedule.name,
                        source=source,
                        created_at=now,
                        updated_at=now,
                        last_tick=now,
                        next_run_at=next_tick(schedule.cron, zone, now),
                        **values,
                    )
                )
                return True
            if not replace:
                return False
            if {key: getattr(row, key) for key in values} == values:
                return True
            zone = check_zone(schedule.timezone)
            connection.execute(
                update(schedules)
                .where(schedules.c.name == schedule.name)
                .values(
                    updated_at=now,
                    next_run_at=next_tick(schedule.cron, zone, row.last_tick),
                    **values,
                )
            )
            return True

    def all(self) -> list[StoredSchedule]:
        with reading(self.engine) as connection:
            rows = connection.execute(select(schedules).order_by(schedules.c.name)).all()
        return [_stored(row) for row in rows]

    def get(self, name: str) -> StoredSchedule | None:
        with reading(self.engine) as connection:
            row = connection.execute(select(schedules).where(schedules.c.name == name)).first()
        return _stored(row) if row else None

    def set_paused(self, name: str, paused: bool, *, now: datetime) -> bool:
        """Pause or resume; False if there is no such schedule. On resume, the ticks
        missed meanwhile follow the schedule's ``missed`` policy."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(schedules)
                .where(schedules.c.name == name)
                .values(paused=paused, updated_at=now)
            )
            return bool(result.rowcount)

    def delete(self, name: str) -> bool:
        """Remove a schedule (its jobs stay); False if there is none."""
        with self.engine.begin() as connection:
            return bool(
                connection.execute(delete(schedules).where(schedules.c.name == name)).rowcount
            )

    def submit_due(
        self,
        now: datetime,
        make_jobs: Callable[[Schedule, list[datetime]], list[NewJob] | None],
    ) -> list[Job]:
        """Submit the jobs of every due tick of unpaused schedules, one per tick.

        ``make_jobs`` builds a schedule's jobs for its ticks, or None where this
        process cannot (it does not know the type): the schedule is then left to
        another process. Returns the jobs submitted here.
        """
        submitted: list[Job] = []
        with self.engine.begin() as connection:
            due = connection.execute(
                select(schedules)
                .where(schedules.c.paused.is_(False), schedules.c.next_run_at <= now)
                .order_by(schedules.c.next_run_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for row in due:
                submitted += self._submit(connection, _stored(row), now, make_jobs)
            if submitted:
                self.backend.notify(connection, QUEUED_CHANNEL)
        return submitted

    def _submit(
        self,
        connection: Connection,
        stored: StoredSchedule,
        now: datetime,
        make_jobs: Callable[[Schedule, list[datetime]], list[NewJob] | None],
    ) -> list[Job]:
        schedule = stored.schedule
        zone = check_zone(schedule.timezone)
        ticks, latest = due_ticks(
            schedule.cron, zone, after=stored.last_tick, now=now, missed=schedule.missed
        )
        new_jobs = make_jobs(schedule, ticks) if ticks else []
        if new_jobs is None:
            return []
        created: list[Job] = []
        if new_jobs:
            with connection.begin_nested():  # a tick taken meanwhile undoes only this
                try:
                    rows = [job_row(new, now) for new in new_jobs]
                    inserted = insert_jobs(connection, rows, by=schedule.user, now=now)
                    created = [row_to_job(row) for row in inserted]
                except IntegrityError:
                    return []
        done = latest or stored.last_tick
        connection.execute(
            update(schedules)
            .where(schedules.c.name == schedule.name, schedules.c.last_tick == stored.last_tick)
            .values(
                last_tick=done,
                next_run_at=next_tick(schedule.cron, zone, done),
                last_job_id=created[-1].id if created else stored.last_job_id,
            )
        )
        return created

    def jobs_of(self, name: str, limit: int = 20) -> list[int]:
        """The newest jobs a schedule submitted (ids, newest first)."""
        with reading(self.engine) as connection:
            return [
                row.id
                for row in connection.execute(
                    select(jobs.c.id)
                    .where(jobs.c.schedule == name)
                    .order_by(jobs.c.id.desc())
                    .limit(limit)
                )
            ]


def _definition(schedule: Schedule) -> dict[str, Any]:
    return {
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "type": schedule.type,
        "params": schedule.params,
        "user_name": schedule.user,
        "missed": schedule.missed.value,
    }


def _stored(row: Any) -> StoredSchedule:
    return StoredSchedule(
        schedule=Schedule(
            row.name,
            row.cron,
            row.type,
            row.params,
            row.timezone,
            row.user_name,
            Missed(row.missed),
        ),
        paused=bool(row.paused),
        source=row.source,
        last_tick=row.last_tick,
        next_run_at=row.next_run_at,
        last_job_id=row.last_job_id,
        created_at=row.created_at,
    )
