"""[scheduling] Insert shift sequences into a level."""

from __future__ import annotations

from datetime import date
from typing import Any

from jobprocessor import JobContext, job
from wfm.jobs._runtime import job_database
from wfm.jobs.params import EmployeeIds, End, Level, PositiveId
from wfm.scheduling.insert import DeleteMode, insert_shift_sequences


@job(
    "wfm.insert_shift_sequences",
    category="scheduling",
    title="Insert shift sequences {start} to {end} into level {level}",
    lock="wfm:planning-unit:{planning_unit}",
)
def insert_sequences_job(
    ctx: JobContext,
    start: date,
    end: End,
    planning_unit: PositiveId = 1,
    level: Level = 1000,
    delete: DeleteMode = DeleteMode.WHOLE_RANGE,
    employees: EmployeeIds = None,
) -> dict[str, Any]:
    """Writes each employee's shift-sequence row into the level, day by day.

    Full-day absences are kept; ``delete`` says what else goes first.
    """
    with job_database(ctx) as (engine, run):
        return insert_shift_sequences(
            engine,
            planning_unit_id=planning_unit,
            level=level,
            start=start,
            end=end,
            delete=delete,
            employee_ids=employees,
            run=run,
        )
