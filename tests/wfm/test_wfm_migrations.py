"""wfm's migrations build exactly the tables its model declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from wfm.db import VERSION_TABLE, upgrade
from wfm.model import Base


def _wfm_only(name: str | None, kind: str, parents: dict[str, str | None]) -> bool:
    """The engine's tables share the database; they are its own test's business."""
    if kind == "schema":
        return True
    table = name if kind == "table" else parents.get("table_name")
    return (table or "").startswith("wfm_")


def test_migrated_schema_matches_the_model(engine) -> None:
    upgrade(engine)  # already at head: a no-op
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"version_table": VERSION_TABLE, "compare_type": True, "include_name": _wfm_only},
        )
        assert compare_metadata(context, Base.metadata) == []
