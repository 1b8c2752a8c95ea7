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
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config


@dataclass(frozen=True)
class Migrations:
    """One set of Alembic migrations: its scripts, its version table, its lock.

    ``lock_key`` names the PostgreSQL advisory lock that serialises this set's
    upgrades; each set needs its own. ``head``, if given, is the newest revision: a
    database already there is then recognised by one query, without importing
    Alembic and reading the scripts (a quarter of the command line's start); a
    stale ``head`` only costs that again.
    """

    script_location: Path
    version_table: str
    lock_key: int
    head: str | None = None

    def config(self, connection: Connection | None = None) -> Config:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(self.script_location))
        config.attributes["connection"] = connection
        return config

    def head_revision(self) -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.config()).get_current_head()

    def current_revision(self, engine: Engine) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": self.version_table}
            )
            return context.get_current_revision()

    def upgrade(self, engine: Engine) -> None:
        """Bring the schema to the newest revision (a no-op when it is already there)."""
        if self.head is not None and self._stored_revision(engine) == self.head:
            return
        from alembic import command

        if self.current_revision(engine) == self.head_revision():
            return
        with _migration_lock(engine), engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": self.lock_key})
            command.upgrade(self.config(connection), "head")
            connection.commit()

    def _stored_revision(self, engine: Engine) -> str | None:
        """The database's revision by a plain query; None if it has none yet."""
        try:
            with engine.connect() as connection:
                stored = connection.execute(text(f"SELECT version_num FROM {self.version_table}"))
                return stored.scalar()
        except DBAPIError:  # no version table: a new database
            return None


VERSION_TABLE = "jobprocessor_alembic_version"
#: The engine's own tables.
ENGINE_MIGRATIONS = Migrations(
    script_location=Path(__file__).parent / "migrations",
    version_table=VERSION_TABLE,
    lock_key=7_316_204_991,
    head="0010",  # tests/test_migrations.py keeps it the scripts' head
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
