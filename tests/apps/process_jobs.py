"""Jobs that tell what their job process is like: what it imported, how it is scheduled."""

from __future__ import annotations

import os
import sys

from jobprocessor import JobContext, job

#: What a job process has no use for: the command line and the database layer.
HEAVY = ("typer", "sqlalchemy", "psycopg", "jobprocessor.cli.main", "jobprocessor.store.jobs")


@job("process.modules", category="diagnostics", title="What the job process imported")
def modules(ctx: JobContext) -> list[str]:
    """The heavy modules loaded in this job process (none, when it starts light)."""
    return [name for name in HEAVY if name in sys.modules]


@job("process.scheduling", category="diagnostics", title="How the job process is scheduled")
def scheduling(ctx: JobContext) -> int:
    """The scheduling policy of the job process's thread (Linux: ``os.SCHED_*``)."""
    return os.sched_getscheduler(0)
