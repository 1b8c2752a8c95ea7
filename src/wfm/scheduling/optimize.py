"""Create optimized schedule: read, solve (no transaction open), check, write once.

The Schedule level of the chosen employees is replaced for the weeks solved; their
full-day absences stay. A cancel stops the solver and nothing is written. The
result is checked against the contract rules by ``wfm.rules`` (independent of the
solver) before it is saved: a broken hard rule fails the job rather than saving.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from wfm.calendar import format_hours, midnight, minutes_between
from wfm.coverage import scheduled_counts, summarize
from wfm.db import read_session, write_session
from wfm.errors import WfmError
from wfm.levels import delete_entries, insert_entries, is_full_day_absence, select_entries
from wfm.model import LevelNumber
from wfm.reporting import Run
from wfm.rules import check_rules, weekly_paid_minutes
from wfm.scheduling.options import build_options, week_starts
from wfm.scheduling.solver import Prior, SolveControl, SolveUpdate, solve
from wfm.shifts import Placed, shift_entries
from wfm.snapshot import Snapshot, load_snapshot

#: Days before the range read for consecutive-day and rest rules.
LOOKBACK_DAYS = 7
#: Solver updates are written to the report at most this often.
LOG_EVERY = 2.0


def create_optimized_schedule(
    engine: Engine,
    *,
    planning_unit_id: int,
    start: date,
    weeks: int,
    employee_ids: Sequence[int] | None = None,
    time_limit: float = 20.0,
    threads: int = 2,
    start_step: int = 30,
    min_skill_level: int = 1,
    control: SolveControl | None = None,
    run: Run | None = None,
) -> dict[str, Any]:
    """Optimize the Schedule level for ``weeks`` weeks from Monday ``start``."""
    run = run or Run()
    control = control or SolveControl()
    end = start + timedelta(days=7 * weeks - 1)
    level = LevelNumber.SCHEDULE
    with read_session(engine) as session:
        snapshot = load_snapshot(
            session,
            planning_unit_id,
            start,
            end,
            employee_ids=employee_ids,
            level=level,
            lookback_days=LOOKBACK_DAYS,
        )
    if not snapshot.employees:
        raise WfmError(f"no employees in {snapshot.planning_unit_name} from {start} to {end}")
    in_range = [e for e in snapshot.entries if e.day >= start]
    absences = [e for e in in_range if is_full_day_absence(e, snapshot.activities)]
    before = summarize(snapshot.requirements, scheduled_counts(in_range, start, end))
    run.step(
        "Loaded %s from %s to %s: %d employees, %d day models, %d requirement intervals, "
        "%d full-day absences",
        snapshot.planning_unit_name,
        start,
        end,
        len(snapshot.employees),
        len(snapshot.templates),
        sum(len(v) for v in snapshot.requirements.values()),
        len(absences),
    )
    absent: dict[int, set[date]] = {}
    for entry in absences:
        absent.setdefault(entry.employee_id, set()).add(entry.day)
    availability = build_options(
        snapshot, absent, start_step=start_step, min_skill_level=min_skill_level
    )
    for employee in snapshot.employees:
        for reason in availability[employee.id].reasons:
            run.error(
                "%s (%s) got no schedule: %s", employee.name, employee.number, reason, kind="none"
            )
    run.check_canceled()
    options = sum(len(o) for a in availability.values() for o in a.options.values())
    run.step(
        "Solving: %d shift options; time limit %g s on %d threads", options, time_limit, threads
    )
    result = solve(
        snapshot,
        availability,
        prior=_prior(snapshot, start),
        absence_credit=_credit(snapshot, absences, start, end),
        time_limit=time_limit,
        threads=threads,
        control=control,
        on_solution=_reporter(run, time_limit),
        seed=0,
        hint=_current_shifts(in_range),
    )
    if result.stopped:
        run.step("Solver stopped on request after %.1f s; nothing saved", result.seconds)
        run.check_canceled()
        return {"status": "stopped", "solve_seconds": round(result.seconds, 3)}
    if not result.chosen and result.objective is None:
        raise WfmError(
            f"the solver found no schedule within {time_limit:g} s ({result.status}); "
            "give it more time or fewer weeks"
        )
    gap = 0.0
    if result.objective and result.bound is not None:
        gap = 100.0 * abs(result.objective - result.bound) / abs(result.objective)
    run.step(
        "Solver finished: %s after %.1f s, %d solutions, first after %.2f s, gap %.1f %%",
        result.status,
        result.seconds,
        result.solutions,
        result.first_solution_seconds or 0.0,
        gap,
    )
    new = [
        entry
        for option in result.chosen
        for entry in shift_entries(
            option.employee_id, option.day, snapshot.templates[option.template_id], option.start
        )
    ]
    prior = [e for e in snapshot.entries if e.day < start]
    planned = prior + absences + new
    violations = check_rules(planned, snapshot.employees, snapshot.activities, start, end)
    hard = [v for v in violations if v.hard]
    for violation in hard:
        run.error("Rule broken: %s", violation.message, kind="rule")
    if hard:
        raise WfmError(f"the schedule breaks {len(hard)} contract rules; nothing was saved")
    _report_hours(run, snapshot, planned, start, end)
    after = summarize(snapshot.requirements, scheduled_counts(absences + new, start, end))
    run.check_canceled()
    with write_session(engine) as session:
        doomed = [
            e.id
            for e in select_entries(session, level, start, end, snapshot.employee_ids)
            if not is_full_day_absence(e, snapshot.activities)
        ]
        deleted = delete_entries(session, doomed)
        inserted = insert_entries(session, level, new)
        run.check_canceled()
    run.step(
        "Saved to level %d: %d shifts (%d entries) for %d employees, %d entries replaced",
        level,
        len(result.chosen),
        inserted,
        len({o.employee_id for o in result.chosen}),
        deleted,
    )
    run.step(
        "Coverage %.1f %% before, %.1f %% after; under-staffing %.1f h, over-staffing %.1f h",
        before.coverage_pct,
        after.coverage_pct,
        after.under_hours,
        after.over_hours,
    )
    return {
        "status": result.status.lower(),
        "shifts": len(result.chosen),
        "employees": len(snapshot.employees),
        "objective": result.objective,
        "bound": result.bound,
        "gap_pct": round(gap, 2),
        "solutions": result.solutions,
        "first_solution_seconds": result.first_solution_seconds,
        "solve_seconds": round(result.seconds, 3),
        "min_hours_shortfalls": len(violations) - len(hard),
        "before": before.as_dict(),
        "after": after.as_dict(),
    }


def _reporter(run: Run, time_limit: float) -> Any:
    last = [0.0]

    def on_solution(update: SolveUpdate) -> None:
        message = (
            f"solution {update.solutions}: objective {update.objective:,.0f}, "
            f"bound {update.bound:,.0f} (gap {update.gap_pct:.1f} %)"
        )
        run.progress(min(update.seconds, time_limit), time_limit, message)
        now = time.monotonic()
        if update.solutions == 1 or now - last[0] >= LOG_EVERY:
            last[0] = now
            run.step("After %.1f s, %s", update.seconds, message)

    return on_solution


def _current_shifts(entries: list[Placed]) -> set[tuple[int, date, int, int]]:
    """(employee, day, day model, start minute) of the shifts the level holds now."""
    first: dict[tuple[int, date], Placed] = {}
    for entry in entries:
        key = (entry.employee_id, entry.day)
        if entry.day_model_id is not None and (key not in first or entry.start < first[key].start):
            first[key] = entry
    return {
        (e.employee_id, e.day, e.day_model_id, e.start.hour * 60 + e.start.minute)
        for e in first.values()
        if e.day_model_id is not None
    }


def _prior(snapshot: Snapshot, start: date) -> dict[int, Prior]:
    """Last shift end and work streak of each employee just before ``start``."""
    origin = midnight(start)
    worked: dict[int, dict[date, datetime]] = {}
    for entry in snapshot.entries:
        if entry.day < start and not is_full_day_absence(entry, snapshot.activities):
            ends = worked.setdefault(entry.employee_id, {})
            ends[entry.day] = max(ends.get(entry.day, entry.end), entry.end)
    result = {}
    for employee_id, ends in worked.items():
        streak = 0
        cursor = start - timedelta(days=1)
        while cursor in ends:
            streak += 1
            cursor -= timedelta(days=1)
        last = max(ends.values())
        result[employee_id] = Prior(last_end=minutes_between(origin, last), streak=streak)
    return result


def _credit(
    snapshot: Snapshot, absences: list[Placed], start: date, end: date
) -> dict[tuple[int, date], int]:
    """Minutes that paid full-day absences count toward each employee's week."""
    credit: dict[tuple[int, date], int] = {}
    for employee in snapshot.employees:
        for monday in week_starts(start, end):
            _, minutes = weekly_paid_minutes(absences, employee, snapshot.activities, monday)
            if minutes:
                credit[(employee.id, monday)] = minutes
    return credit


def _report_hours(
    run: Run, snapshot: Snapshot, planned: list[Placed], start: date, end: date
) -> None:
    """Warnings where target hours are not met, errors where the minimum is not."""
    for employee in snapshot.employees:
        for monday in week_starts(start, end):
            rules = employee.contract.get(monday)
            if rules is None:
                continue
            worked, credit = weekly_paid_minutes(planned, employee, snapshot.activities, monday)
            total = worked + credit
            if total < rules.min_minutes:
                run.error(
                    "%s (%s): %s in the week of %s, under the contract minimum %s",
                    employee.name,
                    employee.number,
                    format_hours(total),
                    monday,
                    format_hours(rules.min_minutes),
                    kind="minimum",
                )
            elif total < rules.target_minutes:
                run.warning(
                    "%s (%s): target hours not met in the week of %s: %s of %s",
                    employee.name,
                    employee.number,
                    monday,
                    format_hours(total),
                    format_hours(rules.target_minutes),
                    kind="target",
                )
