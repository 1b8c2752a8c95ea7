"""[scheduling] Copy level content: source level to target level, target overwritten."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo

from jobprocessor import JobContext, job
from wfm.db import write_session
from wfm.jobs._runtime import job_database
from wfm.jobs.params import EmployeeIds, End, Level, PositiveId
from wfm.levels import as_placed, delete_entries, insert_entries, select_entries
from wfm.shifts import Placed
from wfm.snapshot import check_level, select_employees


def _new_start(value: date | None, info: ValidationInfo) -> date | None:
    same = info.data.get("source") == info.data.get("target")
    start, end = info.data.get("start"), info.data.get("end")
    if not same or not isinstance(start, date) or not isinstance(end, date):
        return value
    if value is None:
        raise ValueError("copying a level onto itself needs a new start date")
    if value <= end and value + (end - start) >= start:
        raise ValueError("copying a level onto itself needs a range that does not overlap")
    return value


@job(
    "wfm.copy_level",
    category="scheduling",
    title="Copy level {source} to {target}, {start} to {end}",
    lock="wfm:planning-unit:{planning_unit}",
)
def copy_level_job(
    ctx: JobContext,
    source: Level,
    target: Level,
    start: date,
    end: End,
    new_start: Annotated[
        date | None, AfterValidator(_new_start), Field(validate_default=True)
    ] = None,
    empty_source: bool = False,
    planning_unit: PositiveId = 1,
    employees: EmployeeIds = None,
) -> dict[str, Any]:
    """Copies the source level's entries to the target level (whose content in the
    target range is deleted first), optionally moved to ``new_start``, optionally
    emptying the source afterwards."""
    shift = timedelta(days=((new_start or start) - start).days)
    with job_database(ctx) as (engine, run), write_session(engine) as session:
        check_level(session, source)
        check_level(session, target)
        ids = select_employees(session, planning_unit, start, end, employees)
        originals = select_entries(session, source, start, end, ids)
        copies = [
            Placed(
                e.employee_id,
                e.day + shift,
                e.start + shift,
                e.end + shift,
                e.activity_id,
                e.day_model_id,
            )
            for e in map(as_placed, originals)
        ]
        run.check_canceled()
        emptied = 0
        if empty_source:
            emptied = delete_entries(session, [e.id for e in originals])
        overwritten = delete_entries(
            session,
            [e.id for e in select_entries(session, target, start + shift, end + shift, ids)],
        )
        inserted = insert_entries(session, target, copies)
        run.progress(1, 1, "copied")
        run.step(
            "Copied %d entries of %d employees from level %d (%s to %s) to level %d from %s; "
            "%d entries of the target overwritten",
            inserted,
            len(ids),
            source,
            start,
            end,
            target,
            start + shift,
            overwritten,
        )
        if empty_source:
            run.step("Emptied the source: %d entries deleted", emptied)
        run.check_canceled()
    return {"copied": inserted, "overwritten": overwritten, "source_emptied": emptied}
