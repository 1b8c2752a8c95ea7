"""How SQLite's write lock is taken, by a worker's round and by a submission: by
asking again every fraction of a millisecond, not through SQLite's busy handler
(SQLite by nature: PostgreSQL's rounds skip locked rows)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from jobprocessor.database import open_engine
from jobprocessor.store import engine as engine_module
from jobprocessor.store import schema, sqlite_round
from jobprocessor.store.jobs import JobStore
from jobprocessor.store.records import ClaimRequest, NewJob
from jobprocessor.store.sqlite_driver import driver_of, read
from support import register_worker


def test_rounds_and_submissions_ask_for_the_write_lock_until_their_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rounds.sqlite3"
    engine = open_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    store = JobStore(engine)
    register_worker(store, "w1")
    store.keep_round_connection()
    new_job = NewJob("diag.noop", "diagnostics", "noop", {}, "alice", cancel_grace=1.0)
    claim = ClaimRequest.anything(["diag.noop"], 1)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        # SQLite's busy handler would wait 30 s here; asking itself, each gives up at
        # its deadline.
        monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 20)
        with pytest.raises(OperationalError, match="locked"):
            store.finish_and_claim("w1", [], claim)
        with pytest.raises(OperationalError, match="locked"):
            store.insert([new_job], by="alice")
        writer.execute("COMMIT")

        (job,) = store.insert([new_job], by="alice")  # the lock is free again
        assert [claimed.id for claimed in store.claim("w1", ["diag.noop"], 1)] == [job.id]
    finally:
        writer.close()
        store.close()
        engine.dispose()


def test_a_round_connection_keeps_its_busy_handler_off_and_others_get_theirs_back(
    tmp_path: Path,
) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'handlers.sqlite3'}")
    try:
        with engine.connect() as pooled, engine.connect() as rounds:
            sqlite_round.prepare(rounds)
            for connection, timeout in (
                (pooled, engine_module.SQLITE_BUSY_TIMEOUT_MS),
                (rounds, 0),
            ):
                driver = driver_of(connection)
                engine_module.begin_immediate(driver)
                driver.execute("ROLLBACK")
                assert driver.execute("PRAGMA busy_timeout").fetchone()[0] == timeout
    finally:
        engine.dispose()


class BusyOnce(engine_module.DriverConnection):
    """A connection whose first SELECT finds the database busy."""

    found_busy = False

    def execute(self, sql: str, *parameters: Any) -> sqlite3.Cursor:
        if sql.startswith("SELECT") and not self.found_busy:
            self.found_busy = True
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = sqlite3.SQLITE_BUSY
            raise error
        return super().execute(sql, *parameters)


def test_a_read_that_finds_the_database_busy_waits_only_where_the_handler_is_off(
    tmp_path: Path,
) -> None:
    path = tmp_path / "busy.sqlite3"
    without_handler = sqlite3.connect(path, factory=BusyOnce, isolation_level=None)
    with_handler = sqlite3.connect(path, factory=BusyOnce, isolation_level=None)
    try:
        engine_module.turn_busy_handler_off(without_handler)
        assert read(without_handler, "SELECT 1", {}).fetchone()[0] == 1
        assert without_handler.execute("PRAGMA busy_timeout").fetchone()[0] == 0
        # A connection with its handler on has waited already: the error is the answer.
        with pytest.raises(OperationalError, match="locked"):
            read(with_handler, "SELECT 1", {})
    finally:
        without_handler.close()
        with_handler.close()
