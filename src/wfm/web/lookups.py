"""What the pages offer to choose from, read from the WFM data in one short transaction.

Forms fill their selects from here (levels, planning units, employees, activities,
contracts, skills, shift sequences), and date fields start at a week the data covers,
so that a first try on the demo shows something.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, func, select

from wfm.activities import ActivityInfo
from wfm.calendar import monday_of
from wfm.db import read_session
from wfm.model import (
    Activity,
    Contract,
    Employee,
    Level,
    PlanningUnit,
    ShiftSequence,
    Skill,
    StaffRequirement,
)


@dataclass(frozen=True)
class Named:
    """A row of the data by its id and the name people know it by."""

    id: int
    name: str


@dataclass(frozen=True)
class Lookups:
    """The WFM data the pages' selects and first values come from."""

    levels: list[Named]
    planning_units: list[Named]
    employees: list[Named]
    activities: list[ActivityInfo]
    contracts: list[Named]
    skills: list[Named]
    sequences: list[Named]
    #: The first and last day that have staff requirements (None without data).
    first_day: date | None
    last_day: date | None

    def week(self, today: date | None = None) -> date:
        """This week's Monday if the data covers it, else the data's first Monday."""
        monday = monday_of(today or date.today())
        if self.first_day is None or self.last_day is None:
            return monday
        if monday_of(self.first_day) <= monday <= self.last_day:
            return monday
        return monday_of(self.first_day)

    def week_end(self, today: date | None = None) -> date:
        return self.week(today) + timedelta(days=6)


def load_lookups(engine: Engine) -> Lookups:
    """Read the choices (a few hundred rows at most: no paging needed)."""
    with read_session(engine) as session:
        first, last = session.execute(
            select(func.min(StaffRequirement.start), func.max(StaffRequirement.start))
        ).one()
        return Lookups(
            levels=[
                Named(lv.number, lv.name)
                for lv in session.scalars(select(Level).order_by(Level.number))
            ],
            planning_units=[
                Named(u.id, u.name)
                for u in session.scalars(select(PlanningUnit).order_by(PlanningUnit.name))
            ],
            employees=[
                Named(e.id, f"{e.number} {e.name}")
                for e in session.scalars(select(Employee).order_by(Employee.number))
            ],
            activities=[
                ActivityInfo.from_model(a)
                for a in session.scalars(select(Activity).order_by(Activity.name))
            ],
            contracts=[
                Named(c.id, c.name)
                for c in session.scalars(select(Contract).order_by(Contract.name))
            ],
            skills=[
                Named(s.id, s.name) for s in session.scalars(select(Skill).order_by(Skill.name))
            ],
            sequences=[
                Named(s.id, s.name)
                for s in session.scalars(select(ShiftSequence).order_by(ShiftSequence.name))
            ],
            first_day=first.date() if first is not None else None,
            last_day=last.date() if last is not None else None,
        )
