"""A job that tells what its job process has imported."""

from __future__ import annotations

import sys

from jobprocessor import JobContext, job

#: What a job process has no use for: the command line and the database layer.
HEAVY = ("typer", "sqlalchemy", "psycopg", "jobprocessor.cli.main", "jobprocessor.store.jobs")


@job("process.modules", category="diagnostics", title="What the job process imported")
def modules(ctx: JobContext) -> list[str]:
    """The heavy modules loaded in this job process (none, when it starts light)."""
    return [name for name in HEAVY if name in sys.modules]
