"""Database engines for the two supported databases.

SQLite is the embedded default: WAL so readers never block the writer, a busy
timeout so concurrent processes wait instead of failing, and ``BEGIN IMMEDIATE``
for write transactions so that a claim takes the write lock before it reads
(two workers can then never claim the same job). Read-only transactions use a
plain ``BEGIN`` and do not lock.
"""

from __future__ import annotations

import contextlib
import select
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry

from jobprocessor.errors import InvalidInput
from jobprocessor.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Execution option that marks a connection's transactions as read-only (SQLite: no lock).
READ_ONLY = "jobprocessor_read_only"


def parse_url(url: str) -> URL:
    """Check a database URL and normalise the PostgreSQL driver to psycopg 3."""
    try:
        parsed = make_url(url)
    except Exception:
        raise InvalidInput(
            f"invalid database URL {url!r}", fields={"database_url": "invalid"}
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise InvalidInput(
                "an in-memory SQLite database cannot be shared with workers; give a file path",
                fields={"database_url": "in-memory"},
            )
        return parsed
    raise InvalidInput(
        f"unsupported database {backend!r}: use sqlite:///PATH or postgresql+psycopg://…",
        fields={"database_url": "unsupported"},
    )


@dataclass(frozen=True, slots=True)
class SessionGuard:
    """How soon PostgreSQL sessions that went silent are given up, on both ends.

    A worker cut off from the database (a partition, a frozen host) leaves its
    sessions open on the server, with their locks, for as long as TCP takes to
    notice: two hours and more with the operating system's defaults. Meanwhile a
    transaction it left open holds row locks that other workers wait on. With a
    guard, both ends probe an idle connection (TCP keepalives) and drop one whose
    data goes unacknowledged (``tcp_user_timeout``) within about ``silence``
    seconds, and the server ends a session that sat inside a transaction for
    ``idle_in_transaction`` seconds (None: never; an application's own
    transactions may legitimately wait on their code).
    """

    silence: float = 10.0
    idle_in_transaction: float | None = None

    @classmethod
    def of(cls, settings: Settings) -> SessionGuard:
        """The guard of the engine's own connections (workers, the console)."""
        idle = settings.idle_in_transaction_timeout or None
        return cls(silence=settings.dead_connection_timeout, idle_in_transaction=idle)

    def connect_args(self) -> dict[str, Any]:
        """libpq's connection parameters for this guard (client and server side)."""
        idle = max(1, round(self.silence / 3))
        interval = max(1, round(self.silence / 6))
        user_timeout = round(self.silence * 1000)
        options = [
            f"-c tcp_keepalives_idle={idle}",
            f"-c tcp_keepalives_interval={interval}",
            "-c tcp_keepalives_count=3",
            f"-c tcp_user_timeout={user_timeout}",
        ]
        if self.idle_in_transaction is not None:
            timeout = round(self.idle_in_transaction * 1000)
            options.append(f"-c idle_in_transaction_session_timeout={timeout}")
        return {
            "keepalives": 1,
            "keepalives_idle": idle,
            "keepalives_interval": interval,
            "keepalives_count": 3,
            "tcp_user_timeout": user_timeout,
            "options": " ".join(options),
        }


def create_db_engine(
    url: str,
    *,
    pool_size: int = 5,
    check_idle: bool = True,
    guard: SessionGuard | None = SessionGuard(),
) -> Engine:
    """An engine set up for concurrent workers on SQLite or PostgreSQL.

    ``check_idle`` discards a pooled PostgreSQL connection that the server ended
    while it sat in the pool (``_discard_ended_connections``), so that a restarted
    server costs callers no error. The worker turns it off: it retries every
    database action that fails on a dead connection anyway.
    ``guard`` says how soon silent PostgreSQL sessions are given up (SQLite: unused).
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, pool_size)
    engine = create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        connect_args=guard.connect_args() if guard is not None else {},
    )
    if check_idle:
        _discard_ended_connections(engine)
    return engine


def _discard_ended_connections(engine: Engine) -> None:
    """Before a pooled connection is handed out, look at its socket: a server that
    shuts down or restarts ends every session with a message (then the end of the
    stream). Such a connection is discarded and the pool connects anew, as
    SQLAlchemy's ``pool_pre_ping`` would do, without its round trip: a fifth of a
    submission's time (``bench/engine_changes.md``, change 45). The rare other word
    an idle session gets (a setting changed by a configuration reload) costs a
    healthy connection and a connect. A peer that vanished without a word (a cut
    network) is not seen; the pre-ping would only have waited for it.
    """

    @event.listens_for(engine, "checkout")
    def _on_checkout(driver: Any, _record: ConnectionPoolEntry, _proxy: object) -> None:
        connection = cast("psycopg.Connection[Any]", driver)
        if connection.closed or connection.broken or _has_unread_input(connection):
            raise DisconnectionError("the server ended this connection while it was idle")


def _has_unread_input(connection: psycopg.Connection[Any]) -> bool:
    """Whether the server sent something the connection has not read."""
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):  # no socket any more
        return True
    return bool(readable)


def _sqlite_engine(url: URL, pool_size: int) -> Engine:
    assert url.database is not None
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (the driver's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            driver = connection.connection.dbapi_connection
            assert driver is not None
            try:
                begin_immediate(cast(sqlite3.Connection, driver))
            except sqlite3.Error as error:  # raised as SQLAlchemy's, as a statement's is
                raise DBAPIError.instance("BEGIN IMMEDIATE", (), error, sqlite3.Error) from error

    return engine


#: The pauses between tries for SQLite's write lock: short, then at most this long.
FIRST_PAUSE, LONGEST_PAUSE = 0.0001, 0.001


def begin_immediate(driver: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE on SQLite, asking again for the write lock every fraction of a
    millisecond while another connection writes, for up to ``SQLITE_BUSY_TIMEOUT_MS``.

    SQLite's own busy handler sleeps 1, 2, 5, 10 and up to 100 ms between tries, and
    a lock it finds taken is usually taken again by the time it looks: at 200
    submissions a second a worker's round waited up to 630 ms for it (2.4 s over
    8 s), and the submit-to-start time's p50 was 277 ms. The handler stays on for
    every other statement, which rarely waits at all in WAL mode.
    """
    driver.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        pause = FIRST_PAUSE
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
    finally:
        driver.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: on SQLite a plain BEGIN, which takes no write lock."""
    with engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})
        with connection.begin():
            yield connection


class KeptConnection:
    """One connection a thread keeps for work it repeats many times (a worker's rounds).

    Checking a connection out of the pool and back costs more than a short
    statement (``bench/engine_changes.md``, changes 6 and 15).
    ``prepare`` runs once on the new connection. A database error closes it; the
    next use opens a new one.
    """

    def __init__(self, engine: Engine, prepare: Callable[[Connection], None] | None = None) -> None:
        self._engine = engine
        self._prepare = prepare
        self._connection: Connection | None = None
        # Meant for one thread; the lock keeps any other caller from interleaving.
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def use(self) -> Iterator[Connection]:
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = self._engine.connect()
                    if self._prepare is not None:
                        self._prepare(self._connection)
                yield self._connection
            except DBAPIError:
                self._close()
                raise

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(DBAPIError):  # already gone with its server
                connection.close()


def execute_on_driver(
    connection: Connection, sql: str, parameters: Mapping[str, Any] | Sequence[Any]
) -> list[Any]:
    """Run ``sql`` on the PostgreSQL connection underneath ``connection``; the rows as
    named tuples. Its placeholders are psycopg's ``%(name)s`` for a mapping of
    parameters, PostgreSQL's own ``$1``... for a sequence, which psycopg sends as
    they are (a ``RawCursor``): it converts other statements' placeholders at every
    execution once they pass 4,096 characters.

    For the hottest statements, which are one round trip each: SQLAlchemy's
    execution took a quarter of a worker's round on the client
    (``bench/engine_changes.md``, change 18). A psycopg error is
    raised as SQLAlchemy's (``DBAPIError.instance``), and a connection it broke is
    invalidated, so that callers handle both paths alike.
    """
    driver = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
    try:
        if isinstance(parameters, Mapping):
            cursor: psycopg.Cursor[Any] = driver.cursor(row_factory=namedtuple_row)
        else:
            cursor = psycopg.RawCursor(driver, row_factory=namedtuple_row)
        with cursor:
            return cursor.execute(sql, parameters).fetchall()
    except psycopg.Error as error:
        broken = driver.broken
        if broken:
            connection.invalidate()
        raise DBAPIError.instance(
            sql, parameters, error, psycopg.Error, connection_invalidated=broken
        ) from error


def libpq_dsn(engine: Engine) -> str:
    """The engine's PostgreSQL URL as psycopg expects it (for LISTEN connections)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
