"""[scheduling] Job optimization: better coverage inside the shifts a level holds."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo

from jobprocessor import JobContext, job
from wfm.jobs._runtime import job_database
from wfm.jobs.params import EmployeeIds, End, Level, PositiveId
from wfm.scheduling.job_optimization import Options, optimize_jobs


def _something_to_do(value: bool, info: ValidationInfo) -> bool:
    if not value and info.data.get("replace_activities") is False:
        raise ValueError("nothing to do: choose replace_activities, move_breaks or both")
    return value


@job(
    "wfm.job_optimization",
    category="scheduling",
    title="Job optimization of level {level}, {start} to {end}",
    # One writer per planning unit, shared with its other scheduling jobs.
    limit=1,
    limit_key="wfm:planning-unit:{planning_unit}",
    timeout=3600.0,
)
def job_optimization_job(
    ctx: JobContext,
    start: date,
    end: End,
    level: Level = 1000,
    planning_unit: PositiveId = 1,
    employees: EmployeeIds = None,
    replace_activities: bool = True,
    move_breaks: Annotated[bool, AfterValidator(_something_to_do)] = True,
    block_minutes: Literal[15, 30, 60] = 30,
    min_skill_level: Annotated[int, Field(ge=1, le=100)] = 1,
) -> dict[str, Any]:
    """Improves coverage without moving any shift's start or end: breaks move within
    their corridors, and replaceable activities (back office) become plannable
    activities that have requirements, in blocks of ``block_minutes``, where the
    employee has the skill (at least ``min_skill_level`` %). Saved in one transaction.
    """
    options = Options(replace_activities, move_breaks, block_minutes, min_skill_level)
    with job_database(ctx) as (engine, run):
        return optimize_jobs(
            engine,
            planning_unit_id=planning_unit,
            level=level,
            start=start,
            end=end,
            employee_ids=employees,
            options=options,
            run=run,
        )
