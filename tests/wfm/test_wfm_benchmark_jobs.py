"""The benchmark through the job types: import a planning unit, optimize it, cancel.

On SQLite and PostgreSQL: an import stores the unit and its instance (a bad file is
refused at submission, naming line and field, and stores nothing); "Create optimized
schedule" on such a unit solves instance 1 to 607 and saves the roster, which the
independent checker accepts; a cancel mid-solve ends the job canceled with the saved
roster unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import nrp_checker
import pytest
from sqlalchemy import func, select
from wfm_data import cancel_once_progress_says

from jobprocessor.errors import InvalidInput
from jobprocessor.model import Actor, Role, Status
from jobprocessor.registry import registry
from wfm.benchmark.period import load_period_unit, load_roster, save_roster
from wfm.db import read_session
from wfm.errors import WfmError
from wfm.model import BenchmarkInstance, PlanningUnit, ScheduleEntry

INSTANCES = Path("/work/shared/nrp/instances")
ADMIN = Actor("admin", Role.ADMIN)
PLANNER = Actor("planner1", Role.USER)
#: Any Monday: a benchmark unit is always planned over its whole horizon.
MONDAY = "2014-01-06"


def _counts(engine) -> tuple[int, int]:
    with read_session(engine) as session:
        units = session.scalar(select(func.count()).select_from(PlanningUnit))
        instances = session.scalar(select(func.count()).select_from(BenchmarkInstance))
    return units or 0, instances or 0


def test_import_then_optimize_solves_instance_1_to_607(engine, run_job) -> None:
    text = (INSTANCES / "Instance1.txt").read_text()
    imported = run_job("wfm.import_benchmark", text=text, unit_name="Instance1")
    unit = imported.result["planning_unit"]
    assert imported.result == {"planning_unit": unit, "employees": 8, "shifts": 1, "days": 14}
    assert load_roster(engine, unit) is None

    done = run_job(
        "wfm.create_optimized_schedule",
        start=MONDAY,
        planning_unit=unit,
        time_limit=60.0,
    )
    assert done.result["status"] == "optimal"
    assert done.result["objective"] == 607
    saved = load_roster(engine, unit)
    assert saved is not None
    roster, objective = saved
    assert objective == 607
    assert roster == done.result["roster"]
    assert json.loads(done.artifact("roster.json")) == roster
    assert nrp_checker.violations(text, roster) == []
    assert nrp_checker.objective(text, roster) == 607
    assert any("Objective 607" in line for line in done.lines())
    # The roster is the Schedule level's shifts, beside the days off.
    with read_session(engine) as session:
        entries = session.scalars(select(ScheduleEntry).where(ScheduleEntry.level == 1000)).all()
    worked = sum(1 for line in roster.values() for shift in line if shift)
    assert sum(1 for e in entries if e.day_model_id is not None) == worked
    assert sum(1 for e in entries if e.day_model_id is None) == 8  # one day off each


def test_a_bad_file_is_refused_at_submission_naming_line_and_field(engine) -> None:
    text = (INSTANCES / "Instance1.txt").read_text().replace("B,D=14,4320", "B,D=14,43x0")
    with pytest.raises(InvalidInput, match="line 14: max total minutes"):
        registry.get("wfm.import_benchmark").validate({"text": text, "unit_name": "bad"})
    assert _counts(engine) == (0, 0)


def test_a_second_unit_of_one_name_is_refused_and_nothing_stored(engine, run_job) -> None:
    text = (INSTANCES / "Instance1.txt").read_text()
    run_job("wfm.import_benchmark", text=text, unit_name="Instance1")
    with pytest.raises(WfmError, match="exists already"):
        run_job("wfm.import_benchmark", text=text, unit_name="Instance1")
    assert _counts(engine) == (1, 1)


def test_cancel_mid_solve_ends_canceled_and_keeps_the_saved_roster(
    engine, service, start_worker, run_job, record_property
) -> None:
    text = (INSTANCES / "Instance4.txt").read_text()
    imported = run_job("wfm.import_benchmark", text=text, unit_name="Instance4")
    unit = imported.result["planning_unit"]
    period = load_period_unit(engine, unit)
    assert period is not None
    # A roster saved before (any will do: the cancel must leave it as it is).
    first = next(iter(period.shifts))
    saved = {staff: [first] + [""] * (period.instance.days - 1) for staff in period.employees}
    save_roster(engine, period, saved, 99_999)
    start_worker(concurrency=1, apps=["wfm.jobs"])
    job = service.submit(
        PLANNER,
        "wfm.create_optimized_schedule",
        {"start": MONDAY, "planning_unit": unit, "time_limit": 600},
    )
    latency = cancel_once_progress_says(service, PLANNER, job.id, "objective")
    record_property("benchmark_cancel_latency_s", round(latency, 3))
    assert service.get(ADMIN, job.id).status is Status.CANCELED
    events = [e.event for e in service.report(ADMIN, job.id).events]
    assert "stopped_by_force" not in events
    assert load_roster(engine, unit) == (saved, 99_999)
