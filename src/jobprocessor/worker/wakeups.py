"""What wakes a worker between polls: PostgreSQL notifications, SQLite commits.

A worker sleeps until a slot frees, its poll interval passes, or one of these
says there may be work: a job was queued (the claim lanes wake) or a cancel was
requested (the control loop wakes, which forwards it to the job's slot).
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from sqlalchemy import Engine

from jobprocessor.store.commit_watch import CommitWatch
from jobprocessor.store.engine import libpq_dsn
from jobprocessor.store.jobs import CANCEL_CHANNEL, QUEUED_CHANNEL

logger = logging.getLogger(__name__)

#: SQLite: the commit watch wakes the control loop (cancel requests) at most this often.
CONTROL_WAKE_INTERVAL = 0.05
#: The longest pause between attempts to listen again after a lost connection.
RECONNECT_PAUSE_MAX = 5.0


class WakeUps:
    """One wake-up event per claim lane, all set together: a lane that clears its
    own before looking for work cannot swallow another lane's wake-up."""

    def __init__(self, lanes: int) -> None:
        self._events = [threading.Event() for _ in range(lanes)]

    def __getitem__(self, lane: int) -> threading.Event:
        return self._events[lane]

    def set(self) -> None:
        for event in self._events:
            event.set()


def listen(
    engine: Engine,
    worker_id: str,
    stopped: threading.Event,
    claim: WakeUps,
    control: threading.Event,
) -> None:
    """PostgreSQL: turn notifications into wake-ups until ``stopped``, reconnecting
    after a lost connection (a cancel for another worker wakes nobody)."""
    pause = 0.5
    while not stopped.is_set():
        try:
            with psycopg.connect(libpq_dsn(engine), autocommit=True) as connection:
                connection.execute(f"LISTEN {QUEUED_CHANNEL}")
                connection.execute(f"LISTEN {CANCEL_CHANNEL}")
                pause = 0.5
                claim.set()  # jobs may have arrived while we were not listening
                while not stopped.is_set():
                    for note in connection.notifies(timeout=1.0):
                        if note.channel == QUEUED_CHANNEL:
                            claim.set()
                        elif note.payload in ("", worker_id):
                            control.set()
        except psycopg.Error as error:
            logger.warning("LISTEN connection lost (%s); reconnecting", error)
            stopped.wait(pause)
            pause = min(pause * 2, RECONNECT_PAUSE_MAX)


def watch_commits(
    database: str | None,
    interval: float,
    stopped: threading.Event,
    claim: WakeUps,
    control: threading.Event,
) -> None:
    """SQLite: wake the claim lanes soon after anyone commits (a job may be queued),
    and the control loop too, but not after every one of a busy worker's commits."""
    assert database, "workers need a SQLite file"
    watch = CommitWatch(database)
    control_pending, control_woken = False, 0.0
    try:
        while not stopped.wait(interval):
            if watch.changed():
                claim.set()
                control_pending = True
            now = time.monotonic()
            if control_pending and now - control_woken >= CONTROL_WAKE_INTERVAL:
                control.set()
                control_pending, control_woken = False, now
    finally:
        watch.close()


def wake_thread(
    engine: Engine,
    worker_id: str,
    commit_watch_interval: float,
    stopped: threading.Event,
    claim: WakeUps,
    control: threading.Event,
) -> threading.Thread | None:
    """The thread that wakes this worker for its database, not yet started; None
    where SQLite's commit watch is switched off (``commit_watch_interval`` 0)."""
    if engine.dialect.name == "postgresql":
        return threading.Thread(
            target=listen,
            args=(engine, worker_id, stopped, claim, control),
            name="listen",
            daemon=True,
        )
    if commit_watch_interval <= 0:
        return None
    return threading.Thread(
        target=watch_commits,
        args=(engine.url.database, commit_watch_interval, stopped, claim, control),
        name="watch",
        daemon=True,
    )
