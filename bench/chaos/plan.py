"""What a chaos run does and when: its options and its seeded schedule of faults.

Times in a ``Plan`` are seconds from the start of the chaos (once the first
workers are up). The schedule is drawn from the seed alone, so that two runs with
one seed cut, pause and restart at the same moments; which worker a kill hits is
drawn too (a number in [0, 1) that picks among the workers eligible at that moment).
"""

from __future__ import annotations

import argparse
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: The tests' fast timings (tests/conftest.py ``FAST``), so that minutes see many rescues.
TIMINGS: dict[str, float] = {
    "heartbeat_interval": 0.5,
    "heartbeat_timeout": 3.0,
    "poll_interval": 0.05,
    "cancel_poll_interval": 0.1,
    "shutdown_timeout": 5.0,
}
HEARTBEAT_TIMEOUT = TIMINGS["heartbeat_timeout"]
#: Three workers, two slots each; the last one lives in a network namespace.
WORKERS = 3
SLOTS = 2
#: Seconds between two kills, drawn uniformly between these.
KILL_GAP = (2.0, 5.0)
#: No kill in the first seconds: every worker has started and jobs flow.
FIRST_KILL = 5.0
#: A worker is paused past the heartbeat timeout, its link cut for longer still.
PAUSE_FOR = 2 * HEARTBEAT_TIMEOUT + 1.0
CUT_FOR = 3 * HEARTBEAT_TIMEOUT + 1.0
#: The limits the checks hold the figures to (see docs/reliability.md, "The chaos run").
RESCUE_LIMIT = 2 * HEARTBEAT_TIMEOUT
RECOVERY_LIMIT = 10.0
#: How long ``--db-outage`` keeps the run's database away (about a restart here).
OUTAGE = 2.0


@dataclass(frozen=True)
class Options:
    """The command line, parsed."""

    minutes: float
    jobs: int
    seed: int
    #: "server" (pg_ctlcluster restart), "database" (``pg.outage``) or "none".
    db_restart: str
    keep_db: bool
    drain_timeout: float
    max_queue: int
    #: A run's directory to check again instead of running.
    recheck: Path | None = None


@dataclass(frozen=True)
class Plan:
    """The faults of one run, in seconds from the start of the chaos."""

    seed: int
    duration: float
    #: (when, pick): each kill's time and the draw that picks its victim.
    kills: list[tuple[float, float]] = field(default_factory=list)
    pause_at: float = 0.0
    cut_at: float = 0.0
    restart_at: float | None = None

    def describe(self) -> str:
        restart = "none" if self.restart_at is None else f"{self.restart_at:.0f} s"
        return (
            f"{len(self.kills)} kills, pause at {self.pause_at:.0f} s for {PAUSE_FOR:.0f} s, "
            f"cut at {self.cut_at:.0f} s for {CUT_FOR:.0f} s, PostgreSQL restart at {restart}"
        )


def make_plan(options: Options) -> Plan:
    """The seeded schedule: kills every few seconds, then one pause, one cut, one restart,
    spread over the run so that each has the cluster to itself apart from the kills."""
    rng = random.Random(options.seed)
    duration = options.minutes * 60
    kills = []
    at = FIRST_KILL
    while at < duration:
        kills.append((round(at, 2), rng.random()))
        at += rng.uniform(*KILL_GAP)
    pause_at = duration * rng.uniform(0.20, 0.28)
    cut_at = duration * rng.uniform(0.40, 0.48)
    restart_at = duration * rng.uniform(0.62, 0.72)
    if options.db_restart == "none":
        return Plan(options.seed, duration, kills, pause_at, cut_at, None)
    return Plan(options.seed, duration, kills, pause_at, cut_at, restart_at)


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="scripts/chaos",
        description="Kill, pause, cut off and restart under a running JobProcessor "
        "cluster on PostgreSQL, then check every invariant (docs/reliability.md).",
    )
    parser.add_argument("--minutes", type=float, help="length of the chaos (default 4)")
    parser.add_argument(
        "--jobs",
        type=int,
        help="jobs offered over the chaos, at an even rate (default 2400); the submitter "
        "holds back while --max-queue jobs are queued, so a slow machine runs fewer",
    )
    parser.add_argument("--seed", type=int, help="seed of the schedule and the job mix")
    parser.add_argument("--quick", action="store_true", help="about a minute of chaos and 600 jobs")
    restart = parser.add_mutually_exclusive_group()
    restart.add_argument(
        "--no-db-restart",
        dest="db_restart",
        action="store_const",
        const="none",
        default="server",
        help="leave PostgreSQL alone (its restart drops every other user's connections)",
    )
    restart.add_argument(
        "--db-outage",
        dest="db_restart",
        action="store_const",
        const="database",
        help="instead of restarting the server, end every session of the run's database "
        f"and refuse connections to it for {OUTAGE:g} s: a restart as this database sees "
        "it, which no one else on the server notices",
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the run's database for a look afterwards"
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=300.0,
        help="seconds the workers get to finish every job after the chaos (default 300)",
    )
    parser.add_argument(
        "--max-queue",
        type=int,
        default=150,
        help="the submitter waits while this many jobs are queued (default 150)",
    )
    parser.add_argument(
        "--recheck",
        type=Path,
        metavar="DIR",
        help="run no chaos: check again what the run in DIR (bench/results/chaos-<time>) kept",
    )
    args = parser.parse_args(argv)
    minutes = args.minutes if args.minutes is not None else (1.0 if args.quick else 4.0)
    jobs = args.jobs if args.jobs is not None else (600 if args.quick else 2400)
    if minutes <= 0 or jobs <= 0:
        parser.error("--minutes and --jobs must be positive")
    if minutes * 60 < 40:
        parser.error("--minutes must leave room for a pause, a cut and a restart (40 s at least)")
    seed = args.seed if args.seed is not None else secrets.randbelow(1_000_000)
    return Options(
        minutes=minutes,
        jobs=jobs,
        seed=seed,
        db_restart=args.db_restart,
        keep_db=args.keep_db,
        drain_timeout=args.drain_timeout,
        max_queue=args.max_queue,
        recheck=args.recheck,
    )
