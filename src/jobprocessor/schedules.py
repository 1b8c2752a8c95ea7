"""The rules of recurring schedules: who may see and change them, and how they read.

Part of the service (``JobService.schedules``): the CLI, the REST API and the console
call it; only admins see and change schedules (the CLI acts as an admin unless told
otherwise). A schedule's jobs run as its user, who sees them as their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cron_descriptor import get_description

from jobprocessor.errors import Conflict, NotFound, PermissionDenied
from jobprocessor.model import Actor, Job, iso, utcnow
from jobprocessor.recurring_jobs import checked
from jobprocessor.registry import Registry
from jobprocessor.store.jobs import JobStore
from jobprocessor.store.schedules import StoredSchedule
from jobprocessor.ticks import Schedule


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """A schedule with where it stands: its next run and its last job."""

    stored: StoredSchedule
    last_job: Job | None

    @property
    def name(self) -> str:
        return self.stored.schedule.name

    @property
    def description(self) -> str:
        """The cron expression in words ("At 06:00 AM, only on Monday")."""
        return describe(self.stored.schedule.cron)

    def to_dict(self) -> dict[str, Any]:
        """The schedule as JSON (docs/reference/schedules.md)."""
        schedule = self.stored.schedule
        return {
            "name": schedule.name,
            "cron": schedule.cron,
            "timezone": schedule.timezone,
            "type": schedule.type,
            "params": schedule.params,
            "user": schedule.user,
            "missed": schedule.missed.value,
            "paused": self.stored.paused,
            "next_run_at": iso(self.stored.next_run_at),
            "last_job_id": self.stored.last_job_id,
            "description": self.description,
            "last_job_status": self.last_job.status.value if self.last_job else None,
            "source": self.stored.source,
        }


def describe(cron: str) -> str:
    """A cron expression in words, by cron-descriptor; the expression if it cannot."""
    try:
        return str(get_description(cron))
    except Exception:  # the library's own errors vary by version
        return cron


class Schedules:
    """List, add, pause, resume and delete recurring schedules, for admins."""

    def __init__(self, store: JobStore, types: Registry) -> None:
        self._store = store
        self._types = types

    def all(self, actor: Actor) -> list[ScheduleInfo]:
        _admin(actor)
        return [self._info(stored) for stored in self._store.schedules.all()]

    def get(self, actor: Actor, name: str) -> ScheduleInfo:
        _admin(actor)
        stored = self._store.schedules.get(name)
        if stored is None:
            raise NotFound(f"schedule {name!r} not found")
        return self._info(stored)

    def add(
        self,
        actor: Actor,
        schedule: Schedule,
        *,
        now: datetime | None = None,
        source: str = "cli",
    ) -> ScheduleInfo:
        """Check and store a new schedule (its ticks start after now); bad input raises
        InvalidInput naming the field and stores nothing, a taken name Conflict.
        ``source`` says who added it (shown on the Schedules page)."""
        _admin(actor)
        good = checked(schedule, self._types)
        if not self._store.schedules.put(good, source=source, now=now or utcnow(), replace=False):
            raise Conflict(f"schedule {good.name!r} exists already; delete it first")
        return self.get(actor, good.name)

    def pause(self, actor: Actor, name: str) -> ScheduleInfo:
        return self._set_paused(actor, name, True)

    def resume(self, actor: Actor, name: str) -> ScheduleInfo:
        """Resume; the ticks missed while paused follow the schedule's ``missed``."""
        return self._set_paused(actor, name, False)

    def delete(self, actor: Actor, name: str) -> None:
        """Remove the schedule; the jobs it submitted stay."""
        _admin(actor)
        if not self._store.schedules.delete(name):
            raise NotFound(f"schedule {name!r} not found")

    def _set_paused(self, actor: Actor, name: str, paused: bool) -> ScheduleInfo:
        _admin(actor)
        if not self._store.schedules.set_paused(name, paused, now=utcnow()):
            raise NotFound(f"schedule {name!r} not found")
        return self.get(actor, name)

    def _info(self, stored: StoredSchedule) -> ScheduleInfo:
        last = self._store.get(stored.last_job_id) if stored.last_job_id else None
        return ScheduleInfo(stored, last)


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only admins see and change schedules")
