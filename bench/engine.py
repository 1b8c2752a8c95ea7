"""Engine benchmark: burn-down throughput, submit→start latency and submission speed.

Run ``.venv/bin/python bench/engine.py --help``; bench/README.md explains each
figure. The worker always runs in its own process (the real ``jobprocessor
worker`` command), so this process's polling and submitting never share a GIL
with it. Timings come from the database's own timestamps where they can, so that
this process's polling interval does not blur them. Nothing here asserts a
timing: the figures describe one machine at one moment, and are noisy when
other work runs on it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

import jobprocessor.diagnostics  # noqa: F401  (registers diag.noop in this process)
from jobprocessor.model import Actor, Role, Status
from jobprocessor.service import JobService, open_service
from jobprocessor.settings import Settings
from jobprocessor.store.tables import jobs

RESULTS = Path(__file__).resolve().parent / "results"
JOB_TYPE = "diag.noop"
APP = "jobprocessor.diagnostics"
BENCH_DB = "jobprocessor_bench"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ACTOR = Actor("bench", Role.ADMIN)
BULK_CHUNK = 500
#: How often this process looks at the job counts while a worker burns down.
POLL = 0.2
#: A burn-down that finishes no job for this long is abandoned (and reported).
STALL_TIMEOUT = 90.0
WORKER_STOP_TIMEOUT = 60.0
#: Other work on this machine may restart PostgreSQL; a disturbed case runs again.
CASE_ATTEMPTS = 3
#: Before each case, how long PostgreSQL must have been up, and how long to wait for that.
STABLE_UPTIME = 30.0
DATABASE_WAIT = 300.0
_ACTIVE = [s.value for s in Status if not s.is_finished]


# -- configuration ----------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What one run measures; ``--quick`` shrinks it to a smoke test."""

    jobs: int
    slots: list[int]
    databases: list[str]
    latency_rate: float
    latency_seconds: float
    latency_slots: int
    single_submits: int


def parse_args(argv: Sequence[str] | None = None) -> Plan:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, help="jobs per burn-down (default 5000; quick 1000)")
    parser.add_argument("--slots", default="1,2,4,8", help="worker slot counts to burn down with")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite and/or postgresql")
    parser.add_argument(
        "--latency-rate", type=float, default=50.0, help="latency submits per second"
    )
    parser.add_argument(
        "--latency-seconds", type=float, help="latency test length (default 10; quick 3)"
    )
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    args = parser.parse_args(argv)
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(databases) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown database(s): {', '.join(sorted(unknown))}")
    try:
        slots = [int(s) for s in args.slots.split(",") if s.strip()]
    except ValueError:
        slots = []
    if not slots or min(slots) < 1:
        parser.error("--slots needs positive integers, e.g. 1,2,4,8")
    if args.latency_rate <= 0:
        parser.error("--latency-rate must be positive")
    jobs_n = args.jobs if args.jobs is not None else (1000 if args.quick else 5000)
    if jobs_n < 1:
        parser.error("--jobs must be positive")
    seconds = (
        args.latency_seconds if args.latency_seconds is not None else (3.0 if args.quick else 10.0)
    )
    return Plan(
        jobs=jobs_n,
        slots=slots,
        databases=databases,
        latency_rate=args.latency_rate,
        latency_seconds=seconds,
        latency_slots=2,
        single_submits=200 if args.quick else 1000,
    )


# -- databases ----------------------------------------------------------------------


class Target(ABC):
    """One database under test, which can be wiped so that each case starts empty."""

    name: str
    url: str

    @abstractmethod
    def reset(self) -> None: ...

    @abstractmethod
    def version(self) -> str: ...

    def epoch(self) -> str | None:
        """Changes when the server restarts, so that a disturbed case can be run again."""
        return None

    def wait_ready(self) -> None:
        """Return once the database answers (it may be restarting)."""
        return None


class SqliteTarget(Target):
    """A file under bench/results/ (git-ignored); reset deletes it and its WAL files."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"

    def reset(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal", ".migrate.lock"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def version(self) -> str:
        return sqlite3.sqlite_version


class PostgresTarget(Target):
    """A dedicated database on the server, dropped and created again per case."""

    name = "postgresql"

    def __init__(self, server_url: str, database: str = BENCH_DB) -> None:
        server = make_url(server_url)
        self._admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
        self.database = database
        self.url = server.set(drivername="postgresql+psycopg", database=database).render_as_string(
            hide_password=False
        )

    def reset(self) -> None:
        with psycopg.connect(self._admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{self.database}"')

    def version(self) -> str:
        return self._scalar("SHOW server_version")

    def epoch(self) -> str | None:
        return self._scalar("SELECT pg_postmaster_start_time()::text")

    def wait_ready(self) -> None:
        """Wait until the server has been up for STABLE_UPTIME: restarts come in bursts."""
        deadline = time.monotonic() + DATABASE_WAIT
        while True:
            try:
                uptime = float(
                    self._scalar("SELECT extract(epoch FROM now() - pg_postmaster_start_time())")
                )
                if uptime >= STABLE_UPTIME:
                    return
                pause = min(STABLE_UPTIME - uptime, 5.0)
            except psycopg.OperationalError:
                pause = 1.0
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL not up for {STABLE_UPTIME:g} s in a row")
            checkpoint()
            time.sleep(pause)

    def _scalar(self, query: str) -> str:
        with psycopg.connect(self._admin_dsn, autocommit=True, connect_timeout=10) as connection:
            row = connection.execute(query).fetchone()
        return str(row[0]) if row else "unknown"


def make_target(name: str) -> Target:
    if name == "sqlite":
        return SqliteTarget(RESULTS / "engine-bench.sqlite3")
    return PostgresTarget(os.environ.get("JOBPROCESSOR_BENCH_PG_URL", DEFAULT_PG_URL))


@contextlib.contextmanager
def fresh_service(target: Target) -> Iterator[JobService]:
    """An empty, migrated database and a service on it; the engine is closed after."""
    target.reset()
    service = open_service(Settings(database_url=target.url))
    try:
        yield service
    finally:
        service.store.engine.dispose()


# -- the worker process -------------------------------------------------------------


class WorkerProcess:
    """``jobprocessor worker`` in a subprocess, its log in bench/results/logs/."""

    def __init__(self, target: Target, slots: int, log_name: str) -> None:
        command = [*_worker_command(), "worker", "--app", APP, "--concurrency", str(slots)]
        env = dict(os.environ, JOBPROCESSOR_DATABASE_URL=target.url)
        log_dir = RESULTS / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{log_name}.log"
        self._log = self.log_path.open("wb")
        self.launched_at = datetime.now(UTC)
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> tuple[int | None, float]:
        """SIGTERM (graceful drain), then SIGKILL if it hangs; returns (exit code, seconds)."""
        begun = time.monotonic()
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(WORKER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode, time.monotonic() - begun


def _worker_command() -> list[str]:
    script = Path(sys.executable).with_name("jobprocessor")
    if script.exists():
        return [str(script)]
    found = shutil.which("jobprocessor")
    if found:
        return [found]
    return [sys.executable, "-m", "jobprocessor.cli"]


# -- database reads -----------------------------------------------------------------


def count_active(engine: Engine) -> int:
    with engine.connect() as connection:
        statement = select(func.count()).select_from(jobs).where(jobs.c.status.in_(_ACTIVE))
        return int(connection.execute(statement).scalar_one())


def status_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status))
        return {str(status): int(n) for status, n in rows}


Times = tuple[datetime, datetime | None, datetime | None]


def job_times(engine: Engine, after_id: int = 0) -> list[Times]:
    """(created_at, started_at, finished_at) of every job with an id above ``after_id``."""
    statement = (
        select(jobs.c.created_at, jobs.c.started_at, jobs.c.finished_at)
        .where(jobs.c.id > after_id)
        .order_by(jobs.c.id)
    )
    with engine.connect() as connection:
        return [(r.created_at, r.started_at, r.finished_at) for r in connection.execute(statement)]


def wait_until_idle(engine: Engine, worker: WorkerProcess, expected: int) -> str | None:
    """Poll until no job is active; an error text if the worker died or stalled."""
    last_active, last_change = -1, time.monotonic()
    while True:
        checkpoint()
        active = count_active(engine)
        if active == 0:
            return None
        if not worker.alive():
            return f"worker exited with code {worker.process.returncode} ({active} jobs active)"
        if active != last_active:
            last_active, last_change = active, time.monotonic()
        elif time.monotonic() - last_change > STALL_TIMEOUT:
            return f"no job finished for {STALL_TIMEOUT:g} s ({active} of {expected} still active)"
        time.sleep(POLL)


# -- cases and their retries --------------------------------------------------------


@dataclass(kw_only=True)
class Case:
    """What every measured case records besides its figures."""

    database: str
    attempts: int = 1
    error: str | None = None
    load_before: list[float] = field(default_factory=lambda: list(os.getloadavg()))


C = TypeVar("C", bound=Case)


def run_case(target: Target, label: str, case: Callable[[], C], blank: C) -> C:
    """Run a case, again if the database failed or restarted under it.

    Other work on this machine may restart the shared PostgreSQL server. After
    CASE_ATTEMPTS disturbed attempts, ``blank`` is returned with the last error.
    """
    error = ""
    for attempt in range(1, CASE_ATTEMPTS + 1):
        try:
            target.wait_ready()
            epoch = target.epoch()
            result = case()
            if target.epoch() == epoch:
                result.attempts = attempt
                return result
            error = "the database server restarted during the case"
        except (SQLAlchemyError, psycopg.Error, OSError) as exc:
            error = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
        say(f"  {label}: attempt {attempt} disturbed ({error})")
    blank.error, blank.attempts = error, CASE_ATTEMPTS
    return blank


# -- 1. burn-down -------------------------------------------------------------------


@dataclass(kw_only=True)
class BurnDown(Case):
    """N queued no-op jobs worked off by one worker with ``slots`` slots."""

    slots: int
    jobs: int
    submit_seconds: float | None = None
    db_seconds: float | None = None
    jobs_per_second: float | None = None
    wall_seconds: float | None = None
    wall_jobs_per_second: float | None = None
    startup_seconds: float | None = None
    stop_seconds: float | None = None
    worker_exit_code: int | None = None
    statuses: dict[str, int] = field(default_factory=dict)


def submit_bulk(service: JobService, count: int, chunk: int = BULK_CHUNK) -> float:
    """Queue ``count`` no-op jobs with submit_many in chunks; returns the seconds taken."""
    begun = time.perf_counter()
    for start in range(0, count, chunk):
        checkpoint()
        service.submit_many(ACTOR, JOB_TYPE, [{}] * min(chunk, count - start))
    return time.perf_counter() - begun


def burn_down(target: Target, slots: int, count: int) -> BurnDown:
    """Queue everything first, then time one worker draining it, from the database."""
    result = BurnDown(database=target.name, slots=slots, jobs=count)
    with fresh_service(target) as service:
        engine = service.store.engine
        result.submit_seconds = submit_bulk(service, count)
        worker = WorkerProcess(target, slots, f"burn-{target.name}-k{slots}")
        try:
            result.error = wait_until_idle(engine, worker, count)
        finally:
            result.worker_exit_code, result.stop_seconds = worker.stop()
        result.statuses = status_counts(engine)
        times = job_times(engine)
    started = [s for _, s, _ in times if s is not None]
    finished = [f for _, _, f in times if f is not None]
    if result.error is None and started and finished:
        first_start, last_finish = min(started), max(finished)
        result.db_seconds = (last_finish - first_start).total_seconds()
        result.wall_seconds = (last_finish - worker.launched_at).total_seconds()
        result.startup_seconds = (first_start - worker.launched_at).total_seconds()
        if result.db_seconds > 0:
            result.jobs_per_second = count / result.db_seconds
        result.wall_jobs_per_second = count / result.wall_seconds
    return result


# -- 2. submit→start latency --------------------------------------------------------


@dataclass(kw_only=True)
class Latency(Case):
    """started_at minus created_at of jobs submitted one by one to an idle worker."""

    slots: int
    target_rate: float
    jobs: int = 0
    achieved_rate: float | None = None
    ms: dict[str, float] = field(default_factory=dict)
    samples_ms: list[float] = field(default_factory=list)


def latency(target: Target, slots: int, rate: float, seconds: float) -> Latency:
    """Steady single submits to a warmed-up, idle worker; the delays come from the rows."""
    result = Latency(database=target.name, slots=slots, target_rate=rate)
    with fresh_service(target) as service:
        engine = service.store.engine
        worker = WorkerProcess(target, slots, f"latency-{target.name}-k{slots}")
        try:
            warm_up = service.submit(ACTOR, JOB_TYPE)  # proves the worker claims before we time
            result.error = wait_until_idle(engine, worker, 1)
            if result.error is None:
                time.sleep(1.0)  # let the worker settle into its idle wait
                count = max(1, round(rate * seconds))
                begun = time.perf_counter()
                for i in range(count):
                    checkpoint()
                    delay = begun + i / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    service.submit(ACTOR, JOB_TYPE)
                elapsed = time.perf_counter() - begun
                result.achieved_rate = count / elapsed if elapsed > 0 else None
                result.error = wait_until_idle(engine, worker, count)
        finally:
            worker.stop()
        times = job_times(engine, after_id=warm_up.id)
    samples = [(s - c).total_seconds() * 1000 for c, s, _ in times if s is not None]
    result.jobs = len(samples)
    result.samples_ms = [round(v, 3) for v in samples]
    if samples:
        result.ms = {
            "p50": percentile(samples, 50),
            "p95": percentile(samples, 95),
            "p99": percentile(samples, 99),
            "max": max(samples),
            "mean": sum(samples) / len(samples),
        }
    return result


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), without numpy."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# -- 3. submission speed ------------------------------------------------------------


@dataclass(kw_only=True)
class Submission(Case):
    """Jobs queued per second, one call per job and submit_many in chunks."""

    single_jobs: int
    bulk_jobs: int
    bulk_chunk: int = BULK_CHUNK
    single_per_second: float | None = None
    bulk_per_second: float | None = None


def submission(target: Target, single: int, bulk: int) -> Submission:
    """No worker runs, so this is the submitting side alone (validation, SQL, commit)."""
    result = Submission(database=target.name, single_jobs=single, bulk_jobs=bulk)
    with fresh_service(target) as service:
        begun = time.perf_counter()
        for i in range(single):
            if i % 100 == 0:
                checkpoint()
            service.submit(ACTOR, JOB_TYPE)
        result.single_per_second = single / (time.perf_counter() - begun)
    with fresh_service(target) as service:
        result.bulk_per_second = bulk / submit_bulk(service, bulk)
    return result


# -- the machine ---------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Enough about the host to compare runs: cores, RAM, CPU, OS, load."""
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "load_average": list(os.getloadavg()),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["ram_gib"] = round(int(line.split()[1]) / 1024**2, 1)
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    return info


def versions(targets: Sequence[Target]) -> dict[str, str]:
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for target in targets:
        if isinstance(target, PostgresTarget):
            try:
                found["postgresql"] = target.version()
            except psycopg.Error as error:
                found["postgresql"] = f"unknown ({type(error).__name__})"
    return found


def worker_settings() -> dict[str, Any]:
    """The settings the worker runs with (environment overrides included)."""
    keys = ("poll_interval", "claim_batch_size", "heartbeat_interval", "cancel_poll_interval")
    settings = Settings()
    return {key: getattr(settings, key) for key in keys}


# -- output --------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table: first column left-aligned, the figures right-aligned."""
    if not rows:
        return "(none)"
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _note(case: Case, width: int = 60) -> str:
    """The error (cut short: the JSON has it whole) and the attempt, if not the first."""
    notes = []
    if case.error:
        notes.append(case.error if len(case.error) <= width else case.error[: width - 1] + "…")
    if case.attempts > 1:
        notes.append(f"attempt {case.attempts}")
    return "; ".join(notes)


def report(
    plan: Plan, burns: list[BurnDown], latencies: list[Latency], submissions: list[Submission]
) -> str:
    """The tables printed at the end of a run (the JSON file has every figure)."""
    burn_rows = [
        [
            b.database,
            str(b.slots),
            _fmt(b.jobs_per_second),
            _fmt(b.db_seconds, 2),
            _fmt(b.wall_seconds, 2),
            _fmt(b.wall_jobs_per_second),
            _fmt(b.startup_seconds, 2),
            str(b.jobs - b.statuses.get(Status.SUCCEEDED.value, 0)),
            _note(b),
        ]
        for b in burns
    ]
    latency_rows = [
        [
            lat.database,
            str(lat.jobs),
            _fmt(lat.achieved_rate),
            *(_fmt(lat.ms.get(k)) for k in ("p50", "p95", "p99", "max", "mean")),
            _note(lat),
        ]
        for lat in latencies
    ]
    submission_rows = [
        [
            s.database,
            _fmt(s.single_per_second),
            str(s.single_jobs),
            _fmt(s.bulk_per_second),
            str(s.bulk_jobs),
            _note(s),
        ]
        for s in submissions
    ]
    return "\n".join(
        [
            f"1. Burn-down: {plan.jobs:,} queued {JOB_TYPE} jobs, one worker, fresh database each",
            table(
                [
                    "database",
                    "slots",
                    "jobs/s",
                    "busy s",
                    "wall s",
                    "jobs/s wall",
                    "start-up s",
                    "not ok",
                    "note",
                ],
                burn_rows,
            ),
            "",
            f"2. Submit→start latency (ms): idle worker with {plan.latency_slots} slots, "
            f"{plan.latency_rate:g} single submits/s for {plan.latency_seconds:g} s",
            table(
                ["database", "jobs", "rate/s", "p50", "p95", "p99", "max", "mean", "note"],
                latency_rows,
            ),
            "",
            "3. Submission speed (jobs queued per second, no worker running)",
            table(
                [
                    "database",
                    "single/s",
                    "jobs",
                    f"bulk/s (chunks of {BULK_CHUNK})",
                    "jobs",
                    "note",
                ],
                submission_rows,
            ),
            "",
            "One run on a shared machine: noisy figures; compare runs, never assert on them.",
        ]
    )


# -- main ----------------------------------------------------------------------------

_BEGUN = time.monotonic()


def say(message: str) -> None:
    """Progress on stderr, so that stdout carries only the tables."""
    print(f"[{time.monotonic() - _BEGUN:6.1f} s] {message}", file=sys.stderr, flush=True)


class Interrupted(Exception):
    """SIGTERM or SIGINT arrived; raised at the next checkpoint."""


_signals: list[int] = []


def _on_signal(signum: int, _: object) -> None:
    """Note the signal; ``checkpoint()`` acts on it where no worker can be left behind.

    Raising here could strike between starting a worker and guarding it with
    ``finally``. A second signal exits at once.
    """
    if _signals:
        raise SystemExit(128 + signum)
    _signals.append(signum)


def checkpoint() -> None:
    if _signals:
        raise Interrupted(signal.Signals(_signals[0]).name)


@dataclass
class Results:
    """Every case measured so far (an interrupted run still writes these)."""

    burn_down: list[BurnDown] = field(default_factory=list)
    latency: list[Latency] = field(default_factory=list)
    submission: list[Submission] = field(default_factory=list)

    def cases(self) -> list[Case]:
        return [*self.burn_down, *self.latency, *self.submission]


def measure(plan: Plan, targets: Sequence[Target], results: Results) -> None:
    """Each database in turn: submission speed, the burn-downs, then latency."""
    for target in targets:
        name = target.name
        say(f"{name}: submission speed")
        results.submission.append(
            run_case(
                target,
                f"{name} submission",
                partial(submission, target, plan.single_submits, plan.jobs),
                Submission(database=name, single_jobs=plan.single_submits, bulk_jobs=plan.jobs),
            )
        )
        for slots in plan.slots:
            say(f"{name}: burn-down of {plan.jobs:,} jobs with {slots} slot(s)")
            burn = run_case(
                target,
                f"{name} burn-down with {slots} slot(s)",
                partial(burn_down, target, slots, plan.jobs),
                BurnDown(database=name, slots=slots, jobs=plan.jobs),
            )
            results.burn_down.append(burn)
            say(f"  {_fmt(burn.jobs_per_second)} jobs/s {_note(burn)}".rstrip())
        say(f"{name}: submit→start latency")
        results.latency.append(
            run_case(
                target,
                f"{name} latency",
                partial(
                    latency, target, plan.latency_slots, plan.latency_rate, plan.latency_seconds
                ),
                Latency(database=name, slots=plan.latency_slots, target_rate=plan.latency_rate),
            )
        )


def main(argv: Sequence[str] | None = None) -> int:
    plan = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _on_signal)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    targets = [make_target(name) for name in plan.databases]
    results = Results()
    interrupted: str | None = None
    try:
        measure(plan, targets, results)
    except Interrupted as stop:
        interrupted = str(stop)
        say(f"interrupted by {interrupted}: reporting what was measured")
    print(report(plan, results.burn_down, results.latency, results.submission))
    document = {
        "benchmark": "engine",
        "started_at": stamp,
        "duration_seconds": round(time.monotonic() - _BEGUN, 1),
        "interrupted": interrupted,
        "plan": asdict(plan),
        "job_type": JOB_TYPE,
        "machine": machine(),
        "versions": versions(targets),
        "worker_settings": worker_settings(),
        **asdict(results),
        "note": "One run on a shared machine; compare runs, never assert on the timings.",
    }
    out = RESULTS / f"engine-{stamp}.json"
    out.write_text(json.dumps(document, indent=2) + "\n")
    say(f"wrote {out}")
    if interrupted:
        return 130
    return 1 if any(case.error for case in results.cases()) else 0


if __name__ == "__main__":
    sys.exit(main())
