"""A worker's SQLite checkpoints: taken by a thread of its own, not by its rounds
(SQLite by nature; PostgreSQL has no such work for the worker)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import Connection

from jobprocessor.service import JobService
from jobprocessor.store.wal_checkpoints import (
    ROUNDS_AUTOCHECKPOINT,
    Checkpointer,
    checkpoint_in_background,
)

BLOB = 1 << 20


def _database_with_a_pending_megabyte(path: Path) -> sqlite3.Connection:
    """A WAL database whose last megabyte is only in the log, not yet in the file."""
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (x BLOB)")
    writer.execute("INSERT INTO t VALUES (zeroblob(?))", (BLOB,))
    assert path.stat().st_size < BLOB
    return writer


def test_a_checkpoint_copies_new_commits_into_the_file_once(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    writer = _database_with_a_pending_megabyte(path)
    checkpointer = Checkpointer(str(path))
    try:
        assert checkpointer.checkpoint_if_changed()
        assert path.stat().st_size > BLOB
        assert not checkpointer.checkpoint_if_changed(), "nothing committed since"
        writer.execute("INSERT INTO t VALUES (1)")
        assert checkpointer.checkpoint_if_changed()
    finally:
        checkpointer.close()
        writer.close()


def test_the_background_thread_checkpoints_until_stopped(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    writer = _database_with_a_pending_megabyte(path)
    stopped = threading.Event()
    thread = threading.Thread(target=checkpoint_in_background, args=(str(path), stopped, 0.001))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while path.stat().st_size <= BLOB and time.monotonic() < deadline:
            stopped.wait(0.01)
    finally:
        stopped.set()
        thread.join(timeout=5)
        writer.close()
    assert not thread.is_alive()
    assert path.stat().st_size > BLOB


def test_rounds_leave_checkpoints_to_the_worker_and_keep_the_setting_to_themselves(
    service: JobService,
) -> None:
    store = service.store
    checkpointer = store.backend.checkpointer(threading.Event())
    if store.backend.name == "postgresql":
        assert checkpointer is None, "PostgreSQL checkpoints alone"
        return
    assert checkpointer is not None
    store.keep_round_connection()
    with store._round_connection() as rounds, store.engine.connect() as other:
        assert _autocheckpoint(rounds) == ROUNDS_AUTOCHECKPOINT
        assert _autocheckpoint(other) == 1000, "SQLite's default, elsewhere"


def _autocheckpoint(connection: Connection) -> int:
    # On the driver: SQLAlchemy would begin a (writing) transaction first.
    driver = connection.connection.dbapi_connection
    assert driver is not None
    return int(driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
