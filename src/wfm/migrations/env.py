"""Alembic environment of wfm: runs on the connection that ``wfm.db.upgrade`` hands over."""

from __future__ import annotations

from alembic import context

from wfm.db import VERSION_TABLE
from wfm.model import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    # The engine's tables share the database: leave them alone.
    include_name=lambda name, type_, _parent: (
        type_ != "table" or (name is not None and name.startswith("wfm_"))
    ),
)
with context.begin_transaction():
    context.run_migrations()
