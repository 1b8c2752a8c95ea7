"""Planning units, skills, contracts, employees and their dated assignments.

An employee's contract, skills, planning unit and shift sequence each hold for a
validity period (``valid_from`` to ``valid_to``, both inclusive; an open end is
None), so that a mass update can change them from a date on without rewriting
history.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from wfm.model.activities import Skill
from wfm.model.base import Base

if TYPE_CHECKING:
    from wfm.model.planning import ShiftSequence


class PlanningUnit(Base):
    """A team planned together (e.g. "Customer Service"): requirements belong to it."""

    __tablename__ = "wfm_planning_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Contract(Base):
    """Working-time rules: weekly hours, the rest an employee is owed, and limits per period.

    The weekly rules are what the week optimizer plans to. The run lengths, the
    weekends and the minutes per planning period (and the per-day-model maxima in
    ``ContractDayModelLimit``) are the rules of rostering over a whole planning
    period, as in the Curtois & Qu benchmark; a unit with a ``PlanningPeriod`` is
    optimized to them.
    """

    __tablename__ = "wfm_contracts"
    __table_args__ = (
        CheckConstraint(
            "hours_min <= hours_target AND hours_target <= hours_max", name="hours_ordered"
        ),
        CheckConstraint("min_days_off_per_week BETWEEN 0 AND 7", name="days_off_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    hours_min: Mapped[float] = mapped_column(Float)
    hours_target: Mapped[float] = mapped_column(Float)
    hours_max: Mapped[float] = mapped_column(Float)
    max_consecutive_work_days: Mapped[int] = mapped_column(Integer)
    min_rest_hours: Mapped[float] = mapped_column(Float)
    min_days_off_per_week: Mapped[int] = mapped_column(Integer)
    #: The shortest run of working days, and of days off, between two of the other
    #: kind (runs touching either end of a planning period are exempt).
    min_consecutive_work_days: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    min_consecutive_days_off: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: The most weekends worked (Saturday or Sunday) in a planning period; None: any.
    max_weekends: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)
    #: Paid minutes in a planning period; None: no limit.
    period_minutes_min: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)
    period_minutes_max: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)

    day_model_limits: Mapped[list[ContractDayModelLimit]] = relationship(
        back_populates="contract", cascade="all, delete-orphan"
    )


class ContractDayModelLimit(Base):
    """The most shifts of one day model a contract allows in a planning period (0: never)."""

    __tablename__ = "wfm_contract_day_model_limits"
    __table_args__ = (CheckConstraint("max_per_period >= 0", name="max_not_negative"),)

    contract_id: Mapped[int] = mapped_column(
        ForeignKey("wfm_contracts.id", ondelete="CASCADE"), primary_key=True
    )
    day_model_id: Mapped[int] = mapped_column(ForeignKey("wfm_day_models.id"), primary_key=True)
    max_per_period: Mapped[int] = mapped_column(Integer)

    contract: Mapped[Contract] = relationship(back_populates="day_model_limits")


class PlanningPeriod(Base):
    """The days over which a unit is rostered as a whole, and its contracts' period limits count.

    A unit with a planning period is optimized over the whole period at once (its
    employees' wishes, the cover weights of its requirements and their contracts'
    period rules), instead of week by week.
    """

    __tablename__ = "wfm_planning_periods"
    __table_args__ = (CheckConstraint("days > 0", name="days_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    planning_unit_id: Mapped[int] = mapped_column(
        ForeignKey("wfm_planning_units.id", ondelete="CASCADE"), unique=True
    )
    #: The first day (a Monday: weekends are counted from it).
    start: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)


class Employee(Base):
    """A person who can be scheduled."""

    __tablename__ = "wfm_employees"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))

    contracts: Mapped[list[EmployeeContract]] = relationship(
        back_populates="employee", cascade="all, delete-orphan"
    )
    skills: Mapped[list[EmployeeSkill]] = relationship(
        back_populates="employee", cascade="all, delete-orphan"
    )
    planning_units: Mapped[list[EmployeePlanningUnit]] = relationship(
        back_populates="employee", cascade="all, delete-orphan"
    )
    shift_sequences: Mapped[list[EmployeeShiftSequence]] = relationship(
        back_populates="employee", cascade="all, delete-orphan"
    )

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def __repr__(self) -> str:
        return f"Employee({self.number!r}, {self.name!r})"


class Validity:
    """Columns of a dated assignment: which employee, from when, until when."""

    employee_id: Mapped[int] = mapped_column(
        ForeignKey("wfm_employees.id", ondelete="CASCADE"), index=True
    )
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[CheckConstraint, ...]:
        return (
            CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="period_ordered"),
        )

    def valid_on(self, day: date) -> bool:
        """True if the assignment holds on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class EmployeeContract(Validity, Base):
    """The employee works under this contract during the period (one at a time)."""

    __tablename__ = "wfm_employee_contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("wfm_contracts.id"))

    employee: Mapped[Employee] = relationship(back_populates="contracts")
    contract: Mapped[Contract] = relationship()


class EmployeeSkill(Validity, Base):
    """The employee has this skill at ``level`` percent during the period."""

    __tablename__ = "wfm_employee_skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("wfm_skills.id"))
    level: Mapped[int] = mapped_column(Integer, default=100)

    employee: Mapped[Employee] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship()


class EmployeePlanningUnit(Validity, Base):
    """The employee belongs to this planning unit during the period (one at a time)."""

    __tablename__ = "wfm_employee_planning_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    planning_unit_id: Mapped[int] = mapped_column(ForeignKey("wfm_planning_units.id"))

    employee: Mapped[Employee] = relationship(back_populates="planning_units")
    planning_unit: Mapped[PlanningUnit] = relationship()


class EmployeeShiftSequence(Validity, Base):
    """The employee follows row ``row`` of this shift sequence during the period."""

    __tablename__ = "wfm_employee_shift_sequences"

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_sequence_id: Mapped[int] = mapped_column(ForeignKey("wfm_shift_sequences.id"))
    row: Mapped[int] = mapped_column(Integer, default=0)

    employee: Mapped[Employee] = relationship(back_populates="shift_sequences")
    shift_sequence: Mapped[ShiftSequence] = relationship()


class EmployeeWish(Base):
    """An employee's wish to work (or not to work) a day model on a day, and its weight.

    The period optimizer counts ``weight`` for each wish it does not grant; the
    Schedule page shows the wishes beside the shifts, granted or not.
    """

    __tablename__ = "wfm_employee_wishes"
    __table_args__ = (
        CheckConstraint("weight >= 0", name="weight_not_negative"),
        Index("ix_wfm_employee_wishes_employee_day", "employee_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("wfm_employees.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    day_model_id: Mapped[int] = mapped_column(ForeignKey("wfm_day_models.id"))
    #: True: wishes to work that day model on that day; False: wishes not to.
    wanted: Mapped[bool] = mapped_column(Boolean)
    weight: Mapped[int] = mapped_column(Integer)
