"""Shifts as plain data: day models as templates, and the entries a shift is made of.

The scheduling jobs work on these frozen snapshots rather than on ORM objects, so
that a solver can run for minutes with no database session open, and so that the
same code turns a day model at a start time into entries wherever it is needed
(insert shift sequences, the optimizer, job optimization).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from wfm.calendar import INTERVAL, at_minute
from wfm.model import DayModel


@dataclass(frozen=True, slots=True)
class BreakTemplate:
    """A break of a day model: its start lies ``earliest``..``latest`` minutes into the shift."""

    activity_id: int
    length: int
    earliest: int
    latest: int
    paid: bool

    @property
    def default_offset(self) -> int:
        """The middle of the corridor, on the 15-minute grid."""
        middle = (self.earliest + self.latest) // 2
        return max(self.earliest, middle - middle % INTERVAL)

    def offsets(self) -> list[int]:
        """Every start the corridor allows, on the 15-minute grid."""
        first = self.earliest + (-self.earliest) % INTERVAL
        return list(range(first, self.latest + 1, INTERVAL)) or [self.earliest]


@dataclass(frozen=True, slots=True)
class ShiftTemplate:
    """A day model, detached from the database."""

    id: int
    code: str
    name: str
    base_activity_id: int
    earliest_start: int
    latest_start: int
    length: int
    weekdays: str
    breaks: tuple[BreakTemplate, ...]

    @classmethod
    def from_model(cls, model: DayModel) -> ShiftTemplate:
        return cls(
            id=model.id,
            code=model.code,
            name=model.name,
            base_activity_id=model.base_activity_id,
            earliest_start=model.earliest_start,
            latest_start=model.latest_start,
            length=model.length,
            weekdays=model.weekdays,
            breaks=tuple(
                BreakTemplate(
                    activity_id=b.activity_id,
                    length=b.length,
                    earliest=b.earliest_offset,
                    latest=b.latest_offset,
                    paid=b.activity.paid,
                )
                for b in sorted(model.breaks, key=lambda b: b.position)
            ),
        )

    def allowed_on(self, day: date) -> bool:
        return self.weekdays[day.weekday()] == "1"

    def starts(self, step: int) -> list[int]:
        """Start minutes in the window, every ``step`` minutes."""
        return list(range(self.earliest_start, self.latest_start + 1, step))

    @property
    def paid_minutes(self) -> int:
        """Minutes that count toward contract hours: the length less unpaid breaks."""
        return self.length - sum(b.length for b in self.breaks if not b.paid)

    def default_break_offsets(self) -> tuple[int, ...]:
        return tuple(b.default_offset for b in self.breaks)


@dataclass(frozen=True, slots=True)
class Placed:
    """A schedule entry to be written: an employee's activity from start to end."""

    employee_id: int
    day: date
    start: datetime
    end: datetime
    activity_id: int
    day_model_id: int | None = None


def shift_entries(
    employee_id: int,
    day: date,
    template: ShiftTemplate,
    start: int,
    break_offsets: tuple[int, ...] | None = None,
) -> list[Placed]:
    """The entries of one shift: base activity around its breaks, in time order.

    ``start`` is in minutes after the day's midnight; each break starts at its
    offset into the shift (default: the middle of its corridor).
    """
    offsets = template.default_break_offsets() if break_offsets is None else break_offsets
    pieces: list[tuple[int, int, int]] = []
    cursor = 0
    for rule, offset in sorted(zip(template.breaks, offsets, strict=True), key=lambda p: p[1]):
        if offset > cursor:
            pieces.append((cursor, offset, template.base_activity_id))
        pieces.append((offset, offset + rule.length, rule.activity_id))
        cursor = offset + rule.length
    if cursor < template.length:
        pieces.append((cursor, template.length, template.base_activity_id))
    return [
        Placed(
            employee_id=employee_id,
            day=day,
            start=at_minute(day, start + begin),
            end=at_minute(day, start + end),
            activity_id=activity,
            day_model_id=template.id,
        )
        for begin, end, activity in pieces
    ]


def full_day_entry(employee_id: int, day: date, activity_id: int) -> Placed:
    """A whole-day entry (an absence, a training day), midnight to midnight."""
    return Placed(employee_id, day, at_minute(day, 0), at_minute(day, 24 * 60), activity_id)
