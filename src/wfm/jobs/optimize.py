"""[scheduling] Create optimized schedule (OR-Tools CP-SAT)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from jobprocessor import JobContext, job
from wfm.benchmark.control import StopFlag
from wfm.benchmark.optimize import optimize_benchmark
from wfm.benchmark.period import load_period_unit
from wfm.jobs._runtime import job_database
from wfm.jobs.params import EmployeeIds, Monday, PositiveId
from wfm.scheduling.optimize import create_optimized_schedule
from wfm.scheduling.solver import SolveControl

MAX_WEEKS = 4
#: Seconds an optimization may run before it is stopped: well past the longest solve
#: the form offers, so that only a stuck one is stopped.
OPTIMIZE_TIMEOUT = 3 * 3600.0


@job(
    "wfm.create_optimized_schedule",
    category="scheduling",
    title="Optimized schedule: {weeks} week(s) from {start}",
    # One writer per planning unit, shared with its other scheduling jobs.
    limit=1,
    limit_key="wfm:planning-unit:{planning_unit}",
    timeout=OPTIMIZE_TIMEOUT,
    cancel_grace=10.0,
)
def optimize_job(
    ctx: JobContext,
    start: Monday,
    weeks: Annotated[int, Field(ge=1, le=MAX_WEEKS)] = 1,
    planning_unit: PositiveId = 1,
    employees: EmployeeIds = None,
    time_limit: Annotated[float, Field(gt=0, le=3600)] = 20.0,
    threads: Annotated[int, Field(ge=1, le=16)] = 2,
    start_step: Literal[15, 30, 60] = 30,
    min_skill_level: Annotated[int, Field(ge=1, le=100)] = 1,
) -> dict[str, Any]:
    """Chooses a day model and start per employee and day for the best coverage with
    the fewest hours under the contract rules, and saves it to the Schedule level.

    Progress comes from the solver's solutions; a cancel stops the solver at once
    and saves nothing. A unit with a planning period (one imported from the Curtois &
    Qu benchmark by ``wfm.import_benchmark``, say) is solved to its contracts' period
    rules, its wishes and its weighted cover over the whole period (``start``,
    ``weeks``, ``employees`` and the step do not apply).
    """
    control = SolveControl()
    ctx.on_cancel(control.stop)
    stop = StopFlag()
    ctx.on_cancel(stop.stop)
    with job_database(ctx) as (engine, run):
        period_unit = load_period_unit(engine, planning_unit)
        if period_unit is not None:
            return optimize_benchmark(
                engine,
                unit=period_unit,
                time_limit=time_limit,
                threads=threads,
                stop=stop,
                run=run,
            )
        return create_optimized_schedule(
            engine,
            planning_unit_id=planning_unit,
            start=start,
            weeks=weeks,
            employee_ids=employees,
            time_limit=time_limit,
            threads=threads,
            start_step=start_step,
            min_skill_level=min_skill_level,
            control=control,
            run=run,
        )
