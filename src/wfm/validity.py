"""Validity periods: from a date to a date (both inclusive) or without an end.

Mass updates add, delete and replace an employee's dated assignments; this module
is the arithmetic they need (overlap, intersection, subtraction), with no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Period:
    """``start`` to ``end`` inclusive; ``end`` None means open-ended."""

    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def overlaps(self, other: Period) -> bool:
        return intersect(self, other) is not None

    def __str__(self) -> str:
        return f"{self.start} to {self.end or 'open end'}"


def _min_end(a: date | None, b: date | None) -> date | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def intersect(a: Period, b: Period) -> Period | None:
    """The days both periods share, or None."""
    start = max(a.start, b.start)
    end = _min_end(a.end, b.end)
    if end is not None and end < start:
        return None
    return Period(start, end)


def subtract(a: Period, b: Period) -> list[Period]:
    """The parts of ``a`` outside ``b``: none, one, or two (when ``b`` lies inside ``a``)."""
    common = intersect(a, b)
    if common is None:
        return [a]
    parts = []
    if a.start < common.start:
        parts.append(Period(a.start, common.start - ONE_DAY))
    if common.end is not None and (a.end is None or common.end < a.end):
        parts.append(Period(common.end + ONE_DAY, a.end))
    return parts
