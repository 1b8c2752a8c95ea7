"""Recurring jobs: schedules that submit a job of a type at the times of a cron
expression in a time zone (docs/reference/schedules.md).

An app module declares its schedules with ``recurring(...)`` (``declarations``);
workers that load the module store them when they start. People add, pause, resume
and delete schedules from the CLI (and pause and resume from the console and the REST
API). Every worker and web process may submit a tick's job; the store makes it one
job per tick (``store.schedules``), so no process leads.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from jobprocessor.declarations import declared
from jobprocessor.errors import InvalidInput
from jobprocessor.model import Actor, Job, check_user_name, utcnow
from jobprocessor.registry import Registry
from jobprocessor.store.jobs import JobStore
from jobprocessor.store.records import NewJob
from jobprocessor.submission import SubmitOptions, new_job
from jobprocessor.ticks import Missed, Schedule, check_cron, check_zone

logger = logging.getLogger(__name__)

SCHEDULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def checked(schedule: Schedule, types: Registry) -> Schedule:
    """The schedule with its cron and settings as they are stored; bad input raises
    InvalidInput naming the field, and a type this process does not know too."""
    if not isinstance(schedule.name, str) or not SCHEDULE_NAME.fullmatch(schedule.name):
        raise InvalidInput(
            f"name: a schedule name is 1 to 100 letters, digits, '.', '_' or '-' "
            f"(got {schedule.name!r})",
            fields={"name": "invalid"},
        )
    cron = check_cron(schedule.cron)
    check_zone(schedule.timezone)
    check_user_name(schedule.user, field_name="user")
    try:
        missed = Missed(schedule.missed)
    except ValueError:
        raise InvalidInput(
            f"missed: one of skip, latest, all (got {schedule.missed!r})",
            fields={"missed": "invalid"},
        ) from None
    job_type = types.get(schedule.type)
    params = job_type.validate(schedule.params if schedule.params is not None else {})
    return Schedule(
        schedule.name, cron, schedule.type, params, schedule.timezone, schedule.user, missed
    )


def jobs_for(
    schedule: Schedule, types: Registry, ticks: list[datetime], *, now: datetime
) -> list[NewJob] | None:
    """The jobs of these ticks, as the schedule's user would submit them; None if this
    process does not know the schedule's type (another one will)."""
    if schedule.type not in types:
        return None
    job_type = types.get(schedule.type)
    settings = job_type.validate(schedule.params)
    actor = Actor(schedule.user)
    return [
        new_job(actor, job_type, settings, SubmitOptions(), now=now, schedule=(schedule.name, t))
        for t in ticks
    ]


def store_declared(store: JobStore, types: Registry, *, now: datetime) -> list[str]:
    """Put the loaded app modules' schedules in the database (a worker starting, the
    console starting): new ones are added, changed ones updated (their paused state and
    past ticks stay). Returns the names stored; a declaration that cannot be stored
    here (a type this process does not know, bad settings) is logged and skipped."""
    stored = []
    for schedule in declared():
        try:
            store.schedules.put(checked(schedule, types), source="app", now=now, replace=True)
        except InvalidInput as error:
            logger.error("schedule %s not stored: %s", schedule.name, error)
            continue
        stored.append(schedule.name)
    return stored


def submit_due(store: JobStore, types: Registry, *, now: datetime) -> list[Job]:
    """Submit the due ticks' jobs of every schedule whose type this process knows."""

    def make(schedule: Schedule, ticks: list[datetime]) -> list[NewJob] | None:
        return jobs_for(schedule, types, ticks, now=now)

    return store.schedules.submit_due(now, make)


class Ticker:
    """A thread that submits due ticks' jobs every ``interval`` seconds until stopped;
    any number of them, in any number of processes, submit one job per tick."""

    def __init__(self, store: JobStore, types: Registry, *, interval: float) -> None:
        self._store = store
        self._types = types
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def tick(self) -> list[Job]:
        """One look for due ticks; database errors are logged (tried again next time)."""
        try:
            return submit_due(self._store, self._types, now=utcnow())
        except DBAPIError as error:
            logger.warning("schedules: database error (%s); will try again", error.orig)
            return []

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            for job in self.tick():
                logger.info(
                    "schedule %s submitted job %d for %s", job.schedule, job.id, job.scheduled_for
                )
