"""The demo data of the Customer Service planning unit, deterministic from a seed.

``seed(engine)`` writes it once: a second call finds the planning unit and changes
nothing. The same seed and start date always give the same employees, skills,
requirements and absences, so that tests and benchmarks can rely on them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from wfm.calendar import at_minute, days, monday_of
from wfm.db import upgrade, write_session
from wfm.demo.catalog import (
    ACTIVITIES,
    CONTRACTS,
    DAY_MODELS,
    FIRST_NAMES,
    LAST_NAMES,
    SEQUENCES,
    SKILLS,
)
from wfm.levels import insert_entries
from wfm.model import (
    Activity,
    BreakRule,
    Contract,
    DayModel,
    Employee,
    EmployeeContract,
    EmployeePlanningUnit,
    EmployeeShiftSequence,
    EmployeeSkill,
    LevelNumber,
    PlanningUnit,
    ShiftSequence,
    ShiftSequenceCell,
    Skill,
    StaffRequirement,
)
from wfm.shifts import Placed, full_day_entry

PLANNING_UNIT = "Customer Service"
DEFAULT_SEED = 2026
#: Contract mix of the 60 demo employees: full-time, part-time 30 h, part-time 20 h.
MIX = (36, 14, 10)
#: Of the full-time employees, these many work the Email and the Chat rows.
EMAIL_DEDICATED, CHAT_DEDICATED = 6, 4
#: Employees with Email or Chat as an extra skill, besides the dedicated ones.
EMAIL_EXTRA, CHAT_EXTRA = 12, 8
#: People needed on the phone at the Monday peak; other days and hours scale from it.
PHONE_PEAK = 32.0
WEEKDAY_FACTOR = (1.15, 1.05, 1.0, 0.97, 0.9, 0.45, 0.0)


@dataclass(frozen=True)
class DemoData:
    """What ``seed`` wrote (or found): the unit, the first Monday and the span."""

    planning_unit_id: int
    start: date
    weeks: int
    employees: int
    created: bool

    @property
    def end(self) -> date:
        return self.start + timedelta(days=7 * self.weeks - 1)


def seed(
    engine: Engine,
    *,
    seed: int = DEFAULT_SEED,
    start: date | None = None,
    weeks: int = 4,
    with_schedule: bool = True,
) -> DemoData:
    """Write the demo planning unit once; returns what is there.

    ``start`` is moved back to its Monday (default: this week's). ``with_schedule``
    also fills the Schedule level from the shift sequences, as a planner would
    before optimizing.
    """
    upgrade(engine)
    first = monday_of(start or date.today())
    with write_session(engine) as session:
        existing = session.scalar(select(PlanningUnit).where(PlanningUnit.name == PLANNING_UNIT))
        if existing is not None:
            count = len(session.scalars(select(EmployeePlanningUnit.employee_id)).all())
            return DemoData(existing.id, _first_requirement(session) or first, weeks, count, False)
        rng = random.Random(seed)
        unit = PlanningUnit(name=PLANNING_UNIT)
        session.add(unit)
        skills = {name: Skill(name=name) for name in SKILLS}
        session.add_all(skills.values())
        session.flush()
        activities = _activities(session, skills)
        day_models = _day_models(session, activities)
        sequences = _sequences(session, day_models, first)
        employees = _employees(session, rng, unit, skills, sequences, first)
        _requirements(session, rng, unit.id, activities, first, weeks)
        absences = _absences(rng, employees, activities, first, weeks)
        insert_entries(session, LevelNumber.SCHEDULE, absences)
        unit_id = unit.id
    if with_schedule:
        from wfm.scheduling.insert import DeleteMode, insert_shift_sequences

        insert_shift_sequences(
            engine,
            planning_unit_id=unit_id,
            level=LevelNumber.SCHEDULE,
            start=first,
            end=first + timedelta(days=7 * weeks - 1),
            delete=DeleteMode.WHOLE_RANGE,
        )
    return DemoData(unit_id, first, weeks, len(employees), True)


def _first_requirement(session: Session) -> date | None:
    moment = session.scalar(select(StaffRequirement.start).order_by(StaffRequirement.start))
    return None if moment is None else monday_of(moment.date())


def _activities(session: Session, skills: dict[str, Skill]) -> dict[str, Activity]:
    activities = {
        spec.code: Activity(
            code=spec.code,
            name=spec.name,
            type=spec.type,
            paid=spec.paid,
            plannable=spec.plannable,
            replaceable=spec.replaceable,
            priority=spec.priority,
            skill=skills[spec.skill] if spec.skill else None,
            color=spec.color,
        )
        for spec in ACTIVITIES
    }
    session.add_all(activities.values())
    session.flush()
    return activities


def _day_models(session: Session, activities: dict[str, Activity]) -> dict[str, DayModel]:
    models = {}
    for spec in DAY_MODELS:
        model = DayModel(
            code=spec.code,
            name=spec.name,
            base_activity=activities[spec.activity],
            earliest_start=spec.earliest,
            latest_start=spec.latest,
            length=spec.length,
            weekdays=spec.weekdays,
            breaks=[
                BreakRule(
                    position=i,
                    activity=activities[b.activity],
                    length=b.length,
                    earliest_offset=b.earliest,
                    latest_offset=b.latest,
                )
                for i, b in enumerate(spec.breaks)
            ],
        )
        models[spec.code] = model
    session.add_all(models.values())
    session.flush()
    return models


def _sequences(
    session: Session, day_models: dict[str, DayModel], reference: date
) -> dict[str, ShiftSequence]:
    sequences = {}
    for name, (weeks, rows, pattern) in SEQUENCES.items():
        sequence = ShiftSequence(name=name, weeks=weeks, rows=rows, reference_date=reference)
        for (row, week), codes in sorted(pattern.items()):
            for weekday, code in enumerate(codes):
                if code != "-":
                    sequence.cells.append(
                        ShiftSequenceCell(
                            row=row, week=week, weekday=weekday, day_model=day_models[code]
                        )
                    )
        sequences[name] = sequence
    session.add_all(sequences.values())
    session.flush()
    return sequences


def _employees(
    session: Session,
    rng: random.Random,
    unit: PlanningUnit,
    skills: dict[str, Skill],
    sequences: dict[str, ShiftSequence],
    start: date,
) -> list[Employee]:
    contracts = [
        Contract(
            name=c.name,
            hours_min=c.hours_min,
            hours_target=c.hours_target,
            hours_max=c.hours_max,
            max_consecutive_work_days=c.max_consecutive_work_days,
            min_rest_hours=c.min_rest_hours,
            min_days_off_per_week=c.min_days_off_per_week,
        )
        for c in CONTRACTS
    ]
    session.add_all(contracts)
    names = rng.sample([(f, last) for f in FIRST_NAMES for last in LAST_NAMES], sum(MIX))
    since = start - timedelta(days=365)
    employees = []
    kinds = [0] * MIX[0] + [1] * MIX[1] + [2] * MIX[2]
    extra_email = set(rng.sample(range(EMAIL_DEDICATED + CHAT_DEDICATED, sum(MIX)), EMAIL_EXTRA))
    extra_chat = set(rng.sample(range(EMAIL_DEDICATED + CHAT_DEDICATED, sum(MIX)), CHAT_EXTRA))
    counters = {"phone": 0, "pt30": 0, "pt20": 0}
    for index, (kind, (first, last)) in enumerate(zip(kinds, names, strict=True)):
        employee = Employee(number=f"E{index + 1:03d}", first_name=first, last_name=last)
        employee.planning_units.append(EmployeePlanningUnit(planning_unit=unit, valid_from=since))
        employee.contracts.append(EmployeeContract(contract=contracts[kind], valid_from=since))
        employee.skills.append(
            EmployeeSkill(skill=skills["Phone"], level=rng.randrange(60, 101, 5), valid_from=since)
        )
        email = index < EMAIL_DEDICATED or index in extra_email
        chat = EMAIL_DEDICATED <= index < EMAIL_DEDICATED + CHAT_DEDICATED or index in extra_chat
        if email:
            employee.skills.append(
                EmployeeSkill(
                    skill=skills["Email"], level=rng.randrange(50, 101, 10), valid_from=since
                )
            )
        if chat:
            employee.skills.append(
                EmployeeSkill(
                    skill=skills["Chat"], level=rng.randrange(50, 101, 10), valid_from=since
                )
            )
        if index < EMAIL_DEDICATED + CHAT_DEDICATED:
            sequence, row = sequences["Written channels full-time"], int(index >= EMAIL_DEDICATED)
        elif kind == 0:
            sequence, row = sequences["Phone full-time"], counters["phone"] % 4
            counters["phone"] += 1
        elif kind == 1:
            sequence, row = sequences["Part-time 30 h"], counters["pt30"] % 2
            counters["pt30"] += 1
        else:
            sequence, row = sequences["Part-time 20 h"], counters["pt20"] % 2
            counters["pt20"] += 1
        employee.shift_sequences.append(
            EmployeeShiftSequence(shift_sequence=sequence, row=row, valid_from=since)
        )
        employees.append(employee)
    session.add_all(employees)
    session.flush()
    return employees


def _phone_shape(hour: float) -> float:
    """Calls over the day: a morning peak around 10:30 and a lower one mid-afternoon."""
    return (
        0.35
        + math.exp(-(((hour - 10.5) / 1.7) ** 2))
        + 0.75 * math.exp(-(((hour - 14.5) / 2.0) ** 2))
    )


def _requirements(
    session: Session,
    rng: random.Random,
    unit_id: int,
    activities: dict[str, Activity],
    start: date,
    weeks: int,
) -> None:
    peak_shape = max(_phone_shape(h / 10) for h in range(70, 200))
    rows = []
    for day in days(start, start + timedelta(days=7 * weeks - 1)):
        factor = WEEKDAY_FACTOR[day.weekday()]
        if factor == 0:
            continue
        saturday = day.weekday() == 5
        opening, closing = (9 * 60, 15 * 60) if saturday else (7 * 60, 20 * 60)
        for minute in range(opening, closing, 15):
            hour = (minute + 7.5) / 60
            needs = {
                "PHONE": PHONE_PEAK * factor * _phone_shape(hour) / peak_shape,
                "EMAIL": 0.0 if saturday or not 8 <= hour < 18 else 5.0 + (hour < 12),
                "CHAT": 0.0 if saturday or not 9 <= hour < 19 else 3.0 + (12 <= hour < 16),
            }
            for code, value in needs.items():
                required = round(value * rng.uniform(0.92, 1.08)) if value else 0
                if code == "PHONE":
                    required = max(1, required)
                if required:
                    rows.append(
                        {
                            "planning_unit_id": unit_id,
                            "activity_id": activities[code].id,
                            "start": at_minute(day, minute),
                            "required": float(required),
                        }
                    )
    session.execute(insert(StaffRequirement), rows)


def _absences(
    rng: random.Random,
    employees: list[Employee],
    activities: dict[str, Activity],
    start: date,
    weeks: int,
) -> list[Placed]:
    """Approved absences: a week of vacation for some, a few sick days, unpaid leave."""
    entries: list[Placed] = []
    taken: set[tuple[int, date]] = set()

    def add(employee: Employee, day: date, code: str) -> None:
        if (employee.id, day) not in taken and day.weekday() < 5:
            taken.add((employee.id, day))
            entries.append(full_day_entry(employee.id, day, activities[code].id))

    for employee in rng.sample(employees, 6):
        monday = start + timedelta(days=7 * rng.randrange(weeks))
        for offset in range(5):
            add(employee, monday + timedelta(days=offset), "VAC")
    for employee in rng.sample(employees, 5):
        first = start + timedelta(days=rng.randrange(7 * weeks))
        for offset in range(rng.randint(1, 3)):
            add(employee, first + timedelta(days=offset), "SICK")
    for employee in rng.sample(employees, 2):
        add(employee, start + timedelta(days=rng.randrange(7 * weeks)), "UNPAID")
    return entries
