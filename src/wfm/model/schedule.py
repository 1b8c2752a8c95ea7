"""Levels, schedule entries and staff requirements.

A level is one layer of a planning unit's schedule: 1000 Schedule, 3000 Actual,
8000-8002 Version 1-3. Each holds entries (employee, start, end, activity);
an entry belongs to the day its shift starts on, and a full-day entry (an
absence, say) runs from that day's midnight to the next. Staff requirements say
how many people each activity needs in each 15-minute interval.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

from sqlalchemy import Date, DateTime, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wfm.model.activities import Activity
from wfm.model.base import Base
from wfm.model.organisation import Employee


class LevelNumber(enum.IntEnum):
    """The levels DESIGN.md fixes; the table holds exactly these."""

    SCHEDULE = 1000
    ACTUAL = 3000
    VERSION_1 = 8000
    VERSION_2 = 8001
    VERSION_3 = 8002


LEVEL_NAMES = {
    LevelNumber.SCHEDULE: "Schedule",
    LevelNumber.ACTUAL: "Actual",
    LevelNumber.VERSION_1: "Version 1",
    LevelNumber.VERSION_2: "Version 2",
    LevelNumber.VERSION_3: "Version 3",
}


class Level(Base):
    """A layer of the schedule, identified by its number."""

    __tablename__ = "wfm_levels"

    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(50))


class ScheduleEntry(Base):
    """An employee does an activity from ``start`` to ``end`` in a level."""

    __tablename__ = "wfm_schedule_entries"
    __table_args__ = (
        Index("ix_wfm_schedule_entries_level_day", "level", "day"),
        Index("ix_wfm_schedule_entries_level_employee_day", "level", "employee_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[int] = mapped_column(ForeignKey("wfm_levels.number"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("wfm_employees.id", ondelete="CASCADE"))
    #: The day the entry's shift belongs to (the day it starts on).
    day: Mapped[date] = mapped_column(Date)
    start: Mapped[datetime] = mapped_column(DateTime)
    end: Mapped[datetime] = mapped_column(DateTime)
    activity_id: Mapped[int] = mapped_column(ForeignKey("wfm_activities.id"))
    #: The day model the entry's shift was made from, if any (job optimization needs
    #: its break corridors).
    day_model_id: Mapped[int | None] = mapped_column(ForeignKey("wfm_day_models.id"), nullable=True)

    employee: Mapped[Employee] = relationship()
    activity: Mapped[Activity] = relationship()

    @property
    def full_day(self) -> bool:
        """True for an entry covering its whole day, midnight to midnight."""
        midnight = datetime.combine(self.day, datetime.min.time())
        return self.start == midnight and self.end == midnight + timedelta(days=1)

    def __repr__(self) -> str:
        return (
            f"ScheduleEntry(level={self.level}, employee={self.employee_id}, "
            f"{self.start:%Y-%m-%d %H:%M}-{self.end:%H:%M}, activity={self.activity_id})"
        )


class StaffRequirement(Base):
    """How many people an activity needs in one 15-minute interval of a planning unit."""

    __tablename__ = "wfm_staff_requirements"
    __table_args__ = (UniqueConstraint("planning_unit_id", "activity_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    planning_unit_id: Mapped[int] = mapped_column(
        ForeignKey("wfm_planning_units.id", ondelete="CASCADE")
    )
    activity_id: Mapped[int] = mapped_column(ForeignKey("wfm_activities.id"))
    start: Mapped[datetime] = mapped_column(DateTime)
    required: Mapped[float] = mapped_column(Float)
    #: Cost per person short of / beyond ``required``, for the period optimizer;
    #: None: its defaults.
    under_weight: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)
    over_weight: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)
