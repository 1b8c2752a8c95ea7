"""Job types for the scheduling tests: limits, queues, timeouts."""

from __future__ import annotations

import os
import time
from pathlib import Path

from jobprocessor import JobContext, job


def _stamp(path: str, what: str) -> None:
    if path:
        with Path(path).open("a") as stamps:
            stamps.write(f"{what} {time.monotonic():.6f} {os.getpid()}\n")


@job("sched.limited", category="diagnostics", title="Limited {n}", limit=2, cancel_grace=1.0)
def limited(ctx: JobContext, n: int = 0, seconds: float = 0.2, stamps: str = "") -> int:
    """At most two run at once, across all workers; stamps its start and end."""
    _stamp(stamps, f"start {n}")
    time.sleep(seconds)
    _stamp(stamps, f"end {n}")
    return n


@job(
    "sched.per_unit",
    category="scheduling",
    title="Unit {unit}",
    limit=1,
    limit_key="unit:{unit}",
    cancel_grace=1.0,
)
def per_unit(ctx: JobContext, unit: int, seconds: float = 0.2) -> int:
    """One at a time per unit."""
    time.sleep(seconds)
    return unit


@job("sched.report", category="report", queue="reports", title="Report {n}")
def report(ctx: JobContext, n: int = 0, seconds: float = 0.0) -> int:
    """A job of its own queue."""
    time.sleep(seconds)
    return n


@job("sched.urgent", category="diagnostics", priority=50, title="Urgent")
def urgent(ctx: JobContext) -> str:
    """A type whose jobs go first."""
    return "urgent"


@job(
    "sched.stuck",
    category="diagnostics",
    title="Stuck for {seconds} s",
    timeout=1.0,
    cancel_grace=0.5,
)
def stuck(ctx: JobContext, seconds: float = 60.0) -> None:
    """Runs past its time limit in one C call, never checking for a cancel."""
    time.sleep(seconds)
