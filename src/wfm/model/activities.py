"""Activities and the skills they ask for: what an employee does, and how it counts.

The flags decide how scheduling treats an activity: *Paid* time counts toward
contract hours, *Plannable* activities may be placed by the scheduler, and
*Replaceable* ones (back office, say) may give way to plannable activities that
have staff requirements. A higher *priority* is served first when several
activities are short of staff.
"""

from __future__ import annotations

import enum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wfm.model.base import Base


class Skill(Base):
    """Something an employee can do at a level in percent (e.g. Phone at 80 %)."""

    __tablename__ = "wfm_skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class ActivityType(enum.StrEnum):
    """The kinds of activity DESIGN.md names."""

    PRESENCE = "presence"
    BREAK = "break"
    ILLNESS = "illness"
    VACATION = "vacation"
    ABSENCE = "absence"
    MEETING = "meeting"

    @property
    def is_absence(self) -> bool:
        """Illness, vacation and other absences: the employee is not at work."""
        return self in {ActivityType.ILLNESS, ActivityType.VACATION, ActivityType.ABSENCE}


def enum_column(enum_class: type[enum.Enum]) -> Enum:
    """A portable enum column storing the members' values (no native PostgreSQL type)."""
    return Enum(
        enum_class,
        native_enum=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Activity(Base):
    """Phone, Email, Break, Vacation…: the building blocks of a schedule."""

    __tablename__ = "wfm_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[ActivityType] = mapped_column(enum_column(ActivityType))
    paid: Mapped[bool] = mapped_column(Boolean, default=True)
    plannable: Mapped[bool] = mapped_column(Boolean, default=True)
    replaceable: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    #: The skill an employee needs to do this activity (None: anyone may).
    skill_id: Mapped[int | None] = mapped_column(ForeignKey("wfm_skills.id"), nullable=True)
    color: Mapped[str] = mapped_column(String(7), default="#888888")

    skill: Mapped[Skill | None] = relationship()

    def __repr__(self) -> str:
        return f"Activity({self.code!r})"
