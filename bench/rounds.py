"""A worker's rounds alone: what one round costs the database, without job processes.

A burn-down on this 2-core machine moves by up to 40 % between runs of the same
commit, which hides a change of a tenth in the round. Here one connection does
nothing but rounds (each writes the outcomes of the jobs the previous one claimed
and claims as many again) over freshly queued no-op jobs, and the cost is read two
ways: the round's wall time on the client, and the CPU time the database spent on
it (PostgreSQL: the server process of the round's connection, read from
``/proc/<pid>/stat``; SQLite runs in this process, so its figure includes the
engine's Python around the statements). Runs alternate between the databases, so
that a slow spell of the machine falls on both. ``--async-commit`` leaves the flush
of PostgreSQL's write-ahead log out of the round (``synchronous_commit = off`` on the
round's connection): that flush costs the same whatever the statement, and its
kernel time varies more than the statement's own.

    scripts/bench --help   # creates bench/.venv-peers once; then:
    PYTHONPATH=.:src bench/.venv-peers/bin/python -m bench.rounds \\
        [--databases sqlite,postgresql] [--rounds 3000] [--jobs-per-round 1] [--runs 3] \\
        [--async-commit]

``--statements`` (SQLite) also splits a round's time among its statements: sqlite3's
trace callback stamps each statement as it begins, so a statement's time is from its
stamp to the next one's (the Python between them included), the COMMIT's to the
round's end.

A table in Markdown goes to stdout; ``bench/engine_changes.md`` (change 34 and the
profile after it) shows how it was used.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import psycopg
from sqlalchemy import event

from bench.peers.jobprocessor_peer import JobProcessorSystem
from bench.services import PG_ADMIN
from jobprocessor.model import Status
from jobprocessor.store.engine import create_db_engine
from jobprocessor.store.jobs import ClaimRequest, JobStore, Outcome, RunLease

#: The first rounds are left out: statements are prepared and caches filled.
WARM_UP = 100
WORKER = "bench-rounds"
TYPES = ("bench.noop",)
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One run's figures, in milliseconds per round."""

    database: str
    wall_p50: float
    wall_p95: float
    cpu: float
    #: Milliseconds a round per kind of statement (SQLite with ``--statements``).
    statements: dict[str, float] = field(default_factory=dict)


class StatementClock:
    """Stamps of a SQLite round's statements, from the connection's trace callback."""

    def __init__(self) -> None:
        self.stamps: list[tuple[float, str]] = []
        self.totals: Counter[str] = Counter()

    def begin_round(self) -> None:
        self.stamps.clear()

    def trace(self, sql: str) -> None:
        self.stamps.append((time.perf_counter(), _kind(sql)))

    def end_round(self, counted: bool) -> None:
        ends = [stamp for stamp, _ in self.stamps[1:]] + [time.perf_counter()]
        if counted:
            for (began, kind), ended in zip(self.stamps, ends, strict=True):
                self.totals[kind] += ended - began


def _kind(sql: str) -> str:
    words = sql.split()
    first = words[0].upper() if words else "?"
    if first == "UPDATE":
        return "take (UPDATE)" if "attempts + 1" in sql else "finish (UPDATE)"
    if first in ("WITH", "SELECT"):
        return "claim (SELECT)"
    if first == "INSERT":
        return "events (INSERT)"
    return first


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from ``/proc`` (10 ms ticks: read over
    thousands of rounds, the rounding averages out)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def round_backend_pid(database: str) -> int:
    """The server process of the connection that ran the last round."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s "
            "AND query LIKE %s ORDER BY backend_start DESC LIMIT 1",
            (database, "%WITH finished AS%"),
        ).fetchone()
    if row is None:
        raise RuntimeError("the round's connection was not found in pg_stat_activity")
    return int(row[0])


def measure(
    database: str,
    rounds: int,
    per_round: int,
    *,
    async_commit: bool = False,
    statements: bool = False,
) -> Run:
    """Queue the jobs, then time ``rounds`` rounds of ``per_round`` outcomes and claims."""
    system = JobProcessorSystem(database)
    system.reset()
    system.submit_many(range(per_round * (rounds + WARM_UP + 1)))
    system.settle_after_submit()
    if async_commit and database == "postgresql":
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:  # read by new sessions
            admin.execute("ALTER DATABASE bench_jobprocessor SET synchronous_commit = off")
    engine = create_db_engine(system.url, pool_size=2)
    clock = StatementClock() if statements and database == "sqlite" else None
    if clock is not None:
        event.listen(engine, "connect", lambda driver, _: driver.set_trace_callback(clock.trace))
    store = JobStore(engine)
    liveness = store.workers.liveness(WORKER, silence=600)
    liveness.register(host="bench", pid=os.getpid(), slots=per_round)
    store.keep_round_connection()
    claim = ClaimRequest.anything(TYPES, per_round)
    try:
        running = store.claim(WORKER, TYPES, per_round, claim)
        cpu_of: Callable[[], float] = time.process_time
        if database == "postgresql":
            pid = round_backend_pid("bench_jobprocessor")
            cpu_of = lambda: process_cpu_seconds(pid)  # noqa: E731
        walls: list[float] = []
        cpu_before = 0.0
        for number in range(WARM_UP + rounds):
            if number == WARM_UP:
                cpu_before = cpu_of()
            outcomes = [(RunLease.of(job), Outcome(Status.SUCCEEDED)) for job in running]
            began = time.perf_counter()
            if clock is not None:
                clock.begin_round()
            held, running = store.finish_and_claim(WORKER, outcomes, claim)
            walls.append(time.perf_counter() - began)
            if clock is not None:
                clock.end_round(counted=number >= WARM_UP)
            if not all(held) or len(running) != per_round:
                raise RuntimeError(f"round {number}: outcomes held {held}, {len(running)} claimed")
        cpu = (cpu_of() - cpu_before) / rounds
    finally:
        store.close()
        liveness.close()
        engine.dispose()
        system.close()
    measured = walls[WARM_UP:]
    return Run(
        database,
        wall_p50=1e3 * statistics.median(measured),
        wall_p95=1e3 * statistics.quantiles(measured, n=20)[18],
        cpu=1e3 * cpu,
        statements={k: 1e3 * v / rounds for k, v in clock.totals.items()} if clock else {},
    )


def table(runs: Sequence[Run], per_round: int) -> str:
    lines = [
        "| database | jobs a round | round p50 (ms) | round p95 (ms) | CPU a round (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run.database} | {per_round} | {run.wall_p50:.3f} | {run.wall_p95:.3f} "
            f"| {run.cpu:.3f} |"
        )
    lines.append("")
    lines.append(
        "CPU: PostgreSQL's server process of the round's connection; SQLite: this "
        "process (the engine's Python included)."
    )
    split = [run for run in runs if run.statements]
    if split:
        kinds = sorted({kind for run in split for kind in run.statements})
        lines += ["", "| run | " + " | ".join(kinds) + " |", "|---" + "|---:" * len(kinds) + "|"]
        for number, run in enumerate(split, 1):
            cells = " | ".join(f"{run.statements.get(kind, 0):.3f}" for kind in kinds)
            lines.append(f"| {run.database} {number} | {cells} |")
        lines += ["", "Milliseconds a round per statement, from its start to the next one's."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--rounds", type=int, default=3000, help="rounds measured per run")
    parser.add_argument("--jobs-per-round", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="runs per database, alternating")
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="PostgreSQL: leave the WAL flush out of the round (synchronous_commit = off)",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="SQLite: split the round's time among its statements",
    )
    args = parser.parse_args(argv)
    databases = [d for d in args.databases.split(",") if d]
    unknown = set(databases) - {"sqlite", "postgresql"}
    if unknown or args.rounds < 20 or args.jobs_per_round < 1 or args.runs < 1:
        parser.error("databases are sqlite and postgresql; at least 20 rounds, 1 job, 1 run")
    runs = []
    for number in range(args.runs):
        for database in databases:
            print(f"run {number + 1}: {database}", file=sys.stderr)
            runs.append(
                measure(
                    database,
                    args.rounds,
                    args.jobs_per_round,
                    async_commit=args.async_commit,
                    statements=args.statements,
                )
            )
    print(table(runs, args.jobs_per_round))
    return 0


if __name__ == "__main__":
    sys.exit(main())
