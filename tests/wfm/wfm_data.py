"""Small hand-made wfm data whose scheduling results can be written out exactly."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

import waiting
from jobprocessor.model import Actor
from jobprocessor.service import JobService
from wfm.db import read_session, write_session
from wfm.model import (
    Activity,
    ActivityType,
    BreakRule,
    Contract,
    DayModel,
    Employee,
    EmployeeContract,
    EmployeePlanningUnit,
    EmployeeShiftSequence,
    EmployeeSkill,
    PlanningUnit,
    ScheduleEntry,
    ShiftSequence,
    ShiftSequenceCell,
    Skill,
    StaffRequirement,
)

MONDAY = date(2026, 1, 5)


@dataclass(frozen=True)
class Tiny:
    unit: int
    a: int
    b: int
    c: int
    activity: dict[str, int]
    day_model: int


def make_tiny(engine: Engine) -> Tiny:
    """Employees A (sequence row 0), B (row 1, vacation on Thursday), C (no sequence)."""
    with write_session(engine) as s:
        unit = PlanningUnit(name="Tiny")
        phone_skill = Skill(name="Phone")
        acts = {
            code: Activity(
                code=code,
                name=name,
                type=kind,
                paid=paid,
                plannable=plannable,
                replaceable=replaceable,
                priority=2,
                skill=phone_skill if code == "PHONE" else None,
            )
            for code, name, kind, paid, plannable, replaceable in [
                ("PHONE", "Phone", ActivityType.PRESENCE, True, True, False),
                ("BACK", "Back office", ActivityType.PRESENCE, True, True, True),
                ("BREAK", "Break", ActivityType.BREAK, True, True, False),
                ("LUNCH", "Lunch", ActivityType.BREAK, False, True, False),
                ("MEET", "Meeting", ActivityType.MEETING, True, True, True),
                ("VAC", "Vacation", ActivityType.VACATION, True, False, False),
            ]
        }
        model = DayModel(
            code="D",
            name="Day",
            base_activity=acts["PHONE"],
            earliest_start=8 * 60,
            latest_start=10 * 60,
            length=510,
            weekdays="1111111",
            breaks=[
                BreakRule(
                    position=0,
                    activity=acts["BREAK"],
                    length=15,
                    earliest_offset=120,
                    latest_offset=180,
                ),
                BreakRule(
                    position=1,
                    activity=acts["LUNCH"],
                    length=30,
                    earliest_offset=240,
                    latest_offset=300,
                ),
            ],
        )
        contract = Contract(
            name="Tiny 24 h",
            hours_min=16,
            hours_target=24,
            hours_max=32,
            max_consecutive_work_days=3,
            min_rest_hours=12,
            min_days_off_per_week=2,
        )
        sequence = ShiftSequence(name="Tiny", weeks=2, rows=2, reference_date=MONDAY)
        sequence.cells = [
            ShiftSequenceCell(row=0, week=0, weekday=0, day_model=model),
            ShiftSequenceCell(row=0, week=0, weekday=1, day_model=model),
            ShiftSequenceCell(row=0, week=0, weekday=2, activity=acts["MEET"]),
            ShiftSequenceCell(row=0, week=1, weekday=0, day_model=model, start=9 * 60),
            ShiftSequenceCell(row=1, week=0, weekday=3, day_model=model),
        ]
        people = []
        for number, row in (("A", 0), ("B", 1), ("C", None)):
            person = Employee(number=number, first_name=number, last_name="Tester")
            since = MONDAY - timedelta(days=30)
            person.planning_units.append(EmployeePlanningUnit(planning_unit=unit, valid_from=since))
            person.contracts.append(EmployeeContract(contract=contract, valid_from=since))
            person.skills.append(EmployeeSkill(skill=phone_skill, level=100, valid_from=since))
            if row is not None:
                person.shift_sequences.append(
                    EmployeeShiftSequence(shift_sequence=sequence, row=row, valid_from=since)
                )
            people.append(person)
        s.add_all([unit, model, sequence, *acts.values(), *people])
        s.flush()
        s.add(
            ScheduleEntry(
                level=1000,
                employee=people[1],
                day=MONDAY + timedelta(days=3),
                start=at(MONDAY + timedelta(days=3)),
                end=at(MONDAY + timedelta(days=4)),
                activity=acts["VAC"],
            )
        )
        for day in range(5):
            for quarter in range(9 * 4, 17 * 4):
                s.add(
                    StaffRequirement(
                        planning_unit_id=unit.id,
                        activity_id=acts["PHONE"].id,
                        start=at(MONDAY + timedelta(days=day), quarter * 15),
                        required=2.0,
                    )
                )
        s.flush()
        return Tiny(
            unit.id,
            people[0].id,
            people[1].id,
            people[2].id,
            {c: a.id for c, a in acts.items()},
            model.id,
        )


def at(day: date, minute: int = 0) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute)


def level_content(engine: Engine, level: int) -> list[tuple[str, str, str, str]]:
    """(employee number, start, end, activity code) of a level's entries, in order."""
    with read_session(engine) as s:
        rows = s.execute(
            select(Employee.number, ScheduleEntry.start, ScheduleEntry.end, Activity.code)
            .join(Employee, Employee.id == ScheduleEntry.employee_id)
            .join(Activity, Activity.id == ScheduleEntry.activity_id)
            .where(ScheduleEntry.level == level)
            .order_by(Employee.number, ScheduleEntry.start)
        ).all()
    return [(n, f"{a:%m-%d %H:%M}", f"{b:%m-%d %H:%M}", code) for n, a, b, code in rows]


def shift(number: str, day: str, start: str) -> list[tuple[str, str, str, str]]:
    """The entries of the tiny day model starting at ``start`` on ``day`` (MM-DD)."""
    h, m = map(int, start.split(":"))
    base = datetime(2026, int(day[:2]), int(day[3:]), h, m)

    def t(minutes: int) -> str:
        return f"{base + timedelta(minutes=minutes):%m-%d %H:%M}"

    return [
        (number, t(0), t(150), "PHONE"),
        (number, t(150), t(165), "BREAK"),
        (number, t(165), t(270), "PHONE"),
        (number, t(270), t(300), "LUNCH"),
        (number, t(300), t(510), "PHONE"),
    ]


def wait_until(predicate: Callable[[], Any], *, timeout: float = 30.0, what: str = "") -> Any:
    """As tests/waiting.py's, with room for a solver on a loaded machine."""
    return waiting.wait_until(predicate, timeout=timeout, what=what)


def cancel_once_progress_says(service: JobService, actor: Actor, job_id: int, word: str) -> float:
    """Cancel the job once its progress message holds ``word`` (its solver is busy);
    the seconds from the cancel to the job's end."""
    wait_until(
        lambda: word in (service.get(actor, job_id).progress.message or ""),
        timeout=120,
        what=f"the solver's progress to say {word!r}",
    )
    asked = time.monotonic()
    service.cancel(actor, job_id)
    wait_until(lambda: service.get(actor, job_id).status.is_finished, what="the job to stop")
    return time.monotonic() - asked
