""" "Create optimized schedule" for a planning unit with a planning period.

The job ``wfm.create_optimized_schedule`` hands such a unit (a benchmark instance
imported, say) here: it is solved over its whole period to the benchmark's
objective, progress is the best objective so far against the time limit, a stop
saves nothing, and a roster found is saved to the Schedule level and returned (also
as the artifact ``roster.json``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine

from wfm.benchmark.control import StopFlag
from wfm.benchmark.period import PeriodUnit, save_roster
from wfm.benchmark.search import Progress, solve
from wfm.errors import WfmError
from wfm.reporting import Run


def optimize_benchmark(
    engine: Engine,
    *,
    unit: PeriodUnit,
    time_limit: float,
    threads: int,
    stop: StopFlag,
    run: Run,
    seed: int = 0,
) -> dict[str, Any]:
    """Solve the unit's instance, save the best roster, and return the job's result."""
    instance = unit.instance
    run.step(
        "Benchmark instance: %d employees, %d shift types, %d days (planned whole)",
        len(instance.staff),
        len(instance.shifts),
        instance.days,
    )

    def progress(update: Progress) -> None:
        run.progress(
            min(update.seconds, time_limit),
            time_limit,
            f"objective {update.objective} (lower bound {update.bound})",
        )

    outcome = solve(
        instance,
        time_limit=time_limit,
        threads=threads,
        stop=stop,
        on_progress=progress,
        seed=seed,
    )
    if outcome.stopped:
        run.step("Solver stopped on request after %.1f s; nothing saved", outcome.seconds)
        run.check_canceled()
        return {"status": "stopped", "solve_seconds": round(outcome.seconds, 3)}
    if outcome.roster is None or outcome.objective is None:
        raise WfmError(f"no roster found in {time_limit:g} s (solver status {outcome.status})")
    save_roster(engine, unit, outcome.roster, outcome.objective)
    run.step(
        "Objective %d (lower bound %d, %s) after %.1f s; first roster after %.2f s; "
        "%d neighbourhoods, %d improving",
        outcome.objective,
        outcome.bound,
        outcome.status.lower(),
        outcome.seconds,
        outcome.first_solution_seconds or 0.0,
        outcome.rounds,
        outcome.improving_rounds,
    )
    if run.ctx is not None:
        run.ctx.add_artifact("roster.json", json.dumps(outcome.roster), "application/json")
    return {
        "status": outcome.status.lower(),
        "objective": outcome.objective,
        "bound": outcome.bound,
        "first_solution_seconds": outcome.first_solution_seconds,
        "solve_seconds": round(outcome.seconds, 3),
        "neighbourhoods": outcome.rounds,
        "roster": outcome.roster,
    }
