"""[scheduling] Import a Curtois & Qu benchmark instance as a planning unit."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field

from jobprocessor import JobContext, job
from wfm.benchmark.importing import FIRST_DAY, import_instance
from wfm.benchmark.instance import InstanceError, parse_instance
from wfm.jobs._runtime import job_database
from wfm.jobs.params import Monday

#: The largest instance of the benchmark (Instance24) is about 190 kB.
MAX_TEXT = 1_000_000


def _readable(text: str) -> str:
    # Checked at submission, so a bad file is refused with its line and field named
    # and never queued; the job parses it again before it writes anything.
    try:
        parse_instance(text)
    except InstanceError as error:
        raise ValueError(str(error)) from None
    return text


InstanceText = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_readable)]


@job(
    "wfm.import_benchmark",
    category="scheduling",
    title="Import benchmark instance as {unit_name}",
)
def import_benchmark_job(
    ctx: JobContext,
    text: InstanceText,
    unit_name: Annotated[str, Field(min_length=1, max_length=100)],
    start: Monday = FIRST_DAY,
) -> dict[str, Any]:
    """Creates planning unit ``unit_name`` from an instance in the benchmark's text format,
    its day 0 on ``start``: day models, contracts, employees, days off, wishes and
    weighted requirements; "Create optimized schedule" then solves it to the
    benchmark's objective and saves the roster to the Schedule level.
    """
    with job_database(ctx) as (engine, run):
        unit, instance = import_instance(engine, text, unit_name, start=start)
        run.step(
            "Planning unit %d %r: %d employees, %d shift types, %d days, %d requests",
            unit,
            unit_name,
            len(instance.staff),
            len(instance.shifts),
            instance.days,
            len(instance.on_requests) + len(instance.off_requests),
        )
        return {
            "planning_unit": unit,
            "employees": len(instance.staff),
            "shifts": len(instance.shifts),
            "days": instance.days,
        }
