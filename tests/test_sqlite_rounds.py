"""How SQLite's write lock is taken, by a worker's round and by a submission: by
asking again every fraction of a millisecond, not through SQLite's busy handler
(SQLite by nature: PostgreSQL's rounds skip locked rows)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from jobprocessor.database import open_engine
from jobprocessor.store import engine as engine_module
from jobprocessor.store import schema
from jobprocessor.store.jobs import JobStore
from jobprocessor.store.records import ClaimRequest, NewJob
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
