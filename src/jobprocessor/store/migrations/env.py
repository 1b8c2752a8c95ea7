"""Alembic environment: runs on the connection that ``schema.upgrade`` hands over."""

from __future__ import annotations

from alembic import context

from jobprocessor.store.schema import VERSION_TABLE
from jobprocessor.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
