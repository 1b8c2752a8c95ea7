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
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from jobprocessor.settings import Settings
from jobprocessor.store import create_db_engine

# The engine marks read-only transactions with this execution option, so that its
# SQLite "begin" hook emits a plain BEGIN instead of BEGIN IMMEDIATE (no write lock).
from jobprocessor.store.engine import READ_ONLY

VERSION_TABLE = "wfm_alembic_version"
MIGRATIONS = Path(__file__).parent / "migrations"
#: Arbitrary constant naming the advisory lock that serialises wfm migrations.
_PG_MIGRATION_LOCK = 7_316_204_992


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring wfm's tables to the newest revision (a no-op when they are there)."""
    if current_revision(engine) == head_revision():
        return
    with _migration_lock(engine), engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        command.upgrade(alembic_config(connection), "head")
        connection.commit()


def open_engine(database_url: str | None = None) -> Engine:
    """An engine on the given URL, else the engine's configured database, wfm schema current.

    A job process knows its database from the worker's environment
    (``JOBPROCESSOR_DATABASE_URL``), which ``Settings`` reads.
    """
    engine = create_db_engine(database_url or Settings().database_url, pool_size=2)
    upgrade(engine)
    return engine


@contextlib.contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading: on SQLite its transaction does not block writers."""
    with Session(engine.execution_options(**{READ_ONLY: True})) as session:
        yield session


@contextlib.contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with Session(engine) as session, session.begin():
        yield session


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        yield
        return
    lock_path = Path(engine.url.database + ".wfm-migrate.lock")
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
