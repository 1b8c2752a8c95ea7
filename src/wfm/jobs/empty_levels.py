"""[scheduling] Empty levels: delete their content for dates and employees."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from jobprocessor import JobContext, job
from wfm.activities import ActivityInfo
from wfm.db import write_session
from wfm.jobs._runtime import job_database
from wfm.jobs.params import EmployeeIds, End, Levels, PositiveId
from wfm.levels import delete_entries, is_full_day_absence, select_entries
from wfm.model import Activity
from wfm.snapshot import check_level, select_employees


@job(
    "wfm.empty_levels",
    category="scheduling",
    title="Empty levels {levels}, {start} to {end}",
    lock="wfm:planning-unit:{planning_unit}",
)
def empty_levels_job(
    ctx: JobContext,
    levels: Levels,
    start: date,
    end: End,
    planning_unit: PositiveId = 1,
    employees: EmployeeIds = None,
    keep_full_day_absences: bool = False,
) -> dict[str, Any]:
    """Deletes the entries of the chosen levels on the chosen days and employees."""
    with job_database(ctx) as (engine, run), write_session(engine) as session:
        for level in levels:
            check_level(session, level)
        ids = select_employees(session, planning_unit, start, end, employees)
        activities = {a.id: ActivityInfo.from_model(a) for a in session.scalars(select(Activity))}
        deleted: dict[str, int] = {}
        for index, level in enumerate(levels):
            run.check_canceled()
            doomed = [
                e.id
                for e in select_entries(session, level, start, end, ids)
                if not (keep_full_day_absences and is_full_day_absence(e, activities))
            ]
            deleted[str(level)] = delete_entries(session, doomed)
            run.step("Level %d: %d entries deleted", level, deleted[str(level)])
            run.progress(index + 1, len(levels), f"level {level}")
        run.check_canceled()
    return {"deleted": deleted, "employees": len(ids)}
