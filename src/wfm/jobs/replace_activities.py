"""[scheduling] Replace activities: one activity by another in levels, dates, employees."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from sqlalchemy import func, select, update

from jobprocessor import JobContext, job
from wfm.db import write_session
from wfm.errors import WfmError
from wfm.jobs._runtime import job_database
from wfm.jobs.params import EmployeeIds, End, Levels, PositiveId, differs_from
from wfm.model import ScheduleEntry
from wfm.snapshot import check_activity, check_level, select_employees


@job(
    "wfm.replace_activities",
    category="scheduling",
    title="Replace activity {from_activity} by {to_activity}, {start} to {end}",
    lock="wfm:planning-unit:{planning_unit}",
)
def replace_activities_job(
    ctx: JobContext,
    levels: Levels,
    start: date,
    end: End,
    from_activity: PositiveId,
    to_activity: Annotated[PositiveId, differs_from("from_activity")],
    planning_unit: PositiveId = 1,
    employees: EmployeeIds = None,
) -> dict[str, Any]:
    """Turns every entry of ``from_activity`` (which must be replaceable) into
    ``to_activity`` in the chosen levels, dates and employees; times stay."""
    with job_database(ctx) as (engine, run), write_session(engine) as session:
        for level in levels:
            check_level(session, level)
        source = check_activity(session, from_activity, "from_activity")
        target = check_activity(session, to_activity, "to_activity")
        if not source.replaceable:
            raise WfmError(f"from_activity: {source.name} is not replaceable")
        if not target.plannable:
            raise WfmError(f"to_activity: {target.name} is not plannable")
        ids = select_employees(session, planning_unit, start, end, employees)
        run.step("Replacing %s by %s for %d employees", source.name, target.name, len(ids))
        counts: dict[str, int] = {}
        for index, level in enumerate(levels):
            run.check_canceled()
            chosen = (
                (ScheduleEntry.level == level)
                & (ScheduleEntry.day >= start)
                & (ScheduleEntry.day <= end)
                & (ScheduleEntry.activity_id == from_activity)
                & ScheduleEntry.employee_id.in_(ids)
            )
            found = session.scalar(select(func.count()).select_from(ScheduleEntry).where(chosen))
            session.execute(update(ScheduleEntry).where(chosen).values(activity_id=to_activity))
            counts[str(level)] = int(found or 0)
            run.step("Level %d: %d entries replaced", level, counts[str(level)])
            run.progress(index + 1, len(levels), f"level {level}")
        run.check_canceled()
    return {"replaced": counts, "employees": len(ids)}
