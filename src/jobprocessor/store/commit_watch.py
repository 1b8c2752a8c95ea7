"""Noticing that someone committed to a SQLite database, in any process.

PostgreSQL wakes an idle worker with NOTIFY the moment a job is queued. SQLite has
nothing like it, so the worker looked for jobs every ``poll_interval``, and a job
submitted to an idle worker waited half of that on average before it started.
``PRAGMA data_version`` answers on a connection of its own with a number that
changes whenever another connection, of this process or another, has committed;
asking costs microseconds (it reads the WAL index in shared memory, not the
file), so a worker can ask every few milliseconds and look for jobs only when
something changed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

#: ``watch_commits`` calls its throttled callback at most this often.
THROTTLED_INTERVAL = 0.05
#: How often ``watch_commits`` looks (at most) while its worker's claims fill its slots.
BUSY_INTERVAL = 0.005


class CommitWatch:
    """``changed()`` is True once per batch of commits made since the last call."""

    def __init__(self, path: str) -> None:
        # Autocommit: a pragma must not leave a read transaction open, which would
        # pin the WAL and hide every later commit from this connection.
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._version = self._read()

    def changed(self) -> bool:
        """Whether anyone committed since the last call (True when it cannot tell)."""
        try:
            version = self._read()
        except sqlite3.OperationalError:  # busy or locked for a moment: look anyway
            return True
        if version == self._version:
            return False
        self._version = version
        return True

    def close(self) -> None:
        self._connection.close()

    def _read(self) -> int:
        row = self._connection.execute("PRAGMA data_version").fetchone()
        return int(row[0])


def watch_commits(
    database: str,
    interval: float,
    stopped: threading.Event,
    on_commit: Callable[[], None],
    on_commit_throttled: Callable[[], None],
    hungry: Callable[[], bool] = lambda: True,
) -> None:
    """Call ``on_commit`` soon after anyone commits (a job may be queued) until
    ``stopped``, and ``on_commit_throttled`` too, but at most every
    ``THROTTLED_INTERVAL`` (it wakes a worker's control loop, which need not run
    after every one of a busy worker's commits).

    Every ``interval`` while the worker is ``hungry`` (its last claim found fewer jobs
    than it had free slots), at most every ``BUSY_INTERVAL`` while it is not: then
    its slots take queued jobs as they free anyway, and each look takes the GIL from
    the worker's claim lane (measured in ``bench/engine_changes.md``, change 39)."""
    watch = CommitWatch(database)
    pending, called = False, 0.0
    try:
        while not stopped.wait(interval if hungry() else max(interval, BUSY_INTERVAL)):
            if watch.changed():
                on_commit()
                pending = True
            now = time.monotonic()
            if pending and now - called >= THROTTLED_INTERVAL:
                on_commit_throttled()
                pending, called = False, now
    finally:
        watch.close()
