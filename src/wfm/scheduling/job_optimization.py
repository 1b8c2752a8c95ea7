"""Job optimization: improve coverage inside the shifts a level already holds.

Shifts keep their start and end. Breaks move within their corridors, replaceable
activities (back office) become plannable activities that have requirements,
breaks move once more (the new work changes where a break hurts least), and the
shifts that changed are saved in one transaction. Everything else stays exactly
as it was: full-day entries, other activities (a training), shifts of employees
not chosen, and shifts that are not on the 15-minute grid (the report says which).

Coverage counts every employee of the planning unit, so that optimizing some
employees fills the gaps the others leave.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from wfm.coverage import scheduled_counts, summarize
from wfm.db import read_session, write_session
from wfm.errors import WfmError
from wfm.levels import as_placed, delete_entries, insert_entries, select_entries
from wfm.model import ActivityType, ScheduleEntry
from wfm.reporting import Run
from wfm.scheduling.moves import Replacement, move_breaks, replace_activities
from wfm.scheduling.slots import SlotShift, build_shift
from wfm.scheduling.tally import Tally
from wfm.shifts import Placed
from wfm.snapshot import Snapshot, load_snapshot, select_employees

#: Activity types that may take over replaceable time (never a break or an absence).
WORK_TYPES = frozenset({ActivityType.PRESENCE, ActivityType.MEETING})


@dataclass(frozen=True)
class Options:
    """What job optimization may do (the job's settings)."""

    replace_activities: bool = True
    move_breaks: bool = True
    block_minutes: int = 30
    min_skill_level: int = 1


def optimize_jobs(
    engine: Engine,
    *,
    planning_unit_id: int,
    level: int,
    start: date,
    end: date,
    employee_ids: Sequence[int] | None = None,
    options: Options | None = None,
    run: Run | None = None,
) -> dict[str, Any]:
    """Improve the coverage of ``level`` from ``start`` to ``end``; returns what changed."""
    run = run or Run()
    options = options or Options()
    with read_session(engine) as session:
        snapshot = load_snapshot(session, planning_unit_id, start, end, level=level)
        chosen = select_employees(session, planning_unit_id, start, end, employee_ids)
    members = set(snapshot.employee_ids)
    for employee_id in chosen:
        if employee_id not in members:
            run.warning(
                "Employee %d is not in %s from %s to %s: left as they were",
                employee_id,
                snapshot.planning_unit_name,
                start,
                end,
                kind="member",
            )
    shifts = _shifts(snapshot, [i for i in chosen if i in members], run)
    tally = Tally(
        snapshot.requirements,
        scheduled_counts(snapshot.entries, start, end),
        {a.id: a.priority for a in snapshot.activities.values()},
    )
    before = summarize(snapshot.requirements, scheduled_counts(snapshot.entries, start, end))
    run.step(
        "Loaded level %d of %s from %s to %s: %d shifts of %d employees, "
        "%d requirement intervals; coverage %.1f %%",
        level,
        snapshot.planning_unit_name,
        start,
        end,
        len(shifts),
        len({s.employee_id for s in shifts}),
        sum(len(v) for v in snapshot.requirements.values()),
        before.coverage_pct,
    )
    if not snapshot.requirements:
        run.warning("%s has no staff requirements in this period", snapshot.planning_unit_name)
    phases = [
        phase
        for phase, wanted in (
            ("moving breaks", options.move_breaks),
            ("replacing activities", options.replace_activities),
            ("moving breaks again", options.move_breaks and options.replace_activities),
        )
        if wanted
    ]
    moves, replaced = 0, Replacement(Counter())
    for number, phase in enumerate(phases):

        def tick(done: int, total: int, number: int = number, phase: str = phase) -> None:
            if done % 25 == 0:
                run.check_canceled()
                run.progress(number + done / max(1, total), len(phases) + 1, phase)

        if phase.startswith("moving"):
            moved = move_breaks(shifts, tally, tick)
            moves += moved
            again = " again, around the new work," if phase.endswith("again") else ""
            run.step("Moved breaks%s within their corridors: %d moves", again, moved)
        else:
            replaced = replace_activities(
                shifts,
                tally,
                _targets(snapshot, options.min_skill_level),
                {a.id for a in snapshot.activities.values() if a.replaceable},
                options.block_minutes,
                tick,
            )
            for (old, new), minutes in sorted(replaced.minutes.items()):
                run.step(
                    "Replaced %.2f h of %s by %s",
                    minutes / 60,
                    snapshot.activities[old].name,
                    snapshot.activities[new].name,
                )
            if not replaced.minutes:
                run.step("No replaceable time would improve coverage")
    run.check_canceled()
    changed = [s for s in shifts if s.changed]
    new_entries = [e for s in changed for e in s.entries()]
    kept = _without(snapshot.entries, changed)
    after = summarize(snapshot.requirements, scheduled_counts(kept + new_entries, start, end))
    run.progress(len(phases), len(phases) + 1, "saving")
    deleted = _save(engine, level, start, end, changed, new_entries, run)
    breaks_moved = sum(b.position != b.initial for s in shifts for b in s.breaks)
    run.step(
        "Saved to level %d: %d of %d shifts changed (%d entries replaced by %d); "
        "%d breaks in new places",
        level,
        len(changed),
        len(shifts),
        deleted,
        len(new_entries),
        breaks_moved,
    )
    run.step(
        "Coverage %.1f %% before, %.1f %% after; under-staffing %.1f h before, %.1f h after",
        before.coverage_pct,
        after.coverage_pct,
        before.under_hours,
        after.under_hours,
    )
    run.progress(1, 1, "saved")
    return {
        "shifts": len(shifts),
        "shifts_changed": len(changed),
        "breaks_moved": breaks_moved,
        "break_moves": moves,
        "replaced_hours": {
            f"{snapshot.activities[old].name} > {snapshot.activities[new].name}": m / 60
            for (old, new), m in sorted(replaced.minutes.items())
        },
        "before": before.as_dict(),
        "after": after.as_dict(),
    }


def _shifts(snapshot: Snapshot, employee_ids: Sequence[int], run: Run) -> list[SlotShift]:
    """The chosen employees' shifts as slots, in (employee, day) order."""
    wanted = set(employee_ids)
    names = {e.id: f"{e.name} ({e.number})" for e in snapshot.employees}
    days: dict[tuple[int, date], list[Placed]] = defaultdict(list)
    for entry in snapshot.entries:
        if entry.employee_id in wanted:
            days[(entry.employee_id, entry.day)].append(entry)
    shifts = []
    for (employee_id, day), entries in sorted(days.items()):
        if any(_whole_day(e) for e in entries):
            continue  # an absence or a day-long activity: not a shift
        built = build_shift(entries, snapshot.templates)
        if isinstance(built, str):
            run.warning(
                "%s on %s: shift left as it was, %s", names[employee_id], day, built, kind="grid"
            )
        else:
            shifts.append(built)
    return shifts


def _targets(snapshot: Snapshot, min_skill_level: int) -> Callable[[SlotShift], list[int]]:
    """For a shift: the activities with requirements its employee may do, best first."""
    candidates = sorted(
        (
            a
            for a in snapshot.activities.values()
            if a.id in snapshot.requirements
            and a.plannable
            and not a.replaceable
            and a.type in WORK_TYPES
        ),
        key=lambda a: (-a.priority, a.id),
    )
    employees = {e.id: e for e in snapshot.employees}

    def targets(shift: SlotShift) -> list[int]:
        employee = employees[shift.employee_id]
        return [
            a.id
            for a in candidates
            if a.skill_id is None
            or employee.skill_level(shift.day, a.skill_id) >= max(1, min_skill_level)
        ]

    return targets


def _whole_day(entry: Placed) -> bool:
    return (entry.end - entry.start).total_seconds() >= 24 * 3600


def _without(entries: list[Placed], changed: list[SlotShift]) -> list[Placed]:
    gone = {(s.employee_id, s.day) for s in changed}
    return [e for e in entries if (e.employee_id, e.day) not in gone]


def _save(
    engine: Engine,
    level: int,
    start: date,
    end: date,
    changed: list[SlotShift],
    new_entries: list[Placed],
    run: Run,
) -> int:
    """Replace the changed shifts' entries in one transaction (nothing if canceled)."""
    if not changed:
        return 0
    run.step("Saving %d changed shifts", len(changed))
    with write_session(engine) as session:
        ids = sorted({s.employee_id for s in changed})
        current = select_entries(session, level, start, end, ids)
        by_day: dict[tuple[int, date], list[ScheduleEntry]] = defaultdict(list)
        for entry in current:
            by_day[(entry.employee_id, entry.day)].append(entry)
        doomed: list[int] = []
        for shift in changed:
            there = by_day.get((shift.employee_id, shift.day), [])
            if sorted(map(as_placed, there), key=_order) != sorted(shift.original, key=_order):
                raise WfmError(
                    f"level {level} changed while the job ran (employee {shift.employee_id}, "
                    f"{shift.day}); nothing was saved, start the job again"
                )
            doomed.extend(e.id for e in there)
        deleted = delete_entries(session, doomed)
        insert_entries(session, level, new_entries)
        run.check_canceled()  # a cancel now rolls the whole transaction back
    return deleted


def _order(entry: Placed) -> tuple[Any, ...]:
    return (entry.start, entry.end, entry.activity_id)
