"""The migrations build exactly the schema the tables declare, on both databases."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from jobprocessor.store.engine import create_db_engine
from jobprocessor.store.schema import (
    ENGINE_MIGRATIONS,
    VERSION_TABLE,
    current_revision,
    head_revision,
    upgrade,
)
from jobprocessor.store.tables import (
    MOVED_TO_SEARCH_PG,
    SEARCH_TABLE_PG,
    TITLE_INDEX_PG,
    TITLE_INDEX_SQLITE,
    metadata,
)


def _declared(name: str | None, kind: str, parents: dict[str, str | None]) -> bool:
    """Everything but the title search's index, which migrations build outside the
    tables (an FTS5 table with its shadow tables; a search table with a pg_trgm
    expression index)."""
    return not (name or "").startswith((TITLE_INDEX_SQLITE, SEARCH_TABLE_PG, TITLE_INDEX_PG))


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        upgrade(engine)  # already at head: a no-op
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "version_table": VERSION_TABLE,
                    "compare_type": True,
                    "include_name": _declared,
                },
            )
            differences = compare_metadata(context, metadata)
        moved = MOVED_TO_SEARCH_PG if engine.dialect.name == "postgresql" else ()
        assert sorted(index.name for _, index in differences) == sorted(moved)
        assert all(kind == "add_index" for kind, _ in differences)
    finally:
        engine.dispose()


def test_the_engine_names_its_newest_revision() -> None:
    """Add a migration, and ``ENGINE_MIGRATIONS.head`` must follow."""
    assert ENGINE_MIGRATIONS.head == head_revision()


def test_a_database_at_the_newest_revision_opens_without_alembic(database_url: str) -> None:
    """Every command, worker and web process opens the service, which upgrades: a
    database already there costs one query, not Alembic's import and its scripts."""
    opened = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from jobprocessor.service import open_service; "
            "from jobprocessor.settings import Settings; "
            f"open_service(Settings(database_url={database_url!r})); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert opened.stdout.strip() == "[]"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_search_table_follows_the_jobs_table_and_migrates_both_ways(
    database_url: str,
) -> None:
    """Migration 0009 copies the titles it finds and its triggers keep the search table
    in step with every insert, delete and truncate of jobs; going back restores the
    index on the jobs table, and coming up again copies the titles once more."""
    engine = create_db_engine(database_url)

    def titles() -> list[tuple[int, str, str]]:
        with engine.connect() as connection:
            rows = connection.execute(
                text(f"SELECT job_id, title, submitted_by FROM {SEARCH_TABLE_PG} ORDER BY 1")
            )
            return [tuple(row) for row in rows]

    def add(*names: str) -> list[int]:
        values = ", ".join(f"('t', 'c', '{n}', 'queued', '{{}}', 'u', now(), 1)" for n in names)
        with engine.begin() as connection:
            rows = connection.execute(
                text(
                    "INSERT INTO jobprocessor_jobs (type, category, title, status, params, "
                    f"submitted_by, created_at, cancel_grace) VALUES {values} RETURNING id"
                )
            )
            return [row.id for row in rows]

    def migrate(step: Callable[[Config, str], None], revision: str) -> None:
        with engine.begin() as connection:
            step(ENGINE_MIGRATIONS.config(connection), revision)

    try:
        first, second, third = add("First", "Second", "Third")
        with engine.begin() as connection:
            connection.execute(text(f"DELETE FROM jobprocessor_jobs WHERE id = {second}"))
            # A worker's update names no copied column: the search table is left alone.
            connection.execute(
                text(f"UPDATE jobprocessor_jobs SET status = 'running' WHERE id = {third}")
            )
        assert titles() == [(first, "First", "u"), (third, "Third", "u")]

        migrate(command.downgrade, "0008")
        with engine.connect() as connection:
            found = connection.execute(
                text(f"SELECT to_regclass('{SEARCH_TABLE_PG}'), to_regclass(:index)"),
                {"index": "ix_jobprocessor_jobs_title_trgm"},
            ).one()
        assert found == (None, "ix_jobprocessor_jobs_title_trgm")
        (fourth,) = add("Fourth")
        migrate(command.upgrade, "head")
        assert titles() == [(first, "First", "u"), (third, "Third", "u"), (fourth, "Fourth", "u")]

        with engine.begin() as connection:
            connection.execute(text("TRUNCATE jobprocessor_jobs CASCADE"))
        assert titles() == []
    finally:
        engine.dispose()
