"""The choices of the optimizer: each shift an employee could work on each day.

An option is a day model at one start time for one employee on one day. It exists
only where the employee is in the planning unit, has a contract, is not on a
full-day absence, may do the model's base activity (skill level) and the model
is allowed on that weekday. Breaks sit in the middle of their corridors here; job
optimization moves them later.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from wfm.calendar import INTERVAL, INTERVALS_PER_DAY, days
from wfm.shifts import ShiftTemplate
from wfm.snapshot import EmployeeDays, Snapshot


@dataclass(frozen=True, slots=True)
class Option:
    """One possible shift; times are minutes from the range's first midnight."""

    employee_id: int
    day: date
    template_id: int
    start: int
    begin: int
    finish: int
    paid: int
    activity_id: int
    #: Interval indexes (from the range's first midnight) the shift works in.
    covered: tuple[int, ...]


@dataclass
class Availability:
    """Why an employee can or cannot be scheduled, day by day."""

    options: dict[date, list[Option]] = field(default_factory=dict)
    absent: set[date] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)


def covered_intervals(template: ShiftTemplate, begin: int) -> tuple[int, ...]:
    """Intervals the shift works in: its span less its breaks at their default places."""
    breaks: set[int] = set()
    for rule, offset in zip(template.breaks, template.default_break_offsets(), strict=True):
        breaks.update(range(begin + offset, begin + offset + rule.length, INTERVAL))
    return tuple(
        (minute // INTERVAL)
        for minute in range(begin, begin + template.length, INTERVAL)
        if minute not in breaks
    )


def build_options(
    snapshot: Snapshot,
    absent: dict[int, set[date]],
    *,
    start_step: int,
    min_skill_level: int,
) -> dict[int, Availability]:
    """employee → the options of each day and, if there are none at all, why."""
    result = {}
    for employee in snapshot.employees:
        availability = Availability(absent=absent.get(employee.id, set()))
        for offset, day in enumerate(days(snapshot.start, snapshot.end)):
            if not _can_work(employee, day, availability.absent):
                continue
            availability.options[day] = [
                Option(
                    employee_id=employee.id,
                    day=day,
                    template_id=template.id,
                    start=start,
                    begin=offset * INTERVALS_PER_DAY * INTERVAL + start,
                    finish=offset * INTERVALS_PER_DAY * INTERVAL + start + template.length,
                    paid=template.paid_minutes,
                    activity_id=template.base_activity_id,
                    covered=covered_intervals(
                        template, offset * INTERVALS_PER_DAY * INTERVAL + start
                    ),
                )
                for template in snapshot.templates.values()
                if template.allowed_on(day)
                and _eligible(snapshot, employee, day, template, min_skill_level)
                for start in template.starts(start_step)
            ]
        availability.reasons = _reasons(snapshot, employee, availability, min_skill_level)
        result[employee.id] = availability
    return result


def _can_work(employee: EmployeeDays, day: date, absent: set[date]) -> bool:
    return day in employee.in_unit and day in employee.contract and day not in absent


def _eligible(
    snapshot: Snapshot,
    employee: EmployeeDays,
    day: date,
    template: ShiftTemplate,
    min_skill_level: int,
) -> bool:
    activity = snapshot.activities[template.base_activity_id]
    if not activity.plannable:
        return False
    if activity.skill_id is None:
        return True
    return employee.skill_level(day, activity.skill_id) >= max(1, min_skill_level)


def _reasons(
    snapshot: Snapshot, employee: EmployeeDays, availability: Availability, min_skill_level: int
) -> list[str]:
    """Why an employee has no option on any day (empty if they have some)."""
    if any(availability.options.values()):
        return []
    span = list(days(snapshot.start, snapshot.end))
    if not any(d in employee.in_unit for d in span):
        return ["not in the planning unit in this period"]
    if not any(d in employee.contract for d in span):
        return ["no contract valid in this period"]
    if all(d in availability.absent for d in span if d in employee.in_unit):
        return ["absent (full-day absences) on every day"]
    return [
        f"no day model whose activity they may do (skill level of at least {min_skill_level} %)"
    ]


def by_day(options: dict[int, Availability]) -> dict[tuple[int, date], list[Option]]:
    grouped: dict[tuple[int, date], list[Option]] = defaultdict(list)
    for employee_id, availability in options.items():
        for day, day_options in availability.options.items():
            grouped[(employee_id, day)].extend(day_options)
    return grouped


def week_starts(start: date, end: date) -> list[date]:
    return [start + timedelta(days=7 * i) for i in range(((end - start).days + 7) // 7)]
