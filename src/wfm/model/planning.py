"""Day models and shift sequences: the templates schedules are made from.

A day model is a shift template: its base activity, the window in which it may
start, its length and the corridors in which its breaks must lie. A shift
sequence is a repeating pattern (rows x weeks x weekdays) of day models or
full-day activities; an employee follows one row of it from its reference date.
Times of day are minutes after midnight, so that arithmetic stays in integers.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wfm.model.activities import Activity
from wfm.model.base import Base

ALL_WEEKDAYS = "1111111"


class DayModel(Base):
    """A shift template: base activity, start window, length and break corridors."""

    __tablename__ = "wfm_day_models"
    __table_args__ = (
        CheckConstraint("earliest_start <= latest_start", name="start_window"),
        CheckConstraint("length > 0", name="length_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    base_activity_id: Mapped[int] = mapped_column(ForeignKey("wfm_activities.id"))
    #: Minutes after midnight of the earliest and latest start.
    earliest_start: Mapped[int] = mapped_column(Integer)
    latest_start: Mapped[int] = mapped_column(Integer)
    #: Minutes from start to end, breaks included.
    length: Mapped[int] = mapped_column(Integer)
    #: Seven characters, Monday first: "1" where the model may be used (e.g. "1111100").
    weekdays: Mapped[str] = mapped_column(String(7), default=ALL_WEEKDAYS)

    base_activity: Mapped[Activity] = relationship()
    breaks: Mapped[list[BreakRule]] = relationship(
        back_populates="day_model", cascade="all, delete-orphan", order_by="BreakRule.position"
    )

    def allowed_on(self, day: date) -> bool:
        """True if this model may be used on the weekday of ``day``."""
        return self.weekdays[day.weekday()] == "1"

    def __repr__(self) -> str:
        return f"DayModel({self.code!r})"


class ForbiddenSuccession(Base):
    """A rest rule: ``next_day_model`` may not be worked the day after ``day_model``."""

    __tablename__ = "wfm_forbidden_successions"

    day_model_id: Mapped[int] = mapped_column(
        ForeignKey("wfm_day_models.id", ondelete="CASCADE"), primary_key=True
    )
    next_day_model_id: Mapped[int] = mapped_column(
        ForeignKey("wfm_day_models.id", ondelete="CASCADE"), primary_key=True
    )


class BreakRule(Base):
    """A break of a day model: its activity, length and the corridor its start lies in.

    The corridor is given in minutes after the shift's start, so it moves with the shift.
    """

    __tablename__ = "wfm_break_rules"
    __table_args__ = (CheckConstraint("earliest_offset <= latest_offset", name="corridor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day_model_id: Mapped[int] = mapped_column(
        ForeignKey("wfm_day_models.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    activity_id: Mapped[int] = mapped_column(ForeignKey("wfm_activities.id"))
    length: Mapped[int] = mapped_column(Integer)
    earliest_offset: Mapped[int] = mapped_column(Integer)
    latest_offset: Mapped[int] = mapped_column(Integer)

    day_model: Mapped[DayModel] = relationship(back_populates="breaks")
    activity: Mapped[Activity] = relationship()


class ShiftSequence(Base):
    """A repeating pattern: week index = (date - reference date) / 7 mod weeks."""

    __tablename__ = "wfm_shift_sequences"
    __table_args__ = (CheckConstraint("weeks >= 1 AND rows >= 1", name="shape"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    weeks: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)
    reference_date: Mapped[date] = mapped_column(Date)

    cells: Mapped[list[ShiftSequenceCell]] = relationship(
        back_populates="sequence", cascade="all, delete-orphan"
    )

    def week_index(self, day: date) -> int:
        """Which week of the pattern ``day`` falls in."""
        return ((day - self.reference_date).days // 7) % self.weeks


class ShiftSequenceCell(Base):
    """One day of a shift sequence: a day model (at a start time) or a full-day activity.

    A day with no cell is a day off.
    """

    __tablename__ = "wfm_shift_sequence_cells"
    __table_args__ = (
        CheckConstraint(
            "(day_model_id IS NULL) <> (activity_id IS NULL)", name="day_model_or_activity"
        ),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_sequence_id: Mapped[int] = mapped_column(
        ForeignKey("wfm_shift_sequences.id", ondelete="CASCADE"), index=True
    )
    row: Mapped[int] = mapped_column(Integer)
    week: Mapped[int] = mapped_column(Integer)
    #: 0 is Monday.
    weekday: Mapped[int] = mapped_column(Integer)
    day_model_id: Mapped[int | None] = mapped_column(ForeignKey("wfm_day_models.id"), nullable=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("wfm_activities.id"), nullable=True)
    #: Start in minutes after midnight; None: the day model's earliest start.
    start: Mapped[int | None] = mapped_column(Integer, nullable=True)

    sequence: Mapped[ShiftSequence] = relationship(back_populates="cells")
    day_model: Mapped[DayModel | None] = relationship()
    activity: Mapped[Activity | None] = relationship()
