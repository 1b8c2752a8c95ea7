"""[report] Weekly schedule, coverage and absence statistics: HTML, CSV and XLSX files."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from jobprocessor import JobContext, job
from wfm.calendar import days
from wfm.coverage import scheduled_counts, summarize
from wfm.db import read_session
from wfm.jobs._runtime import job_database
from wfm.jobs.params import EmployeeIds, End, Level, Monday, PositiveId
from wfm.levels import is_full_day_absence
from wfm.reports.render import Report, Table, line_chart
from wfm.rules import weekly_paid_minutes
from wfm.snapshot import load_snapshot


@job(
    "wfm.report.weekly_schedule",
    category="report",
    queue="reports",
    title="Weekly schedule from {week}",
)
def weekly_schedule_job(
    ctx: JobContext,
    week: Monday,
    level: Level = 1000,
    planning_unit: PositiveId = 1,
    employees: EmployeeIds = None,
) -> dict[str, Any]:
    """Each employee's shifts of one week, with paid hours against the contract target."""
    end = week + timedelta(days=6)
    with job_database(ctx) as (engine, run), read_session(engine) as session:
        snap = load_snapshot(session, planning_unit, week, end, employee_ids=employees, level=level)
    header = ["Number", "Employee", *(f"{d:%a %d.%m}" for d in days(week, end)), "Hours", "Target"]
    table = Table("Weekly schedule", header)
    for index, employee in enumerate(snap.employees):
        run.check_canceled()
        cells: list[str | int | float | None] = [employee.number, employee.name]
        for day in days(week, end):
            mine = [e for e in snap.entries if e.employee_id == employee.id and e.day == day]
            if not mine:
                cells.append("")
            elif is_full_day_absence(mine[0], snap.activities):
                cells.append(snap.activities[mine[0].activity_id].name)
            else:
                main = Counter(e.activity_id for e in mine).most_common(1)[0][0]
                cells.append(
                    f"{mine[0].start:%H:%M}-{mine[-1].end:%H:%M} {snap.activities[main].name}"
                )
        worked, credit = weekly_paid_minutes(snap.entries, employee, snap.activities, week)
        rules = employee.contract.get(week)
        cells += [round((worked + credit) / 60, 2), rules.target_minutes / 60 if rules else None]
        if rules and worked + credit < rules.target_minutes:
            run.warning(
                "%s: target hours not met (%.1f of %.1f h)",
                employee.name,
                (worked + credit) / 60,
                rules.target_minutes / 60,
                kind="target",
            )
        table.rows.append(cells)
        run.progress(index + 1, len(snap.employees))
    report = Report(
        f"Weekly schedule, level {level}, week of {week}",
        [f"{snap.planning_unit_name}: {len(snap.employees)} employees"],
        [table],
    )
    run.step("Weekly schedule of %d employees written", len(snap.employees))
    return report.attach(ctx, "weekly-schedule")


@job("wfm.report.coverage", category="report", queue="reports", title="Coverage {start} to {end}")
def coverage_job(
    ctx: JobContext,
    start: date,
    end: End,
    level: Level = 1000,
    planning_unit: PositiveId = 1,
) -> dict[str, Any]:
    """Required against scheduled people per activity and 15-minute interval, with a chart."""
    with job_database(ctx) as (engine, run), read_session(engine) as session:
        snap = load_snapshot(session, planning_unit, start, end, level=level)
    scheduled = scheduled_counts(snap.entries, start, end)
    summary = summarize(snap.requirements, scheduled)
    table = Table("Intervals", ["Interval", "Activity", "Required", "Scheduled", "Difference"])
    totals: dict[Any, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for activity_id, needs in sorted(snap.requirements.items()):
        have = scheduled.get(activity_id, {})
        name = snap.activities[activity_id].name
        for moment in sorted(set(needs) | set(have)):
            need, got = needs.get(moment, 0.0), have.get(moment, 0.0)
            table.rows.append([f"{moment:%Y-%m-%d %H:%M}", name, need, got, got - need])
            totals[moment][0] += need
            totals[moment][1] += got
        run.check_canceled()
    moments = sorted(totals)
    chart = (
        line_chart(
            moments,
            {
                "required": [totals[m][0] for m in moments],
                "scheduled": [totals[m][1] for m in moments],
            },
            f"Coverage, level {level}",
        )
        if moments
        else None
    )
    figures = summary.as_dict()
    report = Report(
        f"Coverage of {snap.planning_unit_name}, level {level}, {start} to {end}",
        [
            f"Coverage: {figures['coverage_pct']} % of {figures['required_hours']} required hours",
            f"Under-staffing: {figures['under_hours']} h; over-staffing: {figures['over_hours']} h",
        ],
        [table, Table("Summary", list(figures), [list(figures.values())])],
        chart,
    )
    run.step("Coverage %.1f %% over %d intervals", summary.coverage_pct, len(table.rows))
    return {**report.attach(ctx, "coverage"), **figures}


@job(
    "wfm.report.absences",
    category="report",
    queue="reports",
    title="Absence statistics {start} to {end}",
)
def absences_job(
    ctx: JobContext,
    start: date,
    end: End,
    level: Level = 1000,
    planning_unit: PositiveId = 1,
) -> dict[str, Any]:
    """Full-day absences per employee and kind (illness, vacation, other) in a period."""
    with job_database(ctx) as (engine, run), read_session(engine) as session:
        snap = load_snapshot(session, planning_unit, start, end, level=level)
    kinds = sorted({a.name for a in snap.activities.values() if a.type.is_absence})
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for entry in snap.entries:
        if is_full_day_absence(entry, snap.activities):
            counts[entry.employee_id][snap.activities[entry.activity_id].name] += 1
    table = Table("Absences", ["Number", "Employee", *kinds, "Total days"])
    for employee in snap.employees:
        row = counts.get(employee.id, Counter())
        table.rows.append(
            [employee.number, employee.name, *(row[k] for k in kinds), sum(row.values())]
        )
    total = Counter[str]()
    for row in counts.values():
        total.update(row)
    report = Report(
        f"Absence statistics of {snap.planning_unit_name}, {start} to {end}",
        [f"{sum(total.values())} absence days of {len(counts)} employees"]
        + [f"{k}: {total[k]} days" for k in kinds],
        [table],
    )
    run.step("%d absence days counted", sum(total.values()))
    return {**report.attach(ctx, "absences"), "days": dict(total)}
