"""Unrolling shift sequences into entries: each employee's row, week after week.

The week of the pattern for a date is ``(date - reference date) // 7 mod weeks``;
a cell holds a day model (at its own start, or the model's earliest start) or a
full-day activity; a day without a cell is a day off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from wfm.calendar import days
from wfm.model import ShiftSequence
from wfm.shifts import Placed, full_day_entry, shift_entries
from wfm.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Cell:
    day_model_id: int | None
    activity_id: int | None
    start: int | None


@dataclass(frozen=True, slots=True)
class Sequence:
    """A shift sequence, detached from the database."""

    id: int
    name: str
    weeks: int
    rows: int
    reference_date: date
    cells: dict[tuple[int, int, int], Cell]

    def cell(self, row: int, day: date) -> Cell | None:
        week = ((day - self.reference_date).days // 7) % self.weeks
        return self.cells.get((row % self.rows, week, day.weekday()))


def load_sequences(session: Session) -> dict[int, Sequence]:
    result = {}
    for sequence in session.scalars(
        select(ShiftSequence).options(selectinload(ShiftSequence.cells))
    ):
        result[sequence.id] = Sequence(
            id=sequence.id,
            name=sequence.name,
            weeks=sequence.weeks,
            rows=sequence.rows,
            reference_date=sequence.reference_date,
            cells={
                (c.row, c.week, c.weekday): Cell(c.day_model_id, c.activity_id, c.start)
                for c in sequence.cells
            },
        )
    return result


def planned_days(
    snapshot: Snapshot, sequences: dict[int, Sequence]
) -> dict[tuple[int, date], list[Placed]]:
    """(employee, day) → the entries the employee's sequence gives that day.

    Only days on which the employee is in the planning unit and follows a sequence
    appear; a day off appears with no entries.
    """
    planned: dict[tuple[int, date], list[Placed]] = {}
    for employee in snapshot.employees:
        for day in days(snapshot.start, snapshot.end):
            assigned = employee.sequence.get(day)
            if day not in employee.in_unit or assigned is None:
                continue
            sequence_id, row = assigned
            cell = sequences[sequence_id].cell(row, day)
            if cell is None:
                planned[(employee.id, day)] = []
            elif cell.day_model_id is not None:
                template = snapshot.templates[cell.day_model_id]
                start = template.earliest_start if cell.start is None else cell.start
                planned[(employee.id, day)] = shift_entries(employee.id, day, template, start)
            else:
                assert cell.activity_id is not None
                planned[(employee.id, day)] = [full_day_entry(employee.id, day, cell.activity_id)]
    return planned
