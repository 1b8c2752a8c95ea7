"""wfm's schema in the engine's database: its own Alembic migrations and version table.

``upgrade(engine)`` brings the wfm tables to the newest revision. It is safe to
call from several processes at once (PostgreSQL takes an advisory lock, SQLite a
file lock beside the database), and a no-op when the schema is current, so jobs
call it on start.

``read_session`` opens a session whose transaction takes no write lock on
SQLite (a plain ``BEGIN``); ``write_session`` one transaction that commits at the
end of the block, or rolls everything back if the block raises (a cancel, say).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from jobprocessor.database import Migrations, read_only
from jobprocessor.database import open_engine as open_jobs_engine

VERSION_TABLE = "wfm_alembic_version"
#: wfm's own migrations, beside the engine's in the same database.
MIGRATIONS = Migrations(
    script_location=Path(__file__).parent / "migrations",
    version_table=VERSION_TABLE,
    lock_key=7_316_204_992,
)


def upgrade(engine: Engine) -> None:
    """Bring wfm's tables to the newest revision (a no-op when they are there)."""
    MIGRATIONS.upgrade(engine)


def open_engine(database_url: str | None = None) -> Engine:
    """An engine on the given URL, else the engine's configured database, wfm schema current.

    A job process knows its database from the worker's environment
    (``JOBPROCESSOR_DATABASE_URL``), which ``Settings`` reads.
    """
    engine = open_jobs_engine(database_url, pool_size=2)
    upgrade(engine)
    return engine


@contextlib.contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading: on SQLite its transaction does not block writers."""
    with Session(read_only(engine)) as session:
        yield session


@contextlib.contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with Session(engine) as session, session.begin():
        yield session
