"""Pooled PostgreSQL connections the server ended while idle are replaced unseen.

The service's engine looks at a connection's socket as it leaves the pool instead
of sending a ping (``engine._discard_ended_connections``). A server that ends a
session (a restart, ``pg_terminate_backend``) tells the client first; such a
connection must be discarded before use, and a live one must not be.
"""

from __future__ import annotations

import select
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from jobprocessor.store.engine import create_db_engine
from support import pg_admin
from waiting import wait_until


@pytest.fixture
def engines(pg_database_url: str) -> Iterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for engine in made:
        engine.dispose()


def _session(engine: Engine) -> tuple[int, int]:
    """The server's pid of the connection the pool hands out, and its socket."""
    with engine.connect() as connection:
        pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        driver = connection.connection.dbapi_connection
        assert driver is not None
        return pid, driver.fileno()


def _backend_pid(engine: Engine) -> int:
    return _session(engine)[0]


def _end_pooled_session(engine: Engine) -> int:
    """End the session of the engine's one pooled connection from another; its pid."""
    pid, socket = _session(engine)
    with pg_admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    def told() -> bool:
        readable, _, _ = select.select([socket], [], [], 0)
        return bool(readable)

    wait_until(told, what="the server's word that it ended the session")
    return pid


def test_a_connection_the_server_ended_is_replaced_before_use(
    pg_database_url: str, engines: list[Engine]
) -> None:
    engine = create_db_engine(pg_database_url, pool_size=1)
    engines.append(engine)
    ended = _end_pooled_session(engine)
    assert _backend_pid(engine) != ended  # a new session, and no error


def test_without_the_check_the_ended_connection_fails_its_caller(
    pg_database_url: str, engines: list[Engine]
) -> None:
    # What the check spares the service's callers (the worker retries instead).
    engine = create_db_engine(pg_database_url, pool_size=1, check_idle=False)
    engines.append(engine)
    _end_pooled_session(engine)
    with pytest.raises(OperationalError):
        _backend_pid(engine)


def test_a_live_idle_connection_is_kept(pg_database_url: str, engines: list[Engine]) -> None:
    engine = create_db_engine(pg_database_url, pool_size=1)
    engines.append(engine)
    assert _backend_pid(engine) == _backend_pid(engine)
