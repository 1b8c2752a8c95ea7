"""Dates, weeks and the 15-minute grid that requirements and coverage use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

#: Minutes in one interval of staff requirements and coverage.
INTERVAL = 15
INTERVALS_PER_DAY = 24 * 60 // INTERVAL


def days(start: date, end: date) -> Iterator[date]:
    """Every day from ``start`` to ``end``, both included."""
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min)


def at_minute(day: date, minute: int) -> datetime:
    """The moment ``minute`` minutes after the midnight that starts ``day``."""
    return midnight(day) + timedelta(minutes=minute)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def minutes_between(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def interval_starts(start: datetime, end: datetime) -> Iterator[datetime]:
    """The starts of the 15-minute intervals that ``[start, end)`` touches."""
    first = floor_interval(start)
    step = timedelta(minutes=INTERVAL)
    moment = first
    while moment < end:
        yield moment
        moment += step


def floor_interval(moment: datetime) -> datetime:
    """The start of the interval ``moment`` lies in."""
    minute = moment.hour * 60 + moment.minute
    return at_minute(moment.date(), minute - minute % INTERVAL)


def format_hours(minutes: float) -> str:
    """Minutes as hours for reports, e.g. 2430 → '40.5 h'."""
    return f"{minutes / 60:.1f} h"
