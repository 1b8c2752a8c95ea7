"""The jobs' database, for applications that keep tables of their own in it.

An application built on JobProcessor (the WFM reference application is one) may
store its data beside the jobs, so that one database and one backup hold both. This
module is its whole interface to that database; the engine's own tables and
statements (``jobprocessor.store``) stay private:

- ``open_engine(url)``: an engine set up as the engine's own (SQLite in WAL mode
  with a busy timeout and ``BEGIN IMMEDIATE`` for writes; psycopg 3 on PostgreSQL).
- ``read_only(engine)``: the same engine for transactions that only read: on
  SQLite they take no write lock (a plain ``BEGIN``), so they never wait on a writer.
- ``Migrations``: the application's own Alembic migrations, with their own version
  table and lock, safe to run from several processes at once.

In a web hook (``jobprocessor_web``) the console's engine is ``WebContext.database``.
"""

from __future__ import annotations

from sqlalchemy import Engine

from jobprocessor.settings import Settings
from jobprocessor.store.engine import READ_ONLY, create_db_engine
from jobprocessor.store.schema import Migrations

__all__ = ["Migrations", "open_engine", "read_only"]


def open_engine(database_url: str | None = None, *, pool_size: int = 5) -> Engine:
    """An engine on ``database_url``, else on the configured database
    (``JOBPROCESSOR_DATABASE_URL``, which a job process inherits from its worker)."""
    return create_db_engine(database_url or Settings().database_url, pool_size=pool_size)


def read_only(engine: Engine) -> Engine:
    """``engine`` for transactions that only read (no write lock on SQLite)."""
    return engine.execution_options(**{READ_ONLY: True})
