"""A worker's sign of life: its heartbeats, on a connection of its own.

Heartbeats share nothing with the worker's other database work: not its pool,
not its threads. A slow round, a report write or a rescue waiting on a lock can
therefore never make a live worker look lost. On PostgreSQL each heartbeat is
one statement in autocommit mode (a worker frozen mid-beat holds no transaction
open), its session gives up quickly on locks and statements, and the session
holds an advisory lock for as long as it lives: when a worker's process dies,
the server ends its session and frees the lock at once, and other workers can
tell (``WorkerRegistry.rescue_lost``) without waiting for the heartbeat timeout.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, insert, text, update

from jobprocessor.store.backend import LIVENESS_LOCK_CLASS, Backend
from jobprocessor.store.engine import KeptConnection, SessionGuard, create_db_engine
from jobprocessor.store.tables import workers

logger = logging.getLogger(__name__)

#: A heartbeat never waits longer than this on a lock or for its statement.
BEAT_TIMEOUT_MS = 2000


class Liveness:
    """One worker's registration and heartbeats, on a connection kept for them."""

    def __init__(self, backend: Backend, worker_id: str, *, silence: float) -> None:
        self.backend = backend
        self.worker_id = worker_id
        self.locked = False
        if backend.name == "postgresql":
            # Its own engine: a partitioned worker's session (and so its lock) is
            # given up on after about ``silence`` (the heartbeat timeout), not sooner,
            # so that a worker cut off but alive is judged by its heartbeats.
            self._engine: Engine = create_db_engine(
                str(backend.engine.url.render_as_string(hide_password=False)),
                pool_size=1,
                check_idle=False,
                guard=SessionGuard(silence=silence),
            ).execution_options(isolation_level="AUTOCOMMIT")
            self._connection = KeptConnection(self._engine, self._prepare)
        else:
            self._engine = backend.engine
            self._connection = KeptConnection(backend.engine)

    def register(self, *, host: str, pid: int, slots: int, queues: str | None = None) -> None:
        """Add the worker's row (a new one after it was declared lost); ``queues`` is
        what it serves, as ``--queues`` says (None: every queue)."""
        now = self.backend.now()
        values = {
            "host": host,
            "pid": pid,
            "slots": slots,
            "queues": queues,
            "started_at": now,
            "heartbeat_at": now,
        }
        with self._connection.use() as connection:
            self._lock(connection)
            with connection.begin():  # on PostgreSQL (autocommit) only a marker
                connection.execute(insert(workers).values(id=self.worker_id, **values))

    def beat(self, *, stopping: bool = False) -> bool:
        """Record that the worker lives; False if its row is gone (declared lost)."""
        with self._connection.use() as connection:
            self._lock(connection)
            with connection.begin():
                result = connection.execute(
                    update(workers)
                    .where(workers.c.id == self.worker_id)
                    .values(heartbeat_at=self.backend.now(), stopping=stopping)
                )
            return bool(result.rowcount)

    def close(self) -> None:
        """End the connection (and so, on PostgreSQL, give up the advisory lock)."""
        self._connection.close()
        if self._engine is not self.backend.engine:
            self._engine.dispose()

    def _prepare(self, connection: Connection) -> None:
        """A new PostgreSQL session: bounded waits; its lock is taken by ``_lock``."""
        connection.exec_driver_sql(f"SET lock_timeout = {BEAT_TIMEOUT_MS}")
        connection.exec_driver_sql(f"SET statement_timeout = {BEAT_TIMEOUT_MS}")
        connection.commit()  # ends SQLAlchemy's autobegun marker (autocommit: nothing else)
        self.locked = False

    def _lock(self, connection: Connection) -> None:
        """Hold the worker's advisory lock on this session (PostgreSQL), if it is free.

        It may not be at once: the server may not yet have ended the worker's
        previous session after a lost connection. Until it is, the worker simply
        cannot be rescued before its heartbeat timeout.
        """
        if self.locked or self.backend.name != "postgresql":
            return
        self.locked = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:class, hashtext(:worker))"),
                {"class": LIVENESS_LOCK_CLASS, "worker": self.worker_id},
            ).scalar()
        )
        connection.commit()
        if not self.locked:
            logger.info("worker %s: its liveness lock is still held; trying again", self.worker_id)
