"""Checkpoints of a SQLite database's write-ahead log, off a worker's rounds.

SQLite copies the WAL back into the database file (a checkpoint, with an fsync of
both) inside the commit that takes the log past ``wal_autocheckpoint`` pages, 1,000
by default. A worker's round writes about 14 pages, so every 70th round paid for a
checkpoint: on this project's test machine checkpoints were half of a round's mean
cost (a round's statements and commit alone: p50 0.14 ms, mean with checkpoints
0.40 ms). A worker now checkpoints from a thread of its own, on a connection of its
own, a while after commits; its rounds keep a much higher threshold, only as a
safety net should that thread fall behind (``sqlite_round.prepare``). Other
connections (the console, a submitting application) keep SQLite's default.
"""

from __future__ import annotations

import sqlite3
import threading

#: How often the checkpointing thread looks for new commits, in seconds.
CHECKPOINT_INTERVAL = 0.1
#: A round connection's own threshold, in pages (40 MB of log at 4 KiB a page).
ROUNDS_AUTOCHECKPOINT = 10_000


class Checkpointer:
    """Checkpoints a SQLite database when someone committed since its last look."""

    def __init__(self, database: str) -> None:
        # Autocommit: a pragma must not leave a read transaction open, which would
        # pin the log and keep the checkpoint from finishing.
        self._connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self._version: int | None = None

    def checkpoint_if_changed(self) -> bool:
        """A PASSIVE checkpoint if anyone committed since the last one: it waits for
        no one and makes no writer wait; frames a reader still uses wait for the next
        one. Whether it ran (not if the database was busy for a moment)."""
        try:
            version = self._connection.execute("PRAGMA data_version").fetchone()[0]
            if version == self._version:
                return False
            self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.OperationalError:  # busy or locked for a moment: next time
            return False
        self._version = version
        return True

    def close(self) -> None:
        self._connection.close()


def checkpoint_in_background(
    database: str, stopped: threading.Event, interval: float = CHECKPOINT_INTERVAL
) -> None:
    """Checkpoint ``database`` every ``interval`` after commits, until ``stopped``."""
    checkpointer = Checkpointer(database)
    try:
        while not stopped.wait(interval):
            checkpointer.checkpoint_if_changed()
    finally:
        checkpointer.close()
