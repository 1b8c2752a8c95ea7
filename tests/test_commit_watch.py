"""The SQLite commit watch: what wakes an idle worker when a job is queued.

SQLite only, by nature (PostgreSQL wakes workers with NOTIFY); that both databases
wake an idle worker is tested in test_smoke_engine.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from jobprocessor.store.commit_watch import CommitWatch


def test_a_commit_by_another_connection_is_seen_once(tmp_path: Path) -> None:
    path = str(tmp_path / "watched.sqlite3")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    watch = CommitWatch(path)
    try:
        assert not watch.changed()
        writer.execute("INSERT INTO t VALUES (1)")
        assert watch.changed()
        assert not watch.changed(), "one batch of commits is reported once"
        writer.execute("BEGIN")
        writer.execute("INSERT INTO t VALUES (2)")
        assert not watch.changed(), "nothing is committed yet"
        writer.execute("COMMIT")
        assert watch.changed()
    finally:
        watch.close()
        writer.close()
