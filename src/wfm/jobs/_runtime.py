"""What every wfm job does around its work: open the database, report, close.

A job process learns its database from the worker's environment
(``JOBPROCESSOR_DATABASE_URL``, read by ``jobprocessor.settings.Settings``).
A ``WfmError`` (settings that do not fit the data) is written to the report as
an error before the job fails with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Engine

from jobprocessor import JobContext
from wfm.db import open_engine
from wfm.errors import WfmError
from wfm.reporting import Run


@contextlib.contextmanager
def job_database(ctx: JobContext) -> Iterator[tuple[Engine, Run]]:
    """The job's database engine (wfm schema current) and its report."""
    run = Run(ctx)
    engine = open_engine()
    try:
        yield engine, run
    except WfmError as error:
        run.error("%s", error)
        raise
    finally:
        engine.dispose()
