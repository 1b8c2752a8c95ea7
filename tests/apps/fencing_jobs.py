"""Jobs for the fencing fault tests: a run that waits at a gate, then writes files."""

from __future__ import annotations

import os
import time
from pathlib import Path

from jobprocessor import JobContext, job


@job("fence.gated", category="diagnostics", title="Write at a gate", retries=1, cancel_grace=1.0)
def gated(ctx: JobContext, gate: str) -> str:
    """Logs that it began, waits until the file ``gate`` exists, then writes
    ``result.txt`` and a file of its own, both naming this run (its process)."""
    me = f"run {os.getpid()}"
    ctx.log.info("%s began", me)
    while not Path(gate).exists():
        time.sleep(0.01)
    ctx.add_artifact("result.txt", me)
    ctx.add_artifact(f"extra-{os.getpid()}.txt", me)
    ctx.log.info("%s finished", me)
    return me
