"""Run every system in one run on this machine: ``python -m bench.run [--quick]``.

``scripts/bench`` sets up the benchmark's own environment and calls this. The
order: for each system, submission speed, the burn-downs, steady-state latency,
the cancel cases and the fair-share case; then the databases' raw limits; then list speed. Every
figure, with the load average before each case, goes to
``bench/results/run-<UTC time>.json``; ``bench.report`` turns that file into
``docs/benchmarks.md`` and its plots.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from bench import listing, raw, report, services
from bench.common import (
    RESULTS,
    ROOT,
    Interrupted,
    elapsed,
    fmt,
    install_signal_handlers,
    machine,
    say,
)
from bench.peers.base import CANCEL_KINDS, System
from bench.workloads import (
    BurnDown,
    Cancel,
    Case,
    FairShare,
    Latency,
    Submission,
    burn_down,
    cancel,
    fair_share,
    latency,
    stamps_for,
    submission,
)

ALL_SYSTEMS = (
    "jobprocessor-sqlite",
    "jobprocessor-postgresql",
    "jobprocessor-postgresql-prefetch",
    "procrastinate",
    "pgqueuer",
    "rq",
    "rq-simple",
    "celery",
)
ALL_WORKLOADS = ("submission", "burn-down", "latency", "cancel", "fair-share", "raw", "list")


@dataclass(frozen=True)
class Plan:
    """What one run measures; ``--quick`` shrinks it to a smoke test of a few minutes."""

    systems: list[str]
    workloads: list[str]
    jobs: int
    slots: list[int]
    cap: float
    latency_rate: float
    latency_seconds: float
    latency_slots: int
    single_submits: int
    cancel_limit: float
    fair_jobs: int
    fair_seconds: float
    fair_slots: int
    list_sizes: list[int]
    list_repeats: int
    quick: bool
    label: str


def parse_args(argv: Sequence[str] | None = None) -> tuple[Plan, bool]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a few minutes")
    parser.add_argument("--systems", default=",".join(ALL_SYSTEMS), help="comma-separated")
    parser.add_argument("--workloads", default=",".join(ALL_WORKLOADS), help="comma-separated")
    parser.add_argument("--jobs", type=int, help="jobs per burn-down (20000; quick 2000)")
    parser.add_argument("--slots", default="1,2,4,8", help="worker slots per burn-down")
    parser.add_argument(
        "--cap", type=float, help="longest worked part of a burn-down, s (15; quick 5)"
    )
    parser.add_argument("--latency-rate", type=float, default=200.0, help="submits per second")
    parser.add_argument("--latency-seconds", type=float, help="steady state length (30; quick 3)")
    parser.add_argument(
        "--fair-jobs", type=int, help="fair share: user A's queued jobs (200; quick 50)"
    )
    parser.add_argument(
        "--fair-seconds", type=float, help="fair share: each job's duration, s (0.2; quick 0.2)"
    )
    parser.add_argument("--list-sizes", help="jobs in the list database (10000,100000,1000000)")
    parser.add_argument("--label", default="", help="a name for this run (e.g. before, after)")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    systems = [s for s in args.systems.split(",") if s]
    workloads = [w for w in args.workloads.split(",") if w]
    for name, given, known in (
        ("system", systems, ALL_SYSTEMS),
        ("workload", workloads, ALL_WORKLOADS),
    ):
        unknown = set(given) - set(known)
        if unknown:
            parser.error(f"unknown {name}(s) {', '.join(sorted(unknown))}; known: {known}")
    quick = args.quick
    sizes = args.list_sizes or ("10000,100000" if quick else "10000,100000,1000000")
    plan = Plan(
        systems=systems,
        workloads=workloads,
        jobs=args.jobs or (2000 if quick else 20000),
        slots=[int(s) for s in args.slots.split(",")],
        cap=args.cap or (5.0 if quick else 15.0),
        latency_rate=args.latency_rate,
        latency_seconds=args.latency_seconds or (3.0 if quick else 30.0),
        latency_slots=4,
        single_submits=200 if quick else 1000,
        cancel_limit=6.0 if quick else 10.0,
        fair_jobs=args.fair_jobs or (50 if quick else 200),
        fair_seconds=args.fair_seconds or 0.2,
        fair_slots=2,
        list_sizes=[int(s) for s in sizes.split(",")],
        list_repeats=5 if quick else 20,
        quick=quick,
        label=args.label,
    )
    return plan, not args.no_doc


def make_system(name: str) -> System:
    """Imported here, one at a time: a missing peer fails its own cases, not the run."""
    if name.startswith("jobprocessor-"):
        from bench.peers.jobprocessor_peer import PREFETCH, JobProcessorSystem

        store, _, variant = name.removeprefix("jobprocessor-").partition("-")
        return JobProcessorSystem(store, prefetch=PREFETCH if variant == "prefetch" else 0)
    if name == "procrastinate":
        from bench.peers.procrastinate_peer import ProcrastinateSystem

        return ProcrastinateSystem()
    if name == "pgqueuer":
        from bench.peers.pgqueuer_peer import PgqueuerSystem

        return PgqueuerSystem()
    if name in ("rq", "rq-simple"):
        from bench.peers.rq_peer import RqSystem

        return RqSystem(simple=name == "rq-simple")
    from bench.peers.celery_peer import CelerySystem

    return CelerySystem()


@dataclass
class Results:
    """Every case measured so far (an interrupted run still writes these)."""

    submission: list[Submission] = field(default_factory=list)
    burn_down: list[BurnDown] = field(default_factory=list)
    latency: list[Latency] = field(default_factory=list)
    cancel: list[Cancel] = field(default_factory=list)
    fair_share: list[FairShare] = field(default_factory=list)
    listing: list[listing.ListCase] = field(default_factory=list)
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)


C = TypeVar("C", bound=Case)


#: The shared PostgreSQL server may be restarted by other work (fault tests): a case
#: that saw it restart runs again, up to this many times in all.
ATTEMPTS = 3


def guarded(blank: C, action: Callable[[], C], *, postgres: bool = False) -> C:
    """A failed case reports its error in its row and the run goes on.

    A case on PostgreSQL first waits until the server has been up for a while, and
    runs again if the server restarted under it (its ``note`` then says so).
    """
    error = ""
    for attempt in range(1, ATTEMPTS + 1):
        epoch = services.pg_wait_stable() if postgres else None
        try:
            result = action()
            if not postgres or services.pg_epoch() == epoch:
                if attempt > 1:
                    result.note = "; ".join(
                        x for x in (result.note, f"attempt {attempt} (PostgreSQL restarted)") if x
                    )
                return result
            error = "PostgreSQL restarted during the case"
        except Interrupted:
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
            if not postgres or services.pg_epoch() == epoch:
                break  # not a restart: a real failure
        say(f"  {blank.system}: attempt {attempt} disturbed ({error})")
    blank.error = error
    say(f"  {blank.system}: failed: {blank.error}")
    return blank


def measure_system(plan: Plan, name: str, results: Results) -> None:
    system = make_system(name)
    pg = system.store == "postgresql"
    stamps = stamps_for(RESULTS)
    results.systems[name] = {
        "store": system.store,
        "slots_are": system.slots_are,
        "bulk_api": system.bulk_api,
        "cancel_mechanism": system.cancel_mechanism,
        "versions": system.versions(),
    }
    workloads = [w for w in plan.workloads if system.workloads is None or w in system.workloads]
    try:
        if "submission" in workloads:
            say(f"{name}: submission")
            results.submission.append(
                guarded(
                    Submission(system=name, single_jobs=plan.single_submits),
                    lambda: submission(system, plan.single_submits),
                    postgres=pg,
                )
            )
        if "burn-down" in workloads:
            for slots in plan.slots:
                say(f"{name}: burn-down of {plan.jobs:,} jobs, {slots} slot(s)")
                case = guarded(
                    BurnDown(system=name, slots=slots, jobs=plan.jobs),
                    lambda slots=slots: burn_down(system, slots, plan.jobs, plan.cap, stamps),
                    postgres=pg,
                )
                results.burn_down.append(case)
                say(f"  {fmt(case.jobs_per_second)} jobs/s, {case.started:,} started")
        if "latency" in workloads:
            say(f"{name}: {plan.latency_rate:g} submits/s for {plan.latency_seconds:g} s")
            case_l = guarded(
                Latency(
                    system=name,
                    slots=plan.latency_slots,
                    target_rate=plan.latency_rate,
                    seconds=plan.latency_seconds,
                ),
                lambda: latency(
                    system, plan.latency_slots, plan.latency_rate, plan.latency_seconds, stamps
                ),
                postgres=pg,
            )
            results.latency.append(case_l)
            say(f"  p50 {fmt(case_l.ms.get('p50'))} ms")
        if "cancel" in workloads:
            for kind in CANCEL_KINDS:
                say(f"{name}: cancel a {kind} job")
                case_c = guarded(
                    Cancel(system=name, kind=kind, mechanism=system.cancel_mechanism[kind]),
                    lambda kind=kind: cancel(system, kind, plan.cancel_limit, stamps),
                    postgres=pg,
                )
                results.cancel.append(case_c)
                say(f"  {fmt(case_c.seconds, 3)} s {case_c.note or ''}".rstrip())
        if "fair-share" in workloads:
            if system.submitters is None:
                say(f"{name}: fair share not measured (its peer module has no such jobs)")
            else:
                say(
                    f"{name}: fair share, A queues {plan.fair_jobs} jobs of "
                    f"{plan.fair_seconds:g} s, then B one, {plan.fair_slots} slots"
                )
                case_f = guarded(
                    FairShare(
                        system=name,
                        slots=plan.fair_slots,
                        a_jobs=plan.fair_jobs,
                        job_seconds=plan.fair_seconds,
                        submitters=system.submitters,
                    ),
                    lambda: fair_share(
                        system, plan.fair_slots, plan.fair_jobs, plan.fair_seconds, stamps
                    ),
                    postgres=pg,
                )
                results.fair_share.append(case_f)
                say(
                    f"  B waited {fmt(case_f.b_wait_seconds, 3)} s, "
                    f"after {case_f.a_before_b} of A's jobs"
                )
    finally:
        system.close()


def measure(plan: Plan, results: Results) -> None:
    services.ensure_postgres()
    if any(s.startswith(("rq", "celery")) for s in plan.systems):
        services.ensure_redis()
    for name in plan.systems:
        measure_system(plan, name, results)
    if "raw" in plan.workloads:
        for store in ("sqlite", "postgresql"):
            for slots in plan.slots:
                say(f"raw-{store}: {plan.jobs:,} rows, {slots} process(es)")
                case = guarded(
                    BurnDown(system=f"raw-{store}", slots=slots, jobs=plan.jobs),
                    lambda store=store, slots=slots: raw.burn_down(
                        store, slots, plan.jobs, plan.cap
                    ),
                    postgres=store == "postgresql",
                )
                results.burn_down.append(case)
                say(f"  {fmt(case.jobs_per_second)} rows/s")
    if "list" in plan.workloads:
        for store in ("sqlite", "postgresql"):
            say(f"list on {store}: {', '.join(f'{s:,}' for s in plan.list_sizes)} jobs")
            for attempt in range(1, ATTEMPTS + 1):
                if store == "postgresql":
                    services.pg_wait_stable()
                try:
                    results.listing += listing.measure(store, plan.list_sizes, plan.list_repeats)
                    break
                except Interrupted:
                    raise
                except Exception as error:
                    say(f"  list on {store}: attempt {attempt} failed ({error})")


def versions() -> dict[str, str]:
    import sqlite3

    import jobprocessor

    found = {"sqlite": sqlite3.sqlite_version}
    try:
        found["postgresql"] = services.pg_version()
    except Exception as error:
        found["postgresql"] = f"unknown ({type(error).__name__})"
    try:
        found["redis"] = services.redis_version()
    except Exception as error:
        found["redis"] = f"unknown ({type(error).__name__})"
    found["jobprocessor source"] = os.path.dirname(jobprocessor.__file__)
    return found


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip() + (" (src modified)" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    plan, write_doc = parse_args(argv)
    install_signal_handlers()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = Results()
    interrupted: str | None = None
    begun = time.time()
    try:
        measure(plan, results)
    except Interrupted as stop:
        interrupted = str(stop)
        say(f"interrupted by {interrupted}: reporting what was measured")
    document = {
        "started_at": stamp,
        "label": plan.label,
        "commit": git_commit(),
        "duration_seconds": round(time.time() - begun, 1),
        "interrupted": interrupted,
        "plan": asdict(plan),
        "machine": machine(),
        "versions": versions(),
        **asdict(results),
    }
    out = RESULTS / f"run-{stamp}{'-' + plan.label if plan.label else ''}.json"
    out.write_text(json.dumps(document, indent=1) + "\n")
    print(report.text_tables(document))
    say(f"wrote {out} after {elapsed():.0f} s")
    if write_doc and not interrupted:
        written = report.write_doc(document)
        say(f"wrote {written}")
    if interrupted:
        return 130
    cases = (*results.burn_down, *results.latency, *results.cancel, *results.fair_share)
    errors = [c for c in cases if c.error]
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
