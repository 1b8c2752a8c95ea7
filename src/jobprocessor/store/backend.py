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
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import ColumnElement, Connection, Engine, exists, func, literal, or_, select, text

from jobprocessor.model import utcnow
from jobprocessor.store import pg_round, pg_submit, sqlite_round, sqlite_submit
from jobprocessor.store._sql import IS_QUEUED, QUEUED_CHANNEL
from jobprocessor.store.commit_watch import watch_commits
from jobprocessor.store.engine import KeptConnection, reading
from jobprocessor.store.notifications import listen
from jobprocessor.store.tables import UTCDateTime, jobs
from jobprocessor.store.wal_checkpoints import checkpoint_in_background

if TYPE_CHECKING:
    from jobprocessor.store.records import ClaimRequest, Outcome, RunLease

#: The first key of every worker's liveness lock (the second: the hash of its id).
LIVENESS_LOCK_CLASS = 74_200_391

#: Runs until its ``stopped`` event is set; made by ``Backend.wake_source``.
WakeSource = Callable[[], None]


class Backend(abc.ABC):
    """One database's way of doing the engine's few dialect-specific things."""

    name: ClassVar[str]
    #: Rounds of several threads can run at once (row locks): claim lanes help.
    concurrent_rounds: ClassVar[bool]
    #: A claim takes the database's only write lock: look for work (lock-free) first.
    look_before_claim: ClassVar[bool]
    #: The GIL switch interval of a worker's process, in seconds (None: Python's 5 ms).
    #: Chosen when each job passed between threads (bench/engine_changes.md, change 37);
    #: since a lane runs its slots itself (change 38) two A/B pairs on SQLite were
    #: inconclusive, so it stays until measured better.
    switch_interval: ClassVar[float | None]

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @abc.abstractmethod
    def run_round(
        self,
        connection: Connection,
        worker_id: str,
        outcomes: Sequence[tuple[RunLease, Outcome]],
        claim: ClaimRequest,
        now: datetime,
    ) -> tuple[list[bool], list[Any]]:
        """Outcomes, claim and events in one transaction: (held flags, claimed rows)."""

    @abc.abstractmethod
    def kept_round_connection(self) -> KeptConnection:
        """A connection for one thread's rounds, kept between them."""

    @abc.abstractmethod
    def round_connection(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection from the pool for one round."""

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

    def has_queued(self, kept: KeptConnection | None, types: Sequence[str], now: datetime) -> bool:
        """Whether a job of ``types`` is queued and due at ``now``. ``kept`` is the
        asking thread's round connection, for a database that can use it; here a read
        of its own."""
        due = or_(jobs.c.run_at.is_(None), jobs.c.run_at <= now)
        statement = select(exists().where(IS_QUEUED, jobs.c.type.in_(list(types)), due))
        with reading(self.engine) as connection:
            return bool(connection.execute(statement).scalar())

    def next_due(
        self, kept: KeptConnection | None, types: Sequence[str], now: datetime
    ) -> datetime | None:
        """When the earliest delayed job of ``types`` falls due (None: none waits).
        ``kept`` is the asking thread's round connection, for a database that can use
        it; here a read of its own."""
        statement = select(func.min(jobs.c.run_at)).where(
            IS_QUEUED, jobs.c.run_at > now, jobs.c.type.in_(list(types))
        )
        with reading(self.engine) as connection:
            due: datetime | None = connection.execute(statement).scalar()
        return due

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
    switch_interval = None

    def run_round(
        self,
        connection: Connection,
        worker_id: str,
        outcomes: Sequence[tuple[RunLease, Outcome]],
        claim: ClaimRequest,
        now: datetime,
    ) -> tuple[list[bool], list[Any]]:
        return pg_round.run_round(connection, worker_id, outcomes, claim, now)

    def kept_round_connection(self) -> KeptConnection:
        return KeptConnection(self._autocommit, pg_round.prepare)

    def next_due(
        self, kept: KeptConnection | None, types: Sequence[str], now: datetime
    ) -> datetime | None:
        """One statement on the asking thread's kept round connection (autocommit):
        0.15 ms, against 1.1 ms for a pooled read's BEGIN, SELECT and COMMIT. A worker
        asks after every round that leaves a slot free, on the path of its next
        wake-up."""
        if kept is None:
            return super().next_due(kept, types, now)
        with kept.use() as connection:
            return pg_round.next_due(connection, types, now)

    def round_connection(self) -> contextlib.AbstractContextManager[Connection]:
        return self._autocommit.connect()  # a round is one statement

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
    switch_interval = 0.0005

    def run_round(
        self,
        connection: Connection,
        worker_id: str,
        outcomes: Sequence[tuple[RunLease, Outcome]],
        claim: ClaimRequest,
        now: datetime,
    ) -> tuple[list[bool], list[Any]]:
        return sqlite_round.run_round(connection, worker_id, outcomes, claim, now)

    def kept_round_connection(self) -> KeptConnection:
        return KeptConnection(self.engine, sqlite_round.prepare)

    def round_connection(self) -> contextlib.AbstractContextManager[Connection]:
        return self.engine.connect()

    def submit(self, rows: Sequence[dict[str, Any]], *, by: str, now: datetime) -> list[Any]:
        with self.engine.connect() as connection:
            return sqlite_submit.submit(connection, rows, by=by, now=now)

    def has_queued(self, kept: KeptConnection | None, types: Sequence[str], now: datetime) -> bool:
        if kept is None:
            return super().has_queued(kept, types, now)
        with kept.use() as connection:
            return sqlite_round.has_queued(connection, types, now)

    def next_due(
        self, kept: KeptConnection | None, types: Sequence[str], now: datetime
    ) -> datetime | None:
        if kept is None:
            return super().next_due(kept, types, now)
        with kept.use() as connection:
            return sqlite_round.next_due(connection, types, now)

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
