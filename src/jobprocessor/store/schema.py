"""Schema migrations (Alembic), safe to run from several processes at once.

Workers and web processes all upgrade at start; only one may migrate at a time,
so PostgreSQL takes an advisory lock and SQLite a file lock beside the database.
Applications that keep their own tables in the same database (the WFM reference
application does) migrate them the same way with their own ``Migrations``.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text


@dataclass(frozen=True)
class Migrations:
    """One set of Alembic migrations: its scripts, its version table, its lock.

    ``lock_key`` names the PostgreSQL advisory lock that serialises this set's
    upgrades; each set needs its own.
    """

    script_location: Path
    version_table: str
    lock_key: int

    def config(self, connection: Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.script_location))
        config.attributes["connection"] = connection
        return config

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.config()).get_current_head()

    def current_revision(self, engine: Engine) -> str | None:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": self.version_table}
            )
            return context.get_current_revision()

    def upgrade(self, engine: Engine) -> None:
        """Bring the schema to the newest revision (a no-op when it is already there)."""
        if self.current_revision(engine) == self.head_revision():
            return
        with _migration_lock(engine), engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": self.lock_key})
            command.upgrade(self.config(connection), "head")
            connection.commit()


VERSION_TABLE = "jobprocessor_alembic_version"
#: The engine's own tables.
ENGINE_MIGRATIONS = Migrations(
    script_location=Path(__file__).parent / "migrations",
    version_table=VERSION_TABLE,
    lock_key=7_316_204_991,
)


def upgrade(engine: Engine) -> None:
    """Bring the engine's tables to the newest revision."""
    ENGINE_MIGRATIONS.upgrade(engine)


def head_revision() -> str | None:
    return ENGINE_MIGRATIONS.head_revision()


def current_revision(engine: Engine) -> str | None:
    return ENGINE_MIGRATIONS.current_revision(engine)


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        yield
        return
    lock_path = Path(engine.url.database + ".migrate.lock")
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
