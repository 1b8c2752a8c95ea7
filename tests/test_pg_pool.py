"""The pool of PostgreSQL test databases: a database is handed out again only as its
template was, so that no test sees what an earlier one left behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from jobprocessor.service import open_service
from jobprocessor.settings import Settings
from pg_pool import DatabasePool
from support import ADMIN, new_pg_pool, pg_admin, pg_dsn, pg_url


@pytest.fixture
def pool() -> Iterator[DatabasePool]:
    pool = new_pg_pool()
    yield pool
    pool.close()


def _connect(name: str) -> psycopg.Connection[Any]:
    return psycopg.connect(pg_dsn(name), autocommit=True)


def _submit_two(name: str) -> list[int]:
    import jobprocessor.diagnostics  # noqa: F401 - registers the diag.* types

    service = open_service(Settings(database_url=pg_url(name)))
    try:
        return [job.id for job in service.submit_many(ADMIN, "diag.noop", [{}, {}])]
    finally:
        service.close()


def test_a_used_database_comes_back_empty_with_its_sequences_reset(
    pool: DatabasePool, pg_template: str
) -> None:
    name = pool.take(pg_template)
    assert _submit_two(name) == [1, 2]
    pool.give_back(name)

    assert pool.take(pg_template) == name
    with _connect(name) as connection:
        assert connection.execute("SELECT count(*) FROM jobprocessor_jobs").fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM jobprocessor_job_events").fetchone() == (0,)
    assert _submit_two(name) == [1, 2]  # ids start again at 1
    pool.give_back(name)


def test_sessions_a_test_left_open_are_ended(pool: DatabasePool, pg_template: str) -> None:
    name = pool.take(pg_template)
    left = _connect(name)
    left.execute("BEGIN")
    left.execute("LOCK TABLE jobprocessor_jobs IN ACCESS EXCLUSIVE MODE")  # would block a reset
    pool.give_back(name)

    assert pool.take(pg_template) == name
    with pytest.raises(psycopg.OperationalError):
        left.execute("SELECT 1")
    left.close()


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE jobprocessor_jobs ADD COLUMN extra INTEGER",
        "CREATE INDEX ix_extra ON jobprocessor_jobs (title)",
        "DELETE FROM jobprocessor_alembic_version",  # a row of the template's own
    ],
)
def test_a_database_changed_beyond_its_rows_is_dropped(
    pool: DatabasePool, pg_template: str, change: str
) -> None:
    name = pool.take(pg_template)
    with _connect(name) as connection:
        connection.execute(change)
    pool.give_back(name)

    assert pool.take(pg_template) != name
    with pg_admin() as admin:
        gone = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
        assert gone.fetchone() == (0,)


def test_a_database_written_after_it_was_emptied_is_not_handed_out(
    pool: DatabasePool, pg_template: str
) -> None:
    name = pool.take(pg_template)
    pool.give_back(name)
    _submit_two(name)  # a process the last test left behind

    assert pool.take(pg_template) != name
