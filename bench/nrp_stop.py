"""How soon the WFM optimizer returns once it is told to stop (a job's cancel).

A solve of one Curtois & Qu instance runs in a thread with a long time limit; at
each chosen moment after its first roster the solve is stopped, and the seconds from
the stop to its return are reported, with whether the roster it returned keeps every
rule (the tests' independent checker). The moments fall in different phases of the
search (construction, column generation, its dive, neighbourhoods), which each
answer a stop in their own way. This figure was a timed test assertion until
2026-12-01; it belongs here.

    PYTHONPATH=.:src .venv/bin/python -m bench.nrp_stop [--instance 11] [--after 2,5,10,20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

# bench.nrp puts the tests' independent checker on the path, and knows the instances.
from bench.nrp import INSTANCES, nrp_checker
from wfm.benchmark.control import StopFlag
from wfm.benchmark.instance import parse_instance
from wfm.benchmark.search import Outcome, solve

#: Far beyond every moment measured: only the stop may end the solve.
TIME_LIMIT = 600.0


def stop_latency(text: str, after: float, threads: int) -> tuple[float, bool]:
    """Stop a solve of ``text`` ``after`` seconds past its first roster: the seconds
    it took to return, and whether its roster keeps every rule."""
    first = threading.Event()
    flag = StopFlag()
    box: list[Outcome] = []

    def run() -> None:
        box.append(
            solve(
                parse_instance(text),
                time_limit=TIME_LIMIT,
                threads=threads,
                stop=flag,
                on_progress=lambda _: first.set(),
            )
        )

    thread = threading.Thread(target=run, name="nrp-solve")
    thread.start()
    if not first.wait(120):
        raise RuntimeError("no first roster within 120 s")
    time.sleep(after)  # a moment in the search, not a synchronisation
    stopped = time.monotonic()
    flag.stop()
    thread.join()
    latency = time.monotonic() - stopped
    (outcome,) = box
    feasible = outcome.roster is not None and nrp_checker.violations(text, outcome.roster) == []
    return latency, feasible


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", type=int, default=11)
    parser.add_argument("--after", default="2,5,10,20", help="seconds after the first roster")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--folder", type=Path, default=INSTANCES)
    args = parser.parse_args()
    text = (args.folder / f"Instance{args.instance}.txt").read_text()
    rows = []
    for after in (float(a) for a in args.after.split(",")):
        latency, feasible = stop_latency(text, after, args.threads)
        print(f"  stopped {after:g} s after the first roster: {latency:.2f} s", file=sys.stderr)
        rows.append((after, latency, feasible))
    print(f"| Instance{args.instance}: stopped after the first roster | return | roster |")
    print("|---:|---:|---|")
    for after, latency, feasible in rows:
        print(f"| {after:g} s | {latency:.2f} s | {'keeps every rule' if feasible else 'BROKEN'} |")
    latencies = [latency for _, latency, _ in rows]
    print(f"\nMedian {statistics.median(latencies):.2f} s, most {max(latencies):.2f} s.")
    return 0 if all(r[2] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
