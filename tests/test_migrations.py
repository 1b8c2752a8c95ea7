"""The migrations build exactly the schema the tables declare, on both databases."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from jobprocessor.store.engine import create_db_engine
from jobprocessor.store.schema import (
    ENGINE_MIGRATIONS,
    VERSION_TABLE,
    current_revision,
    head_revision,
    upgrade,
)
from jobprocessor.store.tables import (
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
            assert compare_metadata(context, metadata) == []
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
