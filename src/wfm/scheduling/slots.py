"""A shift as a row of 15-minute slots: the form job optimization works on.

Job optimization keeps each shift's start and end and changes only what fills it:
which activity each quarter of an hour holds, and where the breaks lie. Entries on
the 15-minute grid turn into slots and back without loss. A shift whose entries
are off the grid or overlap is not turned into slots: it is left as it is and the
reason goes into the report.

The breaks of a shift made from a day model are matched to the model's break
rules (same activity and length, in the model's order); only matched breaks may
move, and only within their corridor, which counts from the shift's start.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from wfm.calendar import INTERVAL
from wfm.shifts import Placed, ShiftTemplate

STEP = timedelta(minutes=INTERVAL)


@dataclass(slots=True)
class MovableBreak:
    """A break that may start at any slot from ``earliest`` to ``latest`` (slots into the shift)."""

    activity_id: int
    length: int
    position: int
    earliest: int
    latest: int
    initial: int = field(init=False)

    def __post_init__(self) -> None:
        self.initial = self.position

    def positions(self) -> range:
        return range(self.earliest, self.latest + 1)

    def covers(self, position: int) -> range:
        return range(position, position + self.length)


@dataclass(slots=True)
class SlotShift:
    """One employee's shift on one day, slot by slot (None: a gap with no entry)."""

    employee_id: int
    day: date
    start: datetime
    day_model_id: int | None
    #: The day model's base activity: what fills the time a break leaves.
    base_activity_id: int | None
    slots: list[int | None]
    breaks: list[MovableBreak]
    original: tuple[Placed, ...]
    initial: tuple[int | None, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.initial = tuple(self.slots)

    @property
    def end(self) -> datetime:
        return self.start + STEP * len(self.slots)

    @property
    def changed(self) -> bool:
        return tuple(self.slots) != self.initial

    def moment(self, index: int) -> datetime:
        """The start of slot ``index`` (an interval start of the coverage grid)."""
        return self.start + STEP * index

    def entries(self) -> list[Placed]:
        """The shift as entries again: one per run of equal activity."""
        result: list[Placed] = []
        for begin, finish, activity in runs(self.slots):
            if activity is not None:
                result.append(
                    Placed(
                        self.employee_id,
                        self.day,
                        self.moment(begin),
                        self.moment(finish),
                        activity,
                        self.day_model_id,
                    )
                )
        return result


def runs(slots: Sequence[int | None]) -> Iterator[tuple[int, int, int | None]]:
    """(first slot, slot after the last, activity) of each run of equal slots."""
    begin = 0
    for index in range(1, len(slots) + 1):
        if index == len(slots) or slots[index] != slots[begin]:
            yield begin, index, slots[begin]
            begin = index


def build_shift(entries: Sequence[Placed], templates: dict[int, ShiftTemplate]) -> SlotShift | str:
    """The entries of one employee's day as slots, or why they cannot be."""
    ordered = sorted(entries, key=lambda e: (e.start, e.end))
    if any(not _on_grid(e.start) or not _on_grid(e.end) for e in ordered):
        return "its entries are not on the 15-minute grid"
    start, end = ordered[0].start, max(e.end for e in ordered)
    slots: list[int | None] = [None] * int((end - start) / STEP)
    for entry in ordered:
        first = int((entry.start - start) / STEP)
        last = int((entry.end - start) / STEP)
        if any(slots[i] is not None for i in range(first, last)):
            return "its entries overlap"
        slots[first:last] = [entry.activity_id] * (last - first)
    models = {e.day_model_id for e in ordered if e.day_model_id is not None}
    if len(models) > 1:
        return "its entries come from different day models"
    template = templates.get(next(iter(models))) if models else None
    shift = SlotShift(
        employee_id=ordered[0].employee_id,
        day=ordered[0].day,
        start=start,
        day_model_id=template.id if template else None,
        base_activity_id=template.base_activity_id if template else None,
        slots=slots,
        breaks=[],
        original=tuple(ordered),
    )
    if template is not None:
        shift.breaks = _match_breaks(ordered, start, len(slots), template)
    return shift


def _match_breaks(
    entries: Sequence[Placed], start: datetime, size: int, template: ShiftTemplate
) -> list[MovableBreak]:
    """Each break rule of the day model paired with the first unpaired entry that fits it."""
    matched: list[MovableBreak] = []
    taken: set[int] = set()
    for rule in template.breaks:
        for index, entry in enumerate(entries):
            minutes = int((entry.end - entry.start) / timedelta(minutes=1))
            if index in taken or entry.activity_id != rule.activity_id or minutes != rule.length:
                continue
            taken.add(index)
            length = minutes // INTERVAL
            offsets = [o // INTERVAL for o in rule.offsets() if o % INTERVAL == 0]
            latest = min(max(offsets, default=-1), size - length)
            matched.append(
                MovableBreak(
                    activity_id=rule.activity_id,
                    length=length,
                    position=int((entry.start - start) / STEP),
                    earliest=max(0, min(offsets, default=0)),
                    latest=latest,
                )
            )
            break
    return matched


def _on_grid(moment: datetime) -> bool:
    return moment.second == 0 and moment.microsecond == 0 and moment.minute % INTERVAL == 0
