"""Contract rules checked on a level's entries, independently of how they were made.

The optimizer promises schedules that keep every contract rule; this module checks
that promise from the entries alone (as a planner's rule check would), with no
knowledge of the solver's model. The minimum weekly hours are reported as their
own kind (``min_hours``): the optimizer treats them as a soft rule and reports a
shortfall rather than failing.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from wfm.activities import ActivityInfo
from wfm.calendar import days, format_hours
from wfm.shifts import Placed
from wfm.snapshot import EmployeeDays

SOFT_RULES = frozenset({"min_hours"})


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: which, whose, when, and a sentence for the report."""

    rule: str
    employee_id: int
    day: date
    message: str

    @property
    def hard(self) -> bool:
        return self.rule not in SOFT_RULES


@dataclass(slots=True)
class _Day:
    shift: list[Placed]
    absence: Placed | None


def _is_full_day(entry: Placed) -> bool:
    return entry.end - entry.start >= timedelta(days=1) and entry.start.hour == 0


def check_rules(
    entries: Iterable[Placed],
    employees: Iterable[EmployeeDays],
    activities: dict[int, ActivityInfo],
    start: date,
    end: date,
) -> list[Violation]:
    """Every rule broken by ``entries`` on ``start``..``end`` (``start`` a Monday).

    ``entries`` may include days before ``start``: they count for consecutive
    work days and rest, as the days just before a schedule do.
    """
    grouped: dict[int, dict[date, _Day]] = defaultdict(dict)
    for entry in sorted(entries, key=lambda e: (e.employee_id, e.start)):
        day = grouped[entry.employee_id].setdefault(entry.day, _Day([], None))
        info = activities[entry.activity_id]
        if _is_full_day(entry) and info.type.is_absence:
            day.absence = entry
        else:
            day.shift.append(entry)
    found: list[Violation] = []
    for employee in employees:
        found.extend(
            _check_employee(employee, grouped.get(employee.id, {}), activities, start, end)
        )
    return found


def _check_employee(
    employee: EmployeeDays,
    plan: dict[date, _Day],
    activities: dict[int, ActivityInfo],
    start: date,
    end: date,
) -> list[Violation]:
    found: list[Violation] = []

    def broken(rule: str, day: date, message: str) -> None:
        found.append(Violation(rule, employee.id, day, f"{employee.name}: {message}"))

    worked = sorted(d for d, p in plan.items() if p.shift)
    for day in worked:
        shift = plan[day].shift
        if day < start or day > end:
            continue
        if plan[day].absence is not None:
            broken("absence", day, f"works on {day} despite a full-day absence")
        if day not in employee.in_unit or day not in employee.contract:
            broken("assignment", day, f"works on {day} outside their planning unit or contract")
        for before, after in itertools.pairwise(shift):
            if after.start < before.end:
                broken("overlap", day, f"entries overlap on {day} at {after.start:%H:%M}")
            elif after.start > before.end:
                broken(
                    "one_shift", day, f"more than one shift on {day} (gap at {before.end:%H:%M})"
                )
        for entry in shift:
            info = activities[entry.activity_id]
            if info.skill_id is not None and employee.skill_level(day, info.skill_id) <= 0:
                broken("skill", day, f"does {info.name} on {day} without the skill")
    for previous, day in itertools.pairwise(worked):
        rules = employee.contract.get(day)
        if rules is None or day < start or day > end:
            continue
        rest = plan[day].shift[0].start - plan[previous].shift[-1].end
        if rest < timedelta(minutes=rules.min_rest_minutes):
            broken(
                "rest",
                day,
                f"rests {format_hours(rest.total_seconds() / 60)} before {day}, "
                f"less than {format_hours(rules.min_rest_minutes)}",
            )
    for day in days(start, end):
        rules = employee.contract.get(day)
        if rules is None or not plan.get(day, _Day([], None)).shift:
            continue
        streak = 0
        cursor = day
        while plan.get(cursor, _Day([], None)).shift:
            streak += 1
            cursor -= timedelta(days=1)
        if streak > rules.max_consecutive_days:
            broken(
                "consecutive_days",
                day,
                f"works {streak} days in a row up to {day}, more than {rules.max_consecutive_days}",
            )
    monday = start
    while monday <= end:
        found.extend(_check_week(employee, plan, activities, monday))
        monday += timedelta(days=7)
    return found


def _check_week(
    employee: EmployeeDays,
    plan: dict[date, _Day],
    activities: dict[int, ActivityInfo],
    monday: date,
) -> list[Violation]:
    week = [monday + timedelta(days=i) for i in range(7)]
    rules = next((employee.contract[d] for d in week if d in employee.contract), None)
    if rules is None:
        return []
    found: list[Violation] = []

    def add(rule: str, message: str) -> None:
        found.append(Violation(rule, employee.id, monday, f"{employee.name}: {message}"))

    paid = 0
    paid_absences = 0
    off = 0
    for day in week:
        entry = plan.get(day, _Day([], None))
        if entry.absence is not None and activities[entry.absence.activity_id].paid:
            paid_absences += 1
        if not entry.shift:
            off += 1
        paid += sum(_minutes(e.start, e.end) for e in entry.shift if activities[e.activity_id].paid)
    credit = min(rules.target_minutes, paid_absences * rules.absence_credit_minutes)
    total = paid + credit
    label = f"week of {monday}"
    if total > rules.max_minutes:
        add(
            "max_hours",
            f"{format_hours(total)} in the {label}, over the maximum "
            f"{format_hours(rules.max_minutes)} ({rules.name})",
        )
    if total < rules.min_minutes:
        add(
            "min_hours",
            f"{format_hours(total)} in the {label}, under the minimum "
            f"{format_hours(rules.min_minutes)} ({rules.name})",
        )
    if off < rules.min_days_off:
        add("days_off", f"{off} days off in the {label}, fewer than {rules.min_days_off}")
    return found


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def weekly_paid_minutes(
    entries: Iterable[Placed],
    employee: EmployeeDays,
    activities: dict[int, ActivityInfo],
    monday: date,
) -> tuple[int, int]:
    """(paid minutes worked, absence credit) of one employee in the week from ``monday``."""
    worked = 0
    absences = 0
    week_end = monday + timedelta(days=6)
    for entry in entries:
        if entry.employee_id != employee.id or not monday <= entry.day <= week_end:
            continue
        info = activities[entry.activity_id]
        if _is_full_day(entry):
            absences += int(info.type.is_absence and info.paid)
        elif info.paid:
            worked += _minutes(entry.start, entry.end)
    rules = next(
        (
            employee.contract[monday + timedelta(days=i)]
            for i in range(7)
            if monday + timedelta(days=i) in employee.contract
        ),
        None,
    )
    if rules is None:
        return worked, 0
    return worked, min(rules.target_minutes, absences * rules.absence_credit_minutes)
