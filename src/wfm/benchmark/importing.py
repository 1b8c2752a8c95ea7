"""A benchmark instance written into the WFM model as a planning unit.

Each concept of the benchmark has its WFM counterpart, so that the unit is planned,
shown and edited like any other and the optimizer reads the model, not the file:

- the horizon is the unit's ``PlanningPeriod`` (day 0 on ``start``, a Monday);
- a shift type is an activity and a day model of its length (the benchmark gives no
  start times: ``START_BY_LETTER`` guesses them from the usual letters), and its
  forbidden successions are ``ForbiddenSuccession`` rest rules;
- a staff line is an employee (numbered ``<unit id>.<staff id>``) with a contract:
  maxima per day model, minutes, runs and weekends per period (staff lines with the
  same rules share one contract);
- days off are full-day "Day off" absences in the Schedule level;
- shift on/off requests are ``EmployeeWish`` rows with their weights;
- cover is a staff requirement of the shift's activity over the shift's 15-minute
  intervals, with its under and over weights.

The file is parsed whole before anything is written, and everything is written in
one transaction, so a bad file or a clash leaves no trace.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from wfm.benchmark.instance import Instance, Staff, parse_instance
from wfm.calendar import at_minute, interval_starts
from wfm.db import write_session
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
    EmployeePlanningUnit,
    EmployeeWish,
    ForbiddenSuccession,
    LevelNumber,
    PlanningPeriod,
    PlanningUnit,
    StaffRequirement,
)
from wfm.shifts import full_day_entry

#: Day 0 of every instance unless the import is told otherwise: the XML versions of
#: the benchmark start on this Monday.
FIRST_DAY = date(2014, 1, 6)
#: Start of a shift type (minutes after midnight) by the first letter of its id:
#: early / a.m., day, late / p.m., night; any other letter starts at 08:00.
START_BY_LETTER = {"e": 6 * 60, "a": 6 * 60, "d": 9 * 60, "l": 14 * 60, "p": 14 * 60, "n": 22 * 60}
DEFAULT_START = 8 * 60
#: The longest id that still fits an employee number or an activity code.
MAX_ID = 12
COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
DAY_OFF_COLOR = "#bab0ac"


def code(unit_id: int, benchmark_id: str) -> str:
    """The employee number or day model code of a benchmark id within a unit."""
    return f"{unit_id}.{benchmark_id}"


def import_instance(
    engine: Engine, text: str, name: str, *, start: date = FIRST_DAY
) -> tuple[int, Instance]:
    """Create planning unit ``name`` from the instance in ``text``; its id and the instance."""
    instance = parse_instance(text)
    if start.weekday() != 0:
        raise WfmError(f"start: {start} is not a Monday (day 0 of an instance is)")
    _check_ids(instance)
    with write_session(engine) as session:
        return _write(session, text, name, start, instance), instance


def _write(session: Session, text: str, name: str, start: date, instance: Instance) -> int:
    if session.scalar(select(PlanningUnit.id).where(PlanningUnit.name == name)) is not None:
        raise WfmError(f"a planning unit named {name!r} exists already")
    unit = PlanningUnit(name=name)
    session.add(unit)
    session.flush()
    session.add(PlanningPeriod(planning_unit_id=unit.id, start=start, days=instance.days))
    session.add(
        BenchmarkInstance(planning_unit_id=unit.id, name=name, text=text, days=instance.days)
    )
    models = _day_models(session, unit.id, instance)
    employees = _employees(session, unit, instance, models, start)
    _days_off(session, unit.id, instance, employees, start)
    _wishes(session, instance, employees, models, start)
    _cover(session, unit.id, instance, models, start)
    return unit.id


def _check_ids(instance: Instance) -> None:
    shifts = [s.id for s in instance.shifts]
    for kind, ids in (("shift", shifts), ("employee", [s.id for s in instance.staff])):
        for benchmark_id in ids:
            if len(benchmark_id) > MAX_ID:
                raise WfmError(f"{kind} id {benchmark_id!r} is longer than {MAX_ID} characters")


def _day_models(session: Session, unit_id: int, instance: Instance) -> dict[str, DayModel]:
    models: dict[str, DayModel] = {}
    for index, shift in enumerate(instance.shifts):
        if shift.minutes > 24 * 60:
            raise WfmError(f"shift {shift.id!r}: {shift.minutes} minutes is longer than a day")
        activity = Activity(
            code=code(unit_id, shift.id),
            name=f"Shift {shift.id}",
            type=ActivityType.PRESENCE,
            color=COLORS[index % len(COLORS)],
        )
        begin = START_BY_LETTER.get(shift.id[0].lower(), DEFAULT_START)
        models[shift.id] = DayModel(
            code=code(unit_id, shift.id),
            name=shift.id,
            base_activity=activity,
            earliest_start=begin,
            latest_start=begin,
            length=shift.minutes,
        )
    codes = [m.code for m in models.values()]
    _refuse_taken(session, Activity.code, codes, "an activity coded")
    _refuse_taken(session, DayModel.code, codes, "a day model coded")
    session.add_all(models.values())
    session.flush()
    session.add_all(
        ForbiddenSuccession(day_model_id=models[shift.id].id, next_day_model_id=models[next_].id)
        for shift in instance.shifts
        for next_ in sorted(shift.cannot_follow)
    )
    return models


def _rules(staff: Staff) -> tuple[object, ...]:
    """What makes two staff lines' contracts the same."""
    return (
        tuple(sorted(staff.max_shifts.items())),
        staff.max_total_minutes,
        staff.min_total_minutes,
        staff.max_consecutive_shifts,
        staff.min_consecutive_shifts,
        staff.min_consecutive_days_off,
        staff.max_weekends,
    )


def _contract(
    unit: PlanningUnit, number: int, staff: Staff, weeks: int, models: dict[str, DayModel]
) -> Contract:
    # The benchmark limits minutes per period, not per week: the weekly hours are
    # left open (0 to 168) with the period's minimum spread over its weeks as target.
    target = round(staff.min_total_minutes / 60 / weeks, 2)
    return Contract(
        name=f"{unit.name[:60]} · contract {number} (unit {unit.id})",
        hours_min=0.0,
        hours_target=min(target, 168.0),
        hours_max=168.0,
        max_consecutive_work_days=staff.max_consecutive_shifts,
        min_rest_hours=0.0,
        min_days_off_per_week=0,
        min_consecutive_work_days=staff.min_consecutive_shifts,
        min_consecutive_days_off=staff.min_consecutive_days_off,
        max_weekends=staff.max_weekends,
        period_minutes_min=staff.min_total_minutes,
        period_minutes_max=staff.max_total_minutes,
        day_model_limits=[
            ContractDayModelLimit(day_model_id=models[shift].id, max_per_period=count)
            for shift, count in staff.max_shifts.items()
        ],
    )


def _employees(
    session: Session,
    unit: PlanningUnit,
    instance: Instance,
    models: dict[str, DayModel],
    start: date,
) -> dict[str, Employee]:
    end = start + timedelta(days=instance.days - 1)
    contracts: dict[tuple[object, ...], Contract] = {}
    employees: dict[str, Employee] = {}
    for staff in instance.staff:
        rules = _rules(staff)
        if rules not in contracts:
            contracts[rules] = _contract(unit, len(contracts) + 1, staff, instance.weeks, models)
        employee = Employee(
            number=code(unit.id, staff.id), first_name="Employee", last_name=staff.id
        )
        employee.contracts.append(
            EmployeeContract(contract=contracts[rules], valid_from=start, valid_to=end)
        )
        employee.planning_units.append(
            EmployeePlanningUnit(planning_unit_id=unit.id, valid_from=start, valid_to=end)
        )
        employees[staff.id] = employee
    numbers = [e.number for e in employees.values()]
    _refuse_taken(session, Employee.number, numbers, "an employee numbered")
    names = [c.name for c in contracts.values()]
    _refuse_taken(session, Contract.name, names, "a contract named")
    session.add_all(employees.values())
    session.flush()
    return employees


def _refuse_taken(
    session: Session, column: InstrumentedAttribute[str], values: list[str], what: str
) -> None:
    """A clear error, before the insert, for a unique value another row has (a unit
    id reused on SQLite after a unit was deleted, or a hand-made row)."""
    taken = session.scalars(select(column).where(column.in_(values))).first()
    if taken is not None:
        raise WfmError(f"{what} {taken!r} exists already")


def _days_off(
    session: Session,
    unit_id: int,
    instance: Instance,
    employees: dict[str, Employee],
    start: date,
) -> None:
    if not any(instance.days_off.values()):
        return
    off = Activity(
        code=f"{unit_id}/off",
        name="Day off",
        type=ActivityType.ABSENCE,
        paid=False,
        plannable=False,
        color=DAY_OFF_COLOR,
    )
    _refuse_taken(session, Activity.code, [off.code], "an activity coded")
    session.add(off)
    session.flush()
    insert_entries(
        session,
        LevelNumber.SCHEDULE.value,
        (
            full_day_entry(employees[staff_id].id, start + timedelta(days=index), off.id)
            for staff_id, days in instance.days_off.items()
            for index in sorted(days)
        ),
    )


def _wishes(
    session: Session,
    instance: Instance,
    employees: dict[str, Employee],
    models: dict[str, DayModel],
    start: date,
) -> None:
    rows = [
        {
            "employee_id": employees[request.employee].id,
            "day": start + timedelta(days=request.day),
            "day_model_id": models[request.shift].id,
            "wanted": wanted,
            "weight": request.weight,
        }
        for wanted, requests in ((True, instance.on_requests), (False, instance.off_requests))
        for request in requests
    ]
    if rows:
        session.execute(insert(EmployeeWish), rows)


def _cover(
    session: Session,
    unit_id: int,
    instance: Instance,
    models: dict[str, DayModel],
    start: date,
) -> None:
    rows = []
    for cover in instance.cover:
        model = models[cover.shift]
        first = at_minute(start + timedelta(days=cover.day), model.earliest_start)
        for moment in interval_starts(first, first + timedelta(minutes=model.length)):
            rows.append(
                {
                    "planning_unit_id": unit_id,
                    "activity_id": model.base_activity_id,
                    "start": moment,
                    "required": float(cover.requirement),
                    "under_weight": float(cover.under_weight),
                    "over_weight": float(cover.over_weight),
                }
            )
    if rows:
        session.execute(insert(StaffRequirement), rows)
