"""A planning unit rostered over its planning period, read from the WFM model as an instance.

The period optimizer (``wfm.benchmark.search``) works on the benchmark's ``Instance``;
this module builds one from the model (the unit's ``PlanningPeriod``, its employees'
contracts with their period rules, the day models those contracts limit with their
forbidden successions, the days off in the Schedule level, the wishes and the cover
with its weights) and writes a roster back as Schedule entries. A unit imported by
``wfm.benchmark.importing`` reads back as the very instance it was made from, so the
optimizer's objective is the benchmark's; a unit built by hand with a planning period
is optimized to the same rules.

Ids within the instance are the employee numbers and day model codes without the
``<unit id>.`` the import puts in front of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, selectinload

from wfm.benchmark.instance import Cover, Instance, Request, Shift, Staff
from wfm.calendar import at_minute
from wfm.db import read_session, write_session
from wfm.errors import WfmError
from wfm.levels import insert_entries
from wfm.model import (
    Activity,
    ActivityType,
    BenchmarkInstance,
    Contract,
    ContractDayModelLimit,
    DayModel,
    Employee,
    EmployeeContract,
    EmployeeWish,
    ForbiddenSuccession,
    LevelNumber,
    PlanningPeriod,
    ScheduleEntry,
    StaffRequirement,
)
from wfm.shifts import Placed
from wfm.snapshot import select_employees

Roster = dict[str, list[str]]
#: Cost per person short of or beyond a requirement without weights (the benchmark's).
UNDER_WEIGHT = 100
OVER_WEIGHT = 1
LEVEL = LevelNumber.SCHEDULE.value


@dataclass(frozen=True, slots=True)
class ShiftModel:
    """A day model as the roster uses it."""

    id: int
    activity_id: int
    start: int
    length: int


@dataclass(frozen=True, slots=True)
class PeriodUnit:
    """A unit's instance, and where its ids point in the WFM model."""

    planning_unit_id: int
    start: date
    instance: Instance
    #: Staff id of the instance → employee id.
    employees: Mapping[str, int]
    #: Shift id of the instance → its day model.
    shifts: Mapping[str, ShiftModel]

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.instance.days - 1)


def load_period_unit(engine: Engine, planning_unit_id: int) -> PeriodUnit | None:
    """The unit's instance, or None for a unit planned week by week (no planning period)."""
    with read_session(engine) as session:
        period = session.scalars(
            select(PlanningPeriod).where(PlanningPeriod.planning_unit_id == planning_unit_id)
        ).one_or_none()
        if period is None:
            if session.scalar(
                select(BenchmarkInstance.id).where(
                    BenchmarkInstance.planning_unit_id == planning_unit_id
                )
            ):
                raise WfmError(
                    f"planning unit {planning_unit_id} was imported before benchmark units "
                    "had a planning period: import the instance again"
                )
            return None
        return _read(session, period)


def _read(session: Session, period: PlanningPeriod) -> PeriodUnit:
    unit_id, start, days = period.planning_unit_id, period.start, period.days
    if start.weekday() != 0 or days % 7:
        # Weekends are counted from day 0 as a Monday, over whole weeks.
        raise WfmError(
            f"planning unit {unit_id}: its planning period must start on a Monday and "
            f"last whole weeks (it starts on {start:%A} {start} and lasts {days} days)"
        )
    end = start + timedelta(days=days - 1)
    prefix = f"{unit_id}."
    members = select_employees(session, unit_id, start, end, None)
    employees = list(
        session.scalars(
            select(Employee)
            .where(Employee.id.in_(members))
            .options(selectinload(Employee.contracts).selectinload(EmployeeContract.contract))
            .order_by(Employee.id)
        )
    )
    if not employees:
        raise WfmError(f"planning unit {unit_id} has no employees in its planning period")
    contracts = {e.id: _contract_on(e, start) for e in employees}
    limits = list(
        session.scalars(
            select(ContractDayModelLimit).where(
                ContractDayModelLimit.contract_id.in_({c.id for c in contracts.values()})
            )
        )
    )
    models = list(
        session.scalars(
            select(DayModel)
            .where(DayModel.id.in_({lim.day_model_id for lim in limits}))
            .order_by(DayModel.id)
        )
    )
    if not models:
        raise WfmError(
            f"planning unit {unit_id}: its contracts limit no day model per period, "
            "so no shift can be planned"
        )
    shift_of = {m.id: _strip(m.code, prefix) for m in models}
    staff_of = {e.id: _strip(e.number, prefix) for e in employees}
    successions = session.execute(
        select(ForbiddenSuccession.day_model_id, ForbiddenSuccession.next_day_model_id).where(
            ForbiddenSuccession.day_model_id.in_(shift_of)
        )
    )
    cannot_follow: dict[int, set[str]] = defaultdict(set)
    for first, following in successions:
        if following in shift_of:
            cannot_follow[first].add(shift_of[following])
    shifts = tuple(Shift(shift_of[m.id], m.length, frozenset(cannot_follow[m.id])) for m in models)
    weeks = days // 7
    by_contract: dict[int, dict[str, int]] = defaultdict(dict)
    for lim in limits:
        by_contract[lim.contract_id][shift_of[lim.day_model_id]] = lim.max_per_period
    staff = tuple(
        _staff(
            staff_of[e.id], contracts[e.id], by_contract[contracts[e.id].id], shifts, days, weeks
        )
        for e in employees
    )
    ids = list(staff_of)
    instance = Instance(
        days=days,
        shifts=shifts,
        staff=staff,
        days_off=MappingProxyType(_days_off(session, ids, staff_of, start, end)),
        on_requests=_wishes(session, ids, staff_of, shift_of, start, end, wanted=True),
        off_requests=_wishes(session, ids, staff_of, shift_of, start, end, wanted=False),
        cover=_cover(session, unit_id, models, shift_of, start, days),
    )
    return PeriodUnit(
        planning_unit_id=unit_id,
        start=start,
        instance=instance,
        employees=MappingProxyType({name: employee for employee, name in staff_of.items()}),
        shifts=MappingProxyType(
            {
                shift_of[m.id]: ShiftModel(m.id, m.base_activity_id, m.earliest_start, m.length)
                for m in models
            }
        ),
    )


def _strip(value: str, prefix: str) -> str:
    return value[len(prefix) :] if value.startswith(prefix) else value


def _contract_on(employee: Employee, day: date) -> Contract:
    assignment = next((a for a in employee.contracts if a.valid_on(day)), None)
    if assignment is None:
        raise WfmError(f"employee {employee.number} has no contract on {day}")
    return assignment.contract


def _staff(
    staff_id: str,
    contract: Contract,
    limits: dict[str, int],
    shifts: tuple[Shift, ...],
    days: int,
    weeks: int,
) -> Staff:
    return Staff(
        id=staff_id,
        # A day model the contract does not limit may be worked every day.
        max_shifts=MappingProxyType({s.id: limits.get(s.id, days) for s in shifts}),
        max_total_minutes=(
            contract.period_minutes_max
            if contract.period_minutes_max is not None
            else days * 24 * 60
        ),
        min_total_minutes=contract.period_minutes_min or 0,
        max_consecutive_shifts=contract.max_consecutive_work_days,
        min_consecutive_shifts=contract.min_consecutive_work_days,
        min_consecutive_days_off=contract.min_consecutive_days_off,
        max_weekends=contract.max_weekends if contract.max_weekends is not None else weeks,
    )


def _days_off(
    session: Session, ids: list[int], staff_of: dict[int, str], start: date, end: date
) -> dict[str, frozenset[int]]:
    """Days with a full-day absence in the Schedule level: the employee cannot work them."""
    rows = session.execute(
        select(ScheduleEntry.employee_id, ScheduleEntry.day)
        .join(Activity, Activity.id == ScheduleEntry.activity_id)
        .where(ScheduleEntry.level == LEVEL)
        .where(ScheduleEntry.employee_id.in_(ids))
        .where(ScheduleEntry.day >= start, ScheduleEntry.day <= end)
        .where(ScheduleEntry.day_model_id.is_(None))
        .where(Activity.type.in_([t for t in ActivityType if t.is_absence]))
    )
    off: dict[str, set[int]] = defaultdict(set)
    for employee_id, day in rows:
        off[staff_of[employee_id]].add((day - start).days)
    return {staff_of[i]: frozenset(off[staff_of[i]]) for i in ids if staff_of[i] in off}


def _wishes(
    session: Session,
    ids: list[int],
    staff_of: dict[int, str],
    shift_of: dict[int, str],
    start: date,
    end: date,
    *,
    wanted: bool,
) -> tuple[Request, ...]:
    rows = session.execute(
        select(
            EmployeeWish.employee_id,
            EmployeeWish.day,
            EmployeeWish.day_model_id,
            EmployeeWish.weight,
        )
        .where(EmployeeWish.employee_id.in_(ids))
        .where(EmployeeWish.day >= start, EmployeeWish.day <= end)
        .where(EmployeeWish.wanted.is_(wanted))
        .order_by(EmployeeWish.id)
    )
    return tuple(
        Request(staff_of[employee_id], (day - start).days, shift_of[model_id], weight)
        for employee_id, day, model_id, weight in rows
        if model_id in shift_of
    )


def _cover(
    session: Session,
    unit_id: int,
    models: list[DayModel],
    shift_of: dict[int, str],
    start: date,
    days: int,
) -> tuple[Cover, ...]:
    """The requirement of each day model's activity at its start, day by day."""
    rows = session.execute(
        select(
            StaffRequirement.activity_id,
            StaffRequirement.start,
            StaffRequirement.required,
            StaffRequirement.under_weight,
            StaffRequirement.over_weight,
        )
        .where(StaffRequirement.planning_unit_id == unit_id)
        .where(StaffRequirement.activity_id.in_({m.base_activity_id for m in models}))
        .where(StaffRequirement.start >= at_minute(start, 0))
        .where(StaffRequirement.start < at_minute(start + timedelta(days=days + 1), 0))
    )
    needs: dict[tuple[int, datetime], tuple[float, float | None, float | None]] = {
        (activity, moment): (required, under, over)
        for activity, moment, required, under, over in rows
    }
    cover = []
    for day in range(days):
        for model in models:
            need = needs.get(
                (
                    model.base_activity_id,
                    at_minute(start + timedelta(days=day), model.earliest_start),
                )
            )
            if need is None:
                continue
            required, under, over = need
            cover.append(
                Cover(
                    day=day,
                    shift=shift_of[model.id],
                    requirement=round(required),
                    under_weight=UNDER_WEIGHT if under is None else round(under),
                    over_weight=OVER_WEIGHT if over is None else round(over),
                )
            )
    return tuple(cover)


def save_roster(engine: Engine, unit: PeriodUnit, roster: Roster, objective: int) -> None:
    """Put ``roster`` in the Schedule level in place of the unit's shifts of the period."""
    entries = []
    for staff_id, line in roster.items():
        for index, shift_id in enumerate(line):
            if shift_id:
                model, day = unit.shifts[shift_id], unit.start + timedelta(days=index)
                begin, end = at_minute(day, model.start), at_minute(day, model.start + model.length)
                entries.append(
                    Placed(unit.employees[staff_id], day, begin, end, model.activity_id, model.id)
                )
    with write_session(engine) as session:
        session.execute(
            delete(ScheduleEntry)
            .where(ScheduleEntry.level == LEVEL)
            .where(ScheduleEntry.employee_id.in_(list(unit.employees.values())))
            .where(ScheduleEntry.day >= unit.start, ScheduleEntry.day <= unit.end)
            .where(ScheduleEntry.day_model_id.in_([m.id for m in unit.shifts.values()]))
        )
        insert_entries(session, LEVEL, entries)
        record = session.scalars(
            select(BenchmarkInstance).where(
                BenchmarkInstance.planning_unit_id == unit.planning_unit_id
            )
        ).one_or_none()
        if record is not None:
            record.objective = objective


def load_roster(engine: Engine, planning_unit_id: int) -> tuple[Roster, int] | None:
    """The roster in the Schedule level of a benchmark unit and its objective, once solved."""
    unit = load_period_unit(engine, planning_unit_id)
    if unit is None:
        return None
    with read_session(engine) as session:
        objective = session.scalar(
            select(BenchmarkInstance.objective).where(
                BenchmarkInstance.planning_unit_id == planning_unit_id
            )
        )
        if objective is None:
            return None
        shift_of = {m.id: shift for shift, m in unit.shifts.items()}
        staff_of = {employee: staff for staff, employee in unit.employees.items()}
        roster: Roster = {staff: [""] * unit.instance.days for staff in unit.employees}
        rows = session.execute(
            select(ScheduleEntry.employee_id, ScheduleEntry.day, ScheduleEntry.day_model_id)
            .where(ScheduleEntry.level == LEVEL)
            .where(ScheduleEntry.employee_id.in_(list(staff_of)))
            .where(ScheduleEntry.day >= unit.start, ScheduleEntry.day <= unit.end)
            .where(ScheduleEntry.day_model_id.in_(list(shift_of)))
        )
        for employee_id, day, model_id in rows:
            if model_id is not None:
                roster[staff_of[employee_id]][(day - unit.start).days] = shift_of[model_id]
    return roster, objective
