"""Mass update of employees' dated assignments: add, delete or replace one for a period.

Contracts, planning units and shift sequences are exclusive (one at a time), so an
added one cuts the others out of its period; skills are not (several at once),
so an added skill only cuts the same skill. Deleting cuts the assignment out of
the period (an assignment that spans it is split in two); replacing deletes the
old value from the period and gives the new one for the days the old one held.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from wfm.errors import WfmError
from wfm.model import (
    Contract,
    Employee,
    EmployeeContract,
    EmployeePlanningUnit,
    EmployeeShiftSequence,
    EmployeeSkill,
    PlanningUnit,
    ShiftSequence,
    Skill,
)
from wfm.validity import Period, intersect, subtract

Assignment = EmployeeContract | EmployeeSkill | EmployeePlanningUnit | EmployeeShiftSequence


class Kind(enum.StrEnum):
    CONTRACT = "contract"
    SKILL = "skill"
    PLANNING_UNIT = "planning_unit"
    SHIFT_SEQUENCE = "shift_sequence"


class Action(enum.StrEnum):
    ADD = "add"
    DELETE = "delete"
    REPLACE = "replace"


@dataclass(frozen=True)
class _KindInfo:
    target: type[Any]
    attribute: str  # the employee's list of assignments
    column: str  # the assignment's column naming the value
    exclusive: bool


KINDS = {
    Kind.CONTRACT: _KindInfo(Contract, "contracts", "contract_id", True),
    Kind.SKILL: _KindInfo(Skill, "skills", "skill_id", False),
    Kind.PLANNING_UNIT: _KindInfo(PlanningUnit, "planning_units", "planning_unit_id", True),
    Kind.SHIFT_SEQUENCE: _KindInfo(ShiftSequence, "shift_sequences", "shift_sequence_id", True),
}
FACTORIES: dict[Kind, Callable[..., Assignment]] = {
    Kind.CONTRACT: EmployeeContract,
    Kind.SKILL: EmployeeSkill,
    Kind.PLANNING_UNIT: EmployeePlanningUnit,
    Kind.SHIFT_SEQUENCE: EmployeeShiftSequence,
}


@dataclass(frozen=True)
class Change:
    """One mass update: the action, what kind of assignment, which values, when."""

    action: Action
    kind: Kind
    value: int
    period: Period
    new_value: int | None = None
    level: int | None = None  # skills: level in percent
    row: int | None = None  # shift sequences: the row to follow


def check_values(session: Session, change: Change) -> None:
    """The value (and new value) must exist; raises WfmError naming the field."""
    info = KINDS[change.kind]
    for field, value in (("value", change.value), ("new_value", change.new_value)):
        if value is not None and session.get(info.target, value) is None:
            raise WfmError(f"{field}: {change.kind.value.replace('_', ' ')} {value} does not exist")


def apply(session: Session, employee: Employee, change: Change) -> bool:
    """Apply the change to one employee; False if there was nothing to delete or replace."""
    info = KINDS[change.kind]
    held: list[Assignment] = getattr(employee, info.attribute)
    if change.action is Action.ADD:
        conflicting = [a for a in held if info.exclusive or getattr(a, info.column) == change.value]
        _cut(session, employee, held, conflicting, change.period, info)
        held.append(_new(change, change.value, change.period, None))
        return True
    matching = [a for a in held if getattr(a, info.column) == change.value]
    touched = [a for a in matching if intersect(_period(a), change.period) is not None]
    if not touched:
        return False
    replaced = [(intersect(_period(a), change.period), a) for a in touched]
    _cut(session, employee, held, touched, change.period, info)
    if change.action is Action.REPLACE:
        assert change.new_value is not None
        for common, old in replaced:
            assert common is not None
            held.append(_new(change, change.new_value, common, old))
    return True


def _period(assignment: Assignment) -> Period:
    return Period(assignment.valid_from, assignment.valid_to)


def _cut(
    session: Session,
    employee: Employee,
    held: list[Assignment],
    assignments: list[Assignment],
    period: Period,
    info: _KindInfo,
) -> None:
    """Remove ``period`` from each assignment, splitting one that spans it."""
    for assignment in assignments:
        remaining = subtract(_period(assignment), period)
        if len(remaining) == 1 and remaining[0] == _period(assignment):
            continue
        held.remove(assignment)
        session.delete(assignment)
        for part in remaining:
            copy = _clone(assignment, part)
            held.append(copy)


def _clone(assignment: Assignment, part: Period) -> Assignment:
    columns = {
        c.key: getattr(assignment, c.key)
        for c in assignment.__table__.columns
        if c.key not in {"id", "employee_id", "valid_from", "valid_to"}
    }
    return type(assignment)(**columns, valid_from=part.start, valid_to=part.end)


def _new(change: Change, value: int, period: Period, old: Assignment | None) -> Assignment:
    info = KINDS[change.kind]
    extra: dict[str, Any] = {}
    if change.kind is Kind.SKILL:
        extra["level"] = change.level or (old.level if isinstance(old, EmployeeSkill) else 100)
    if change.kind is Kind.SHIFT_SEQUENCE:
        row = change.row if change.row is not None else None
        extra["row"] = (
            row if row is not None else (old.row if isinstance(old, EmployeeShiftSequence) else 0)
        )
    return FACTORIES[change.kind](
        **{info.column: value}, valid_from=period.start, valid_to=period.end, **extra
    )


def describe(assignments: list[Assignment], column: str) -> list[tuple[int, date, date | None]]:
    """(value, from, to) of assignments, sorted: what tests and reports compare."""
    return sorted((getattr(a, column), a.valid_from, a.valid_to) for a in assignments)
