"""A job that reads the engine's settings, as applications do to open their own data."""

from __future__ import annotations

from jobprocessor import JobContext, job
from jobprocessor.settings import Settings


@job("settings.database", category="diagnostics", title="Which database")
def database(ctx: JobContext) -> str:
    """The database a job process sees: it must be its worker's."""
    return Settings().database_url
