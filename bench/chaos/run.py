"""``scripts/chaos``: the run from start to end, and its report.

A fresh database; three workers (the last in a network namespace); the submitter;
the conductor's faults; then the drain (every job must finish on the workers left),
a clean stop, and the checks. The table goes to stdout, progress to stderr, every
figure to ``bench/results/chaos-<UTC time>.json``; the worker logs, the runs' stamps
and the jobs as read (``evidence.json``) stay in ``bench/results/chaos-<UTC time>/``,
so that ``--recheck`` can check them again. Exit code 0 only if every invariant
holds (1 if one fails, 130 if interrupted).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.chaos import pg
from bench.chaos.cluster import Cluster, Fault, open_partition
from bench.chaos.collect import JobRecord, attach_runs, load, read_jobs, read_runs, save
from bench.chaos.conductor import Conductor
from bench.chaos.evidence import Check, Evidence
from bench.chaos.invariants import check_all
from bench.chaos.plan import SLOTS, TIMINGS, WORKERS, Options, Plan, make_plan, parse_args
from bench.chaos.submitter import Submitter
from bench.common import RESULTS, ROOT, Interrupted, install_signal_handlers, machine, say

#: Every worker must register within this long of its start.
START_TIMEOUT = 120.0


def wait_registered(cluster: Cluster, watcher: pg.Watcher) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while any(m.worker_id is None for m in cluster.current()):
        for member in cluster.current():
            if member.process.poll() is not None:
                raise RuntimeError(f"worker {member.pid} exited at start: {member.output()}")
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not register in time")
        cluster.refresh(watcher)
        time.sleep(0.1)


def drain(watcher: pg.Watcher, timeout: float) -> float:
    """Wait until no job is queued, running or canceling; seconds it took."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        counts = watcher.counts()
        active = (
            None
            if counts is None
            else sum(counts.get(s, 0) for s in ("queued", "running", "canceling"))
        )
        if active == 0:
            return time.monotonic() - began
        time.sleep(0.5)
    say(f"the jobs did not drain within {timeout:g} s")
    return time.monotonic() - began


def gather(run_dir: Path, jobs: dict[int, JobRecord], facts: dict[str, Any]) -> Evidence:
    """The evidence of a run: its jobs, the runs its stamps tell of, its facts, its logs."""
    strays = attach_runs(jobs, read_runs(run_dir / "stamps"))
    logs = {
        worker: (run_dir / "logs" / name).read_text(errors="replace")
        for worker, name in facts["logs"].items()
    }
    return Evidence(
        jobs,
        strays,
        [Fault(**f) for f in facts["faults"]],
        facts["submitted"],
        facts["restart_skipped"],
        logs,
        facts["exits"],
        facts["workers_started"],
    )


def recheck(run_dir: Path) -> int:
    """The checks again, on what a run kept (``--recheck``): the table; the exit code."""
    jobs, facts = load(run_dir)
    checks = check_all(gather(run_dir, jobs, facts))
    print(f"chaos run {run_dir.name} (checked again): {len(jobs):,} jobs")
    print_table(checks)
    return 0 if all(c.ok is not False for c in checks) else 1


def git_commit() -> str:
    """The commit run, marked if the engine or the chaos run has changes beside it."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "src", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return head + (" (modified)" if dirty else "")


def print_table(checks: Sequence[Check]) -> None:
    width = max(len(c.name) for c in checks)
    for check in checks:
        print(f"{check.verdict}  {check.name:<{width}}  {check.figures}")
        for offender in check.offenders:
            print(f"      {offender}")


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    if options.recheck is not None:
        return recheck(options.recheck)
    plan = make_plan(options)
    install_signal_handlers()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = RESULTS / f"chaos-{stamp}"
    (run_dir / "stamps").mkdir(parents=True)
    say(f"chaos run, seed {plan.seed}: {options.minutes:g} min, {options.jobs} jobs")
    say(f"plan: {plan.describe()}; logs in {run_dir}")
    # The code run is the code of this moment, whatever changes while the run lasts.
    commit = git_commit()
    waited = wait_for_others() if options.db_restart == "server" else 0.0
    database = f"jobprocessor_chaos_{os.getpid()}"
    url = pg.create_database(database)
    try:
        figures = {"commit": commit, "waited_before_s": waited}
        return run(options, plan, url, database, run_dir, stamp, figures)
    finally:
        if options.keep_db:
            say(f"the database {database} is kept")
        else:
            pg.drop_database(database)


def wait_for_others() -> float:
    """The run restarts the server: let other people's pytest runs end first (they
    are asked again just before the restart). Seconds waited."""
    waited = 0.0
    while (others := pg.others_testing()) and waited < pg.OTHERS_WAIT:
        say(f"pytest runs on this machine ({others[0][:80]} …): waiting before the chaos")
        time.sleep(pg.OTHERS_POLL)
        waited += pg.OTHERS_POLL
    return waited


def run(
    options: Options,
    plan: Plan,
    url: str,
    database: str,
    run_dir: Path,
    stamp: str,
    figures: dict[str, Any],
) -> int:
    """The run on its fresh database; the exit code."""
    watcher = pg.Watcher(url)
    partition = open_partition()
    cluster = Cluster(url, WORKERS, run_dir, run_dir / "stamps", partition)
    outage_of = database if options.db_restart == "database" else None
    conductor = Conductor(plan, cluster, watcher, outage_of=outage_of)
    submitter: Submitter | None = None
    try:
        for position in range(WORKERS):
            cluster.spawn(position)
        wait_registered(cluster, watcher)
        say("workers up: the chaos begins")
        submitter = Submitter(
            url, rate=options.jobs / plan.duration, max_queue=options.max_queue, seed=plan.seed
        )
        submitter.start()
        chaos_began = time.time()
        conductor.run()
        figures["chaos_s"] = time.time() - chaos_began
        figures["restart_held_back_s"] = conductor.held_for
        submitter.stop()
        say(f"chaos over: {submitter.submitted} jobs submitted; draining")
        figures["drain_s"] = drain(watcher, options.drain_timeout)
        say(f"drained in {figures['drain_s']:.1f} s; stopping the workers")
    except Interrupted:
        say("interrupted: stopping everything")
        return 130
    finally:
        conductor.finish()
        if submitter is not None:
            submitter.stop()
        cluster.stop_all()
        watcher.close()
        partition.close()

    jobs = read_jobs(url)
    facts = {
        "faults": [dataclasses.asdict(f) for f in cluster.journal],
        "submitted": submitter.submitted,
        "restart_skipped": conductor.restart_skipped,
        "logs": {m.worker_id: m.log.name for m in cluster.members if m.worker_id},
        "exits": conductor.exits,
        "workers_started": len(cluster.members),
    }
    save(run_dir, jobs, facts)
    evidence = gather(run_dir, jobs, facts)
    checks = check_all(evidence)
    commit = figures["commit"]
    waited = figures["waited_before_s"] + figures["restart_held_back_s"]
    print(
        f"chaos run {stamp}, commit {commit[:12]}{commit[40:]}, seed {plan.seed}: "
        f"{figures['chaos_s']:.0f} s of chaos, {len(jobs):,} jobs, "
        f"{sum(len(j.runs) for j in jobs.values()):,} runs, drained in {figures['drain_s']:.0f} s"
        + (f"; waited {waited:.0f} s while others tested" if waited else "")
    )
    print_table(checks)
    path = RESULTS / f"chaos-{stamp}.json"
    write_json(path, options, plan, cluster, conductor, submitter, checks, figures, evidence)
    say(f"figures in {path}")
    return 0 if all(c.ok is not False for c in checks) else 1


def write_json(
    path: Path,
    options: Options,
    plan: Plan,
    cluster: Cluster,
    conductor: Conductor,
    submitter: Submitter,
    checks: Sequence[Check],
    figures: dict[str, Any],
    evidence: Evidence,
) -> None:
    doc = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": figures.pop("commit"),
        "machine": machine(),
        "options": dataclasses.asdict(options),
        "plan": {
            "duration_s": plan.duration,
            "kills_planned": len(plan.kills),
            "pause_at_s": plan.pause_at,
            "cut_at_s": plan.cut_at,
            "restart_at_s": plan.restart_at,
        },
        "timings": TIMINGS,
        "workers": WORKERS,
        "slots": SLOTS,
        "figures": {
            **figures,
            "jobs": len(evidence.jobs),
            "runs": sum(len(j.runs) for j in evidence.jobs.values()),
            "submitted": submitter.submitted,
            "submitted_by_type": dict(submitter.by_type),
            "submit_failures": submitter.failures,
            "workers_started": len(cluster.members),
            "kills_skipped": conductor.skipped_kills,
        },
        "faults": [dataclasses.asdict(f) for f in cluster.journal],
        "checks": [
            {
                "name": c.name,
                "verdict": c.verdict,
                "figures": c.figures,
                "offenders": c.offenders,
                "data": c.data,
            }
            for c in checks
        ],
    }
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
