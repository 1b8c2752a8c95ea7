"""How a worker's round takes SQLite's write lock: by asking again every fraction of a
millisecond itself, not through SQLite's busy handler (SQLite by nature: PostgreSQL's
rounds skip locked rows)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from conftest import register_worker
from jobprocessor.database import open_engine
from jobprocessor.store import schema, sqlite_round
from jobprocessor.store.jobs import JobStore
from jobprocessor.store.records import ClaimRequest


def test_a_round_asks_for_the_write_lock_itself_until_its_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rounds.sqlite3"
    engine = open_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    store = JobStore(engine)
    register_worker(store, "w1")
    store.keep_round_connection()
    writer = sqlite3.connect(path, isolation_level=None)
    claim = ClaimRequest.anything(["diag.noop"], 1)
    try:
        with store._round_connection() as rounds:
            driver = rounds.connection.dbapi_connection
            assert driver is not None
            busy_timeout = driver.execute("PRAGMA busy_timeout").fetchone()[0]
        assert busy_timeout == 0, "no busy handler of SQLite's on a round connection"

        writer.execute("BEGIN IMMEDIATE")
        monkeypatch.setattr(sqlite_round, "SQLITE_BUSY_TIMEOUT_MS", 20)
        with pytest.raises(OperationalError, match="locked"):
            store.finish_and_claim("w1", [], claim)  # gives up at its deadline
        writer.execute("COMMIT")

        assert store.finish_and_claim("w1", [], claim) == ([], [])  # the lock is free
    finally:
        writer.close()
        store.close()
        engine.dispose()
