"""When a recurring schedule's ticks fall, in its time zone (docs/reference/schedules.md).

Pure functions over a cron expression, an IANA zone and moments given by the caller,
so that every rule can be tested at any date without waiting for the clock. Cron
parsing and the walk through local times are cronsim's; zone rules are zoneinfo's.

Two rules of our own, for the days clocks change:
- a local time that does not exist (clocks go forward) runs at the first instant after
  the gap (cronsim's own behaviour); several such times collapse into that one instant;
- a local time that occurs twice (clocks go back) runs once, at its first occurrence:
  cronsim also yields the second occurrence (``fold=1``) for wildcard hours, which is
  dropped here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from jobprocessor.errors import InvalidInput

#: The most missed ticks ``all`` submits at once (the latest ones).
MAX_MISSED = 100
#: Ticks are first looked for this far back (a schedule long paused, or every minute
#: while everything was down, must not be walked tick by tick from its last run).
RECENT = timedelta(days=1)
#: A tick found due within this long after its time is on time, not missed.
ON_TIME = timedelta(seconds=90)


class Missed(enum.StrEnum):
    """What becomes of ticks missed while no worker ran (or while paused)."""

    SKIP = "skip"
    LATEST = "latest"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Schedule:
    """What a schedule is: its name, when it fires, and the job it submits."""

    name: str
    cron: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    user: str = "system"
    missed: Missed = Missed.LATEST


def check_cron(expression: object, *, field_name: str = "cron") -> str:
    """Five fields, minute resolution (e.g. ``0 6 * * MON``)."""
    if not isinstance(expression, str) or len(expression.split()) != 5:
        raise InvalidInput(
            f"{field_name}: a cron expression has five fields: minute hour day month weekday "
            f"(got {expression!r})",
            fields={field_name: "not five fields"},
        )
    try:
        CronSim(expression, datetime(2026, 1, 1, tzinfo=UTC))
    except CronSimError as error:
        raise InvalidInput(
            f"{field_name}: {expression!r} is not a valid cron expression ({error})",
            fields={field_name: "invalid"},
        ) from None
    return " ".join(expression.split())


def check_zone(name: object, *, field_name: str = "timezone") -> ZoneInfo:
    """An IANA time zone such as ``Europe/Berlin`` or ``UTC``."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")):
        raise InvalidInput(
            f"{field_name}: {name!r} is not a time zone", fields={field_name: "invalid"}
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{field_name}: unknown time zone {name!r} (use an IANA name such as Europe/Berlin)",
            fields={field_name: "unknown"},
        ) from None


def ticks_after(cron: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """The schedule's ticks strictly after ``after``, in UTC, each instant once."""
    last: datetime | None = None
    for local in CronSim(cron, after.astimezone(zone)):
        if local.fold == 1:
            continue  # the second occurrence of a repeated local time
        tick = local.astimezone(UTC)
        if last is not None and tick <= last:
            continue  # several times in a gap fall on its end
        last = tick
        yield tick


def _latest_ticks(cron: str, zone: ZoneInfo, after: datetime, now: datetime) -> list[datetime]:
    """The latest ``MAX_MISSED`` ticks in (after, now]."""
    ticks: list[datetime] = []
    for tick in ticks_after(cron, zone, after):
        if tick > now:
            break
        ticks.append(tick)
        if len(ticks) > MAX_MISSED:
            del ticks[0]
    return ticks


def next_tick(cron: str, zone: ZoneInfo, after: datetime) -> datetime:
    """The first tick strictly after ``after``."""
    return next(ticks_after(cron, zone, after))


def due_ticks(
    cron: str, zone: ZoneInfo, *, after: datetime, now: datetime, missed: Missed
) -> tuple[list[datetime], datetime | None]:
    """The ticks after ``after`` and up to ``now`` that get a job, by the policy, and
    the latest tick up to ``now`` (dealt with, whether it gets a job or not).

    The latest tick is on time if it is at most ``ON_TIME`` old: it always gets its job.
    Earlier ones, and a late latest one, were missed: ``skip`` submits none of them,
    ``latest`` one job for the latest, ``all`` one per tick (the latest ``MAX_MISSED``).
    """
    ticks = _latest_ticks(cron, zone, max(after, now - RECENT), now)
    enough = len(ticks) >= MAX_MISSED if missed is Missed.ALL else bool(ticks)
    if after < now - RECENT and not enough:
        ticks = _latest_ticks(cron, zone, after, now)  # a sparse schedule: few ticks
    if not ticks:
        return [], None
    latest = ticks[-1]
    if missed is Missed.ALL:
        return ticks[-MAX_MISSED:], latest
    if missed is Missed.LATEST or now - latest <= ON_TIME:
        return [latest], latest
    return [], latest
