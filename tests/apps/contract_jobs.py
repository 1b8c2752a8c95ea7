"""A job module written from docs/reference/job-types.md alone, as an application author
would."""

from __future__ import annotations

import time

from jobprocessor import JobContext, job


@job("diag.count", category="diagnostics", title="Count to {n}", cancel_grace=10.0)
def count(ctx: JobContext, n: int = 10, delay: float = 0.1) -> dict[str, int]:
    for i in range(n):
        ctx.check_canceled()
        ctx.progress(i + 1, n, f"step {i + 1} of {n}")
        time.sleep(delay)
    ctx.log.warning("done, with a warning")
    ctx.add_artifact("numbers.csv", "i\n1\n2\n", media_type="text/csv")
    return {"counted": n}


@job("contract.stubborn", category="diagnostics", title="Never checks", cancel_grace=1.0)
def stubborn(ctx: JobContext, seconds: float = 120.0) -> None:
    time.sleep(seconds)
