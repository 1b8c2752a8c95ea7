"""What differs between PostgreSQL and SQLite, decided once from the engine's URL.

The store and the worker ask a ``Backend`` instead of testing the dialect: how a
worker's round runs and on which connection, how jobs are submitted, how a worker
learns that there may be work (NOTIFY or a commit watch), and what the database
can do (several rounds at once, or one writer at a time). The SQL that both
databases share is written once (``round_sql``, the rest of ``store``); only what
must differ lives in the two classes below.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy import ColumnElement, Connection, Engine, func, literal, text

from jobprocessor.model import utcnow
from jobprocessor.store import pg_round, pg_submit, sqlite_round, sqlite_submit
from jobprocessor.store._sql import QUEUED_CHANNEL
from jobprocessor.store.commit_watch import watch_commits
from jobprocessor.store.engine import KeptConnection
from jobprocessor.store.notifications import listen
from jobprocessor.store.tables import UTCDateTime
from jobprocessor.store.wal_checkpoints import checkpoint_in_background

if TYPE_CHECKING:
    from jobprocessor.store.records import Round

#: The first key of every worker's liveness lock (the second: the hash of its id).
LIVENESS_LOCK_CLASS = 74_200_391

#: Runs until its ``stopped`` event is set; made by ``Backend.wake_source``.
WakeSource = Callable[[], None]


class RoundStatements(Protocol):
    """A database's module of a worker's hot statements (``pg_round``,
    ``sqlite_round``), each run on a connection its ``prepare`` made the worker's own,
    or on one from the pool."""

    def run_round(self, connection: Connection, round_: Round) -> tuple[list[bool], list[Any]]: ...

    def has_queued(self, connection: Connection, types: Sequence[str], now: datetime) -> bool: ...

    def next_due(
        self, connection: Connection, types: Sequence[str], now: datetime
    ) -> datetime | None: ...

    def prepare(self, connection: Connection) -> None: ...


class Backend(abc.ABC):
    """One database's way of doing the engine's few dialect-specific things."""

    name: ClassVar[str]
    #: Rounds of several threads can run at once (row locks): claim lanes help.
    concurrent_rounds: ClassVar[bool]
    #: A claim takes the database's only write lock: look for work (lock-free) first.
    look_before_claim: ClassVar[bool]
    #: A round waits for a server, time the worker's slots can use: jobs claimed ahead
    #: (``prefetch``) help. SQLite's rounds run in the worker's own process and hold
    #: its GIL: there, claiming ahead cost a third of the jobs/s (change 44).
    rounds_wait_on_server: ClassVar[bool]
    #: The GIL switch interval of a worker's process, in seconds (None: Python's 5 ms).
    #: Chosen when each job passed between threads (bench/engine_changes.md, change 37);
    #: since a lane runs its slots itself (change 38) two A/B pairs on SQLite were
    #: inconclusive, so it stays until measured better.
    switch_interval: ClassVar[float | None]
    #: The worker's hot statements, in the database's own SQL.
    rounds: ClassVar[RoundStatements]

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    @abc.abstractmethod
    def round_engine(self) -> Engine:
        """The engine of rounds and the looks around them: autocommit where a round is
        one statement (PostgreSQL), the plain engine where it is a transaction of its
        own (SQLite)."""

    def run_round(self, connection: Connection, round_: Round) -> tuple[list[bool], list[Any]]:
        """A round's outcomes, writes about jobs claimed ahead, claim and events in one
        transaction: (held flags, claimed rows)."""
        return self.rounds.run_round(connection, round_)

    def kept_round_connection(self) -> KeptConnection:
        """A connection for one thread's rounds, kept between them."""
        return KeptConnection(self.round_engine, self.rounds.prepare)

    @contextlib.contextmanager
    def round_connection(self, kept: KeptConnection | None = None) -> Iterator[Connection]:
        """``kept``'s connection, or without one a connection from the pool for one use."""
        if kept is None:
            with self.round_engine.connect() as connection:
                yield connection
        else:
            with kept.use() as connection:
                yield connection

    def has_queued(self, kept: KeptConnection | None, types: Sequence[str], now: datetime) -> bool:
        """Whether a job of ``types`` is queued and due at ``now``, asked on the asking
        thread's round connection ``kept`` if it has one: a pooled read's BEGIN and
        COMMIT cost several times the statement (``bench/engine_changes.md``, change 39)."""
        with self.round_connection(kept) as connection:
            return self.rounds.has_queued(connection, types, now)

    def next_due(
        self, kept: KeptConnection | None, types: Sequence[str], now: datetime
    ) -> datetime | None:
        """When the earliest delayed job of ``types`` falls due (None: none waits), asked
        like ``has_queued``: a worker asks after every round that leaves a slot free,
        on the path of its next wake-up."""
        with self.round_connection(kept) as connection:
            return self.rounds.next_due(connection, types, now)

    @abc.abstractmethod
    def submit(self, rows: Sequence[dict[str, Any]], *, by: str, now: datetime) -> list[Any]:
        """Store new jobs (rows of the jobs table) with their first events; the rows
        as stored, in the order given. One transaction."""

    @abc.abstractmethod
    def notify(self, connection: Connection, channel: str, payload: str = "") -> None:
        """Tell listening workers, when ``connection``'s transaction commits."""

    @abc.abstractmethod
    def now(self) -> Any:
        """The current time for a heartbeat or a cutoff: the database's clock where
        workers may run on several hosts (their clocks may disagree)."""

    @abc.abstractmethod
    def ago(self, seconds: float) -> Any:
        """The time ``seconds`` before ``now()``, for comparisons in SQL."""

    @abc.abstractmethod
    def bound_waits(self, connection: Connection, *, lock_ms: int, statement_ms: int) -> None:
        """Make the connection's transaction give up after waiting this long on a lock,
        or for a statement, instead of waiting on a stuck session (PostgreSQL)."""

    @abc.abstractmethod
    def sessions_gone(self, connection: Connection, worker_ids: Sequence[str]) -> set[str]:
        """Of these workers, those whose liveness session has ended (their process is
        gone), as far as the database can tell; held until the transaction ends."""

    @abc.abstractmethod
    def seconds(self, start: Any, end: Any) -> ColumnElement[Any]:
        """The seconds between two timestamp columns, in SQL."""

    @abc.abstractmethod
    def wake_source(
        self,
        worker_id: str,
        *,
        commit_watch_interval: float,
        stopped: threading.Event,
        on_queued: Callable[[], None],
        on_cancel: Callable[[], None],
        hungry: Callable[[], bool],
    ) -> WakeSource | None:
        """What tells an idle worker that there may be work (or a cancel for it), to
        run in a thread of its own until ``stopped``; None if nothing can. ``hungry``
        says whether the worker waits for new work (where looking costs, it may look
        less often while it does not)."""

    def checkpointer(self, stopped: threading.Event) -> Callable[[], None] | None:
        """Work that keeps the database's log short, off the worker's rounds, for a
        thread of the worker's own until ``stopped``; None where the database does it
        alone (PostgreSQL)."""
        return None


class PostgresBackend(Backend):
    """Row locks (``FOR UPDATE SKIP LOCKED``), one-statement rounds, LISTEN/NOTIFY."""

    name = "postgresql"
    concurrent_rounds = True
    look_before_claim = False
    rounds_wait_on_server = True
    switch_interval = None
    rounds: ClassVar[RoundStatements] = pg_round

    @property
    def round_engine(self) -> Engine:
        return self._autocommit  # a round is one statement

    def submit(self, rows: Sequence[dict[str, Any]], *, by: str, now: datetime) -> list[Any]:
        with self._autocommit.connect() as connection:
            return pg_submit.submit(connection, rows, by=by, now=now, channel=QUEUED_CHANNEL)

    def notify(self, connection: Connection, channel: str, payload: str = "") -> None:
        connection.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": channel, "payload": payload},
        )

    def now(self) -> Any:
        return func.now()

    def ago(self, seconds: float) -> Any:
        return func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds)

    def bound_waits(self, connection: Connection, *, lock_ms: int, statement_ms: int) -> None:
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(lock_ms)}")
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(statement_ms)}")

    def sessions_gone(self, connection: Connection, worker_ids: Sequence[str]) -> set[str]:
        """A worker's session holds its advisory lock (``liveness``) while it lives: a
        lock this transaction can take belongs to nobody any more. Taken for the
        transaction, so that nobody can claim the worker alive meanwhile."""
        if not worker_ids:
            return set()
        rows = connection.execute(
            text(
                "SELECT w.id FROM unnest(CAST(:ids AS text[])) AS w(id) "
                "WHERE pg_try_advisory_xact_lock(:class, hashtext(w.id))"
            ),
            {"ids": list(worker_ids), "class": LIVENESS_LOCK_CLASS},
        )
        return {row.id for row in rows}

    def seconds(self, start: Any, end: Any) -> ColumnElement[Any]:
        return func.extract("epoch", end - start)

    def wake_source(
        self,
        worker_id: str,
        *,
        commit_watch_interval: float,
        stopped: threading.Event,
        on_queued: Callable[[], None],
        on_cancel: Callable[[], None],
        hungry: Callable[[], bool],
    ) -> WakeSource | None:
        return functools.partial(listen, self.engine, worker_id, stopped, on_queued, on_cancel)

    @functools.cached_property
    def _autocommit(self) -> Engine:
        """The engine without transactions: for statements that are a transaction alone."""
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")


class SqliteBackend(Backend):
    """One writer at a time (``BEGIN IMMEDIATE``), rounds of a few statements, a
    commit watch instead of notifications."""

    name = "sqlite"
    concurrent_rounds = False
    look_before_claim = True
    rounds_wait_on_server = False
    switch_interval = 0.0005
    rounds: ClassVar[RoundStatements] = sqlite_round

    @property
    def round_engine(self) -> Engine:
        return self.engine

    def submit(self, rows: Sequence[dict[str, Any]], *, by: str, now: datetime) -> list[Any]:
        with self.engine.connect() as connection:
            return sqlite_submit.submit(connection, rows, by=by, now=now)

    def notify(self, connection: Connection, channel: str, payload: str = "") -> None:
        """Nothing: SQLite's workers watch for commits instead (``commit_watch``)."""

    def now(self) -> Any:
        return utcnow()  # one machine: its clock

    def ago(self, seconds: float) -> Any:
        return literal(utcnow() - timedelta(seconds=seconds), UTCDateTime)

    def bound_waits(self, connection: Connection, *, lock_ms: int, statement_ms: int) -> None:
        """Nothing: one writer at a time, waiting at most the busy timeout."""

    def sessions_gone(self, connection: Connection, worker_ids: Sequence[str]) -> set[str]:
        """None that the database could tell."""
        return set()

    def seconds(self, start: Any, end: Any) -> ColumnElement[Any]:
        return (func.julianday(end) - func.julianday(start)) * 86400.0

    def wake_source(
        self,
        worker_id: str,
        *,
        commit_watch_interval: float,
        stopped: threading.Event,
        on_queued: Callable[[], None],
        on_cancel: Callable[[], None],
        hungry: Callable[[], bool],
    ) -> WakeSource | None:
        if commit_watch_interval <= 0:
            return None
        database = self.engine.url.database
        assert database, "workers need a SQLite file"
        return functools.partial(
            watch_commits, database, commit_watch_interval, stopped, on_queued, on_cancel, hungry
        )

    def checkpointer(self, stopped: threading.Event) -> Callable[[], None] | None:
        """SQLite's WAL checkpoints (``wal_checkpoints``)."""
        database = self.engine.url.database
        assert database, "workers need a SQLite file"
        return functools.partial(checkpoint_in_background, database, stopped)


def backend_for(engine: Engine) -> Backend:
    """The backend of the engine's database (``create_db_engine`` accepts no other)."""
    if engine.dialect.name == "postgresql":
        return PostgresBackend(engine)
    return SqliteBackend(engine)
