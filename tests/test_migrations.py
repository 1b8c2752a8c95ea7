"""The migrations build exactly the schema the tables declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from jobprocessor.store.engine import create_db_engine
from jobprocessor.store.schema import VERSION_TABLE, current_revision, head_revision, upgrade
from jobprocessor.store.tables import TITLE_INDEX_PG, TITLE_INDEX_SQLITE, metadata


def _declared(name: str | None, kind: str, parents: dict[str, str | None]) -> bool:
    """Everything but the title search's index, which migration 0003 builds outside
    the tables (an FTS5 table with its shadow tables; a pg_trgm expression index)."""
    return not (name or "").startswith((TITLE_INDEX_SQLITE, TITLE_INDEX_PG))


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
