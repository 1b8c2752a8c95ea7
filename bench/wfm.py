"""Benchmark of the WFM optimizer on the demo data (SQLite file under bench/results/).

Figures: coverage (% of required interval-hours met), under- and over-staffing
hours and hours scheduled, for the schedule inserted from the shift sequences
(the baseline) and for the optimized one, each also after job optimization; time
to the first feasible solution; time from a cancel (``SolveControl.stop``, what
``on_cancel`` calls) to the solver having stopped.

    .venv/bin/python bench/wfm.py [--weeks 1] [--time-limit 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import date
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide
# the wfm package: drop the folder.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
sys.modules.pop("wfm", None)

from wfm.coverage import scheduled_counts, summarize  # noqa: E402
from wfm.db import open_engine, read_session  # noqa: E402
from wfm.demo import seed  # noqa: E402
from wfm.scheduling.job_optimization import optimize_jobs  # noqa: E402
from wfm.scheduling.optimize import create_optimized_schedule  # noqa: E402
from wfm.scheduling.solver import SolveControl  # noqa: E402
from wfm.snapshot import load_snapshot  # noqa: E402

RESULTS = Path(__file__).parent / "results"
START = date(2026, 1, 5)


def coverage(engine, unit: int, start: date, end: date) -> dict[str, float]:
    with read_session(engine) as session:
        snap = load_snapshot(session, unit, start, end, level=1000)
    return summarize(snap.requirements, scheduled_counts(snap.entries, start, end)).as_dict()


def job_optimization(engine, unit: int, end: date) -> tuple[dict[str, float], float]:
    """Job optimization of the Schedule level: its coverage after, and the seconds taken."""
    began = time.monotonic()
    optimize_jobs(engine, planning_unit_id=unit, level=1000, start=START, end=end)
    return coverage(engine, unit, START, end), time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "wfm-bench.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = open_engine(f"sqlite:///{path}")
    demo = seed(engine, start=START, weeks=4)
    end = date.fromordinal(START.toordinal() + 7 * args.weeks - 1)
    baseline = coverage(engine, demo.planning_unit_id, START, end)
    tuned_baseline, tune_seconds = job_optimization(engine, demo.planning_unit_id, end)
    result = create_optimized_schedule(
        engine,
        planning_unit_id=demo.planning_unit_id,
        start=START,
        weeks=args.weeks,
        time_limit=args.time_limit,
        threads=args.threads,
    )
    optimized = coverage(engine, demo.planning_unit_id, START, end)
    tuned_optimized, _ = job_optimization(engine, demo.planning_unit_id, end)

    # Cancel: a long solve stopped right after its first solution.
    control = SolveControl()
    first = threading.Event()
    stopped_at: list[float] = []
    outcome: dict[str, float] = {}

    def solve() -> None:
        create_optimized_schedule(
            engine,
            planning_unit_id=demo.planning_unit_id,
            start=START,
            weeks=args.weeks,
            time_limit=600,
            threads=args.threads,
            control=control,
            run=_FirstSolution(first),
        )
        outcome["returned"] = time.monotonic()

    thread = threading.Thread(target=solve)
    thread.start()
    first.wait(300)
    stopped_at.append(time.monotonic())
    control.stop()
    thread.join(60)
    cancel_seconds = outcome["returned"] - stopped_at[0]

    figures = {
        "weeks": args.weeks,
        "time_limit_s": args.time_limit,
        "threads": args.threads,
        "baseline_from_shift_sequences": baseline,
        "job_optimization_of_baseline": tuned_baseline,
        "job_optimization_s": round(tune_seconds, 3),
        "optimized": optimized,
        "optimized_then_job_optimization": tuned_optimized,
        "solver_status": result["status"],
        "first_feasible_s": round(result["first_solution_seconds"] or 0.0, 3),
        "solve_s": result["solve_seconds"],
        "gap_pct": result["gap_pct"],
        "cancel_to_stopped_s": round(cancel_seconds, 3),
    }
    print(json.dumps(figures, indent=2))
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (RESULTS / f"wfm-{stamp}.json").write_text(json.dumps(figures, indent=2))
    engine.dispose()


class _FirstSolution:
    """A ``Run`` stand-in that signals the first solver progress update."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event
        self.ctx = None

    def __getattr__(self, name: str):
        from wfm.reporting import Run

        return getattr(Run(), name)

    def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        if message and "solution" in message:
            self.event.set()


if __name__ == "__main__":
    main()
