"""The WFM optimizer on the Curtois & Qu shift scheduling benchmark, through the job system.

Each instance goes through ``python -m wfm.benchmark solve`` in-process: the import
job, then "Create optimized schedule" with a worker and a job process, on a fresh
SQLite database. Reported per instance: objective, gap to the best known value,
the solver's lower bound, time to the first roster, and whether the independent
checker of the tests (tests/wfm/nrp_checker.py) accepts the roster and agrees
on its objective. A table in Markdown goes to stdout, every figure to
bench/results/nrp-<UTC time>.json.

    PYTHONPATH=src .venv/bin/python bench/nrp.py [--instances 1,2,3,4,11,12]
        [--time-limit 60] [--long-time-limit 120] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its wfm.py would
# hide the wfm package: drop the folder; the tests' checker is imported from its own.
HERE = Path(__file__).parent.resolve()
sys.path = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.append(str(HERE.parent / "tests" / "wfm"))
sys.modules.pop("wfm", None)

import nrp_checker  # noqa: E402

from wfm.benchmark.cli import solve  # noqa: E402

INSTANCES = Path("/work/shared/nrp/instances")
RESULTS = HERE / "results"
DOCS = HERE.parent / "docs"
#: The section of docs/benchmarks.md; bench/report.py includes it when it rewrites that.
SECTION = DOCS / "benchmarks" / "nrp.md"
HEADING = "## The WFM optimizer on a public benchmark (Curtois & Qu)"
#: Proven optima (schedulingbenchmarks.org), by instance number.
BEST_KNOWN = {1: 607, 2: 828, 3: 1001, 4: 1716, 11: 3443, 12: 4040}
#: Instances from this number on get the long time limit (the issue's goals: 60 s for
#: instances 1-4, 120 s for the others).
LONG_FROM = 5


def run_one(number: int, time_limit: float, threads: int, folder: Path) -> dict[str, Any]:
    path = folder / f"Instance{number}.txt"
    load = os.getloadavg()[0]
    began = time.monotonic()
    args = argparse.Namespace(
        instance=path,
        time_limit=time_limit,
        threads=threads,
        database_url=None,
        out=None,
        no_worker=False,
    )
    result = solve(args)
    text = path.read_text()
    roster = result["roster"]
    best = BEST_KNOWN.get(number)
    objective = result["objective"]
    return {
        "instance": number,
        "time_limit": time_limit,
        "threads": threads,
        "objective": objective,
        "best_known": best,
        "gap_pct": None if best is None else round(100.0 * (objective - best) / best, 2),
        "bound": result["bound"],
        "status": result["status"],
        "first_solution_seconds": result["first_solution_seconds"],
        "solve_seconds": result["solve_seconds"],
        "command_seconds": round(time.monotonic() - began, 1),
        "load_before": round(load, 2),
        "violations": nrp_checker.violations(text, roster),
        "checker_objective": nrp_checker.objective(text, roster),
        "roster": roster,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| instance | time limit | objective | best known | gap | lower bound "
        "| first roster | solve time | load before | checker |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        gap = "" if r["gap_pct"] is None else f"{r['gap_pct']:.2f} %"
        ok = r["violations"] == [] and r["checker_objective"] == r["objective"]
        lines.append(
            f"| {r['instance']} | {r['time_limit']:g} s | {r['objective']} | {r['best_known']} "
            f"| {gap} | {r['bound']} | {r['first_solution_seconds']:.2f} s "
            f"| {r['solve_seconds']:.1f} s | {r['load_before']:.1f} "
            f"| {'feasible, agrees' if ok else 'DISAGREES'} |"
        )
    return "\n".join(lines)


def section(rows: list[dict[str, Any]], machine: str) -> str:
    """The section of docs/benchmarks.md: what was run, the table, how to run it again."""
    return "\n".join(
        [
            HEADING,
            "",
            "`wfm.create_optimized_schedule` on instances of the shift scheduling benchmark",
            "of T. Curtois and R. Qu (2014), each imported with `wfm.import_benchmark` and",
            "solved through the job system (worker, job process, SQLite), 2 solver threads;",
            "the rosters checked by the tests' independent checker. How the solver works",
            "and what was measured on the way: [nrp-benchmark.md](nrp-benchmark.md).",
            f"Measured {machine}.",
            "",
            table(rows),
            "",
            "Run again (about 10 minutes), and write this section:",
            "",
            "```sh",
            "PYTHONPATH=src .venv/bin/python bench/nrp.py --doc",
            "```",
        ]
    )


def write_section(text: str) -> None:
    """Keep the section beside the document, and put it into the document now."""
    SECTION.parent.mkdir(exist_ok=True)
    SECTION.write_text(text + "\n")
    doc = DOCS / "benchmarks.md"
    current = doc.read_text()
    if HEADING in current:
        # Replace the old section: from its heading to the next "## " heading or the end.
        head, _, rest = current.partition(HEADING)
        _, sep, tail = rest.partition("\n## ")
        current = head.rstrip("\n") + "\n\n" + text + "\n" + (("\n## " + tail) if sep else "")
    else:
        current = current.rstrip("\n") + "\n\n" + text + "\n"
    doc.write_text(current)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="1,2,3,4,11,12")
    parser.add_argument("--folder", type=Path, default=INSTANCES)
    parser.add_argument("--time-limit", type=float, default=60.0, help="instances 1-4")
    parser.add_argument("--long-time-limit", type=float, default=120.0, help="instances 5+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--doc", action="store_true", help="write the section of the docs")
    args = parser.parse_args()
    rows = []
    for number in (int(n) for n in args.instances.split(",")):
        limit = args.long_time_limit if number >= LONG_FROM else args.time_limit
        print(f"Instance{number}: {limit:g} s ...", file=sys.stderr, flush=True)
        row = run_one(number, limit, args.threads, args.folder)
        print(
            f"  objective {row['objective']} (gap {row['gap_pct']} %)",
            file=sys.stderr,
            flush=True,
        )
        rows.append(row)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"nrp-{stamp}.json").write_text(json.dumps(rows, indent=1))
    print(table(rows))
    if args.doc:
        load = os.getloadavg()[0]
        machine = (
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
            f"load average {load:.1f} at the end"
        )
        write_section(section(rows, machine))
    return 0 if all(r["violations"] == [] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
