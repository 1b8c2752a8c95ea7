"""Schedules declared by app modules (``recurring(...)``), kept until a worker or the
console stores them (``recurring_jobs.store_declared``).

Apart from the database work of ``recurring_jobs`` on purpose: app modules are imported by
every job process too, and a declaration there must not pull in the store and
SQLAlchemy (half a second of every job process's start).
"""

from __future__ import annotations

from typing import Any

from jobprocessor.ticks import Missed, Schedule, check_cron, check_zone

#: Whom a declared schedule's jobs run as when it names nobody.
DEFAULT_USER = "system"

_declared: dict[str, Schedule] = {}


def recurring(
    name: str,
    *,
    cron: str,
    type: str,
    params: dict[str, Any] | None = None,
    timezone: str = "UTC",
    user: str = DEFAULT_USER,
    missed: str = Missed.LATEST.value,
) -> Schedule:
    """Declare a schedule in an app module (docs/reference/schedules.md).

    ``recurring("weekly-coverage", cron="0 6 * * MON", type="wfm.report.coverage",
    params={...}, timezone="Europe/Berlin", user="planner1", missed="latest")``: a
    worker that loads the module stores it when it starts (creating it, or updating
    its definition; its paused state and its past ticks stay). Its cron, zone and
    policy are checked here; its type and settings when a worker stores it.
    """
    check_cron(cron)
    check_zone(timezone)
    schedule = Schedule(name, cron, type, dict(params or {}), timezone, user, Missed(missed))
    _declared[name] = schedule
    return schedule


def declared() -> list[Schedule]:
    """The schedules the loaded app modules declared, by name."""
    return [_declared[name] for name in sorted(_declared)]
