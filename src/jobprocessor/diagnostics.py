"""Diagnostic job types: for trying the engine, its tests and its benchmarks.

Load them with ``--app jobprocessor.diagnostics``. Each shows one behaviour: a
job that cooperates with cancel, one that ignores it in Python or in C, one that
fails, one that stops through an ``on_cancel`` hook.
"""

from __future__ import annotations

import threading
import time

from jobprocessor.context import JobContext
from jobprocessor.registry import job


@job("diag.count", category="diagnostics", title="Count to {n}", cancel_grace=10.0)
def count(ctx: JobContext, n: int = 10, delay: float = 0.1) -> dict[str, int]:
    """Counts to n, checking for cancel at every step, and leaves a small report."""
    for i in range(n):
        ctx.check_canceled()
        ctx.progress(i + 1, n, f"step {i + 1} of {n}")
        time.sleep(delay)
    ctx.log.info("counted to %d", n)
    ctx.log.warning("done, with a warning")
    ctx.add_artifact("numbers.csv", "i\n" + "".join(f"{i}\n" for i in range(1, n + 1)), "text/csv")
    return {"counted": n}


@job("diag.noop", category="diagnostics", title="No-op")
def noop(ctx: JobContext) -> None:
    """Does nothing: measures the engine's own cost per job."""


@job("diag.sleep", category="diagnostics", title="Sleep {seconds} s in C", cancel_grace=1.0)
def sleep(ctx: JobContext, seconds: float = 60.0) -> dict[str, float]:
    """Blocks in one long C call and never checks for cancel: only force stops it."""
    time.sleep(seconds)
    return {"slept": seconds}


@job("diag.spin", category="diagnostics", title="Busy loop for {seconds} s", cancel_grace=1.0)
def spin(ctx: JobContext, seconds: float = 60.0) -> dict[str, int]:
    """A pure-Python busy loop that ignores cancel: only force stops it."""
    deadline = time.monotonic() + seconds
    turns = 0
    while time.monotonic() < deadline:
        turns += 1
    return {"turns": turns}


@job("diag.hook", category="diagnostics", title="Wait for a cancel hook", cancel_grace=5.0)
def hook(ctx: JobContext, seconds: float = 60.0) -> dict[str, bool]:
    """Waits on an event that only its ``on_cancel`` hook sets, like a solver's stop."""
    stopped = threading.Event()

    def on_cancel() -> None:
        ctx.log.info("on_cancel hook called")
        stopped.set()

    ctx.on_cancel(on_cancel)
    ctx.progress(0, 1, "waiting")
    if stopped.wait(seconds):
        ctx.log.warning("stopped by the on_cancel hook")
        ctx.check_canceled()
    return {"stopped_by_hook": stopped.is_set()}


@job("diag.fail", category="diagnostics", title="Fail with {message}")
def fail(ctx: JobContext, message: str = "this job fails on purpose") -> None:
    """Raises an error, to show how a failure is reported."""
    ctx.log.error("about to fail")
    raise RuntimeError(message)


@job(
    "diag.locked",
    category="diagnostics",
    title="Hold lock {key} for {seconds} s",
    lock="diag:{key}",
)
def locked(ctx: JobContext, key: str = "a", seconds: float = 0.5) -> dict[str, float]:
    """Holds a lock value: two jobs with the same key never run at once."""
    started = time.time()
    time.sleep(seconds)
    return {"started": started, "ended": time.time()}


@job("diag.retry", category="diagnostics", title="Retriable sleep", retries=2, cancel_grace=1.0)
def retriable(ctx: JobContext, seconds: float = 60.0) -> dict[str, float]:
    """Like diag.sleep, but re-queued (twice at most) if its worker is lost."""
    time.sleep(seconds)
    return {"slept": seconds}
