"""A planning unit's data for a date range, read once and detached from the database.

Jobs read what they need in one short read transaction, then work (solve, compute
a report) with no session open, then write in one transaction. Each employee's
dated assignments are resolved per day here, once, so that the rest of the code
asks simple questions: is this employee in the unit on that day, under which
contract, with which skills, following which row of which shift sequence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from wfm.activities import ActivityInfo
from wfm.calendar import days, midnight
from wfm.errors import WfmError
from wfm.levels import as_placed, select_entries
from wfm.model import (
    Activity,
    Contract,
    DayModel,
    Employee,
    EmployeePlanningUnit,
    EmployeeWish,
    Level,
    PlanningUnit,
    StaffRequirement,
)
from wfm.shifts import Placed, ShiftTemplate


@dataclass(frozen=True, slots=True)
class ContractRules:
    """A contract's rules in minutes, as the scheduler and the rule check use them."""

    id: int
    name: str
    min_minutes: int
    target_minutes: int
    max_minutes: int
    max_consecutive_days: int
    min_rest_minutes: int
    min_days_off: int

    @classmethod
    def from_model(cls, contract: Contract) -> ContractRules:
        return cls(
            id=contract.id,
            name=contract.name,
            min_minutes=round(contract.hours_min * 60),
            target_minutes=round(contract.hours_target * 60),
            max_minutes=round(contract.hours_max * 60),
            max_consecutive_days=contract.max_consecutive_work_days,
            min_rest_minutes=round(contract.min_rest_hours * 60),
            min_days_off=contract.min_days_off_per_week,
        )

    @property
    def absence_credit_minutes(self) -> int:
        """What a paid full-day absence counts toward the week: target / working days."""
        return self.target_minutes // max(1, 7 - self.min_days_off)


@dataclass(slots=True)
class EmployeeDays:
    """One employee's assignments resolved day by day over the snapshot's range."""

    id: int
    number: str
    name: str
    in_unit: set[date] = field(default_factory=set)
    contract: dict[date, ContractRules] = field(default_factory=dict)
    skills: dict[date, dict[int, int]] = field(default_factory=dict)
    sequence: dict[date, tuple[int, int]] = field(default_factory=dict)

    def skill_level(self, day: date, skill_id: int | None) -> int:
        """The employee's level in percent on ``day`` (100 if no skill is needed)."""
        if skill_id is None:
            return 100
        return self.skills.get(day, {}).get(skill_id, 0)


@dataclass(frozen=True, slots=True)
class Wish:
    """An employee's wish to work (``wanted``) or not to work a day model on a day."""

    employee_id: int
    day: date
    day_model_id: int
    day_model_name: str
    wanted: bool
    weight: int

    def granted(self, entries: Iterable[Placed]) -> bool:
        """True if the employee's entries of the day (``entries``) grant the wish."""
        worked = any(e.day_model_id == self.day_model_id for e in entries)
        return worked == self.wanted


@dataclass(slots=True)
class Snapshot:
    """Everything a job needs about one planning unit over ``start``..``end``."""

    planning_unit_id: int
    planning_unit_name: str
    start: date
    end: date
    employees: list[EmployeeDays]
    activities: dict[int, ActivityInfo]
    templates: dict[int, ShiftTemplate]
    #: activity id → interval start → people required.
    requirements: dict[int, dict[datetime, float]]
    #: Entries of the loaded level, from ``start`` less the lookback days to ``end``.
    entries: list[Placed]
    #: The employees' wishes from ``start`` to ``end``.
    wishes: list[Wish] = field(default_factory=list)

    @property
    def employee_ids(self) -> list[int]:
        return [e.id for e in self.employees]

    def employee(self, employee_id: int) -> EmployeeDays:
        for employee in self.employees:
            if employee.id == employee_id:
                return employee
        raise KeyError(employee_id)


def check_level(session: Session, number: int) -> Level:
    """The level with this number, or a WfmError saying which levels exist."""
    level = session.get(Level, number)
    if level is None:
        known = ", ".join(f"{lv.number} {lv.name}" for lv in session.scalars(select(Level)))
        raise WfmError(f"level {number} does not exist; the levels are: {known}")
    return level


def check_planning_unit(session: Session, planning_unit_id: int) -> PlanningUnit:
    unit = session.get(PlanningUnit, planning_unit_id)
    if unit is None:
        known = ", ".join(f"{u.id} {u.name}" for u in session.scalars(select(PlanningUnit)))
        raise WfmError(
            f"planning unit {planning_unit_id} does not exist; the planning units are: "
            f"{known or 'none (seed the demo data first)'}"
        )
    return unit


def check_activity(session: Session, activity_id: int, field_name: str) -> Activity:
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise WfmError(f"{field_name}: activity {activity_id} does not exist")
    return activity


def load_snapshot(
    session: Session,
    planning_unit_id: int,
    start: date,
    end: date,
    *,
    employee_ids: Sequence[int] | None = None,
    level: int | None = None,
    lookback_days: int = 0,
) -> Snapshot:
    """Read a planning unit's data for ``start``..``end``.

    ``employee_ids`` None means every employee in the unit on some day of the range;
    ids that do not exist raise WfmError naming them. ``level`` also loads that
    level's entries (and ``lookback_days`` before ``start``, for rest rules).
    """
    unit = check_planning_unit(session, planning_unit_id)
    if level is not None:
        check_level(session, level)
    members = _members(session, planning_unit_id, start, end)
    if employee_ids is not None:
        wanted = list(dict.fromkeys(employee_ids))
        found = set(session.scalars(select(Employee.id).where(Employee.id.in_(wanted))))
        missing = [i for i in wanted if i not in found]
        if missing:
            raise WfmError(f"employees: {_ids(missing)} do not exist")
        ids = wanted
    else:
        ids = sorted(members)
    employees = _employee_days(session, ids, planning_unit_id, start, end)
    activities = {a.id: ActivityInfo.from_model(a) for a in session.scalars(select(Activity))}
    templates = {
        m.id: ShiftTemplate.from_model(m)
        for m in session.scalars(
            select(DayModel).options(selectinload(DayModel.breaks)).order_by(DayModel.id)
        )
    }
    requirements: dict[int, dict[datetime, float]] = defaultdict(dict)
    rows = session.execute(
        select(StaffRequirement.activity_id, StaffRequirement.start, StaffRequirement.required)
        .where(StaffRequirement.planning_unit_id == planning_unit_id)
        .where(StaffRequirement.start >= midnight(start))
        .where(StaffRequirement.start < midnight(end + timedelta(days=1)))
    )
    for activity_id, moment, required in rows:
        requirements[activity_id][moment] = required
    entries = (
        load_entries(session, level, start - timedelta(days=lookback_days), end, ids)
        if level is not None
        else []
    )
    wishes = [
        Wish(employee_id, day, model_id, name, wanted, weight)
        for employee_id, day, model_id, name, wanted, weight in session.execute(
            select(
                EmployeeWish.employee_id,
                EmployeeWish.day,
                EmployeeWish.day_model_id,
                DayModel.name,
                EmployeeWish.wanted,
                EmployeeWish.weight,
            )
            .join(DayModel, DayModel.id == EmployeeWish.day_model_id)
            .where(EmployeeWish.employee_id.in_(ids))
            .where(EmployeeWish.day >= start, EmployeeWish.day <= end)
            .order_by(EmployeeWish.day, EmployeeWish.id)
        )
    ]
    return Snapshot(
        planning_unit_id=unit.id,
        planning_unit_name=unit.name,
        start=start,
        end=end,
        employees=employees,
        activities=activities,
        templates=templates,
        requirements=dict(requirements),
        entries=entries,
        wishes=wishes,
    )


def select_employees(
    session: Session,
    planning_unit_id: int,
    start: date,
    end: date,
    employee_ids: Sequence[int] | None,
) -> list[int]:
    """The given employees (each must exist), or all of the planning unit in the range."""
    check_planning_unit(session, planning_unit_id)
    if employee_ids is None:
        return sorted(_members(session, planning_unit_id, start, end))
    wanted = list(dict.fromkeys(employee_ids))
    found = set(session.scalars(select(Employee.id).where(Employee.id.in_(wanted))))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise WfmError(f"employees: {_ids(missing)} do not exist")
    return wanted


def load_entries(
    session: Session, level: int, start: date, end: date, employee_ids: Iterable[int] | None
) -> list[Placed]:
    """A level's entries on days ``start``..``end`` (of the employees given), in time order."""
    ids = None if employee_ids is None else list(employee_ids)
    return [as_placed(e) for e in select_entries(session, level, start, end, ids)]


def _members(session: Session, planning_unit_id: int, start: date, end: date) -> set[int]:
    rows = session.scalars(
        select(EmployeePlanningUnit.employee_id)
        .where(EmployeePlanningUnit.planning_unit_id == planning_unit_id)
        .where(EmployeePlanningUnit.valid_from <= end)
        .where((EmployeePlanningUnit.valid_to.is_(None)) | (EmployeePlanningUnit.valid_to >= start))
    )
    return set(rows)


def _employee_days(
    session: Session, ids: list[int], planning_unit_id: int, start: date, end: date
) -> list[EmployeeDays]:
    if not ids:
        return []
    loaded = session.scalars(
        select(Employee)
        .where(Employee.id.in_(ids))
        .options(
            selectinload(Employee.contracts),
            selectinload(Employee.skills),
            selectinload(Employee.planning_units),
            selectinload(Employee.shift_sequences),
        )
    )
    by_id = {e.id: e for e in loaded}
    contracts = {c.id: ContractRules.from_model(c) for c in session.scalars(select(Contract))}
    result = []
    for employee_id in ids:
        employee = by_id[employee_id]
        resolved = EmployeeDays(employee.id, employee.number, employee.name)
        for day in days(start, end):
            if any(
                a.planning_unit_id == planning_unit_id and a.valid_on(day)
                for a in employee.planning_units
            ):
                resolved.in_unit.add(day)
            contract = next((a for a in employee.contracts if a.valid_on(day)), None)
            if contract is not None:
                resolved.contract[day] = contracts[contract.contract_id]
            resolved.skills[day] = {a.skill_id: a.level for a in employee.skills if a.valid_on(day)}
            sequence = next((a for a in employee.shift_sequences if a.valid_on(day)), None)
            if sequence is not None:
                resolved.sequence[day] = (sequence.shift_sequence_id, sequence.row)
        result.append(resolved)
    return result


def _ids(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)
