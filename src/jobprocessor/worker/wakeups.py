"""What wakes a worker between polls.

A worker sleeps until a slot frees, its poll interval passes, or its database says
there may be work (``Backend.wake_source``: PostgreSQL NOTIFY, SQLite's commit
watch): a job was queued (the claim lanes wake) or a cancel was requested (the
control loop wakes, which forwards it to the job's slot).
"""

from __future__ import annotations

import threading

from jobprocessor.store.backend import Backend


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


def wake_thread(
    backend: Backend,
    worker_id: str,
    commit_watch_interval: float,
    stopped: threading.Event,
    claim: WakeUps,
    control: threading.Event,
) -> threading.Thread | None:
    """The thread that wakes this worker, not yet started; None where the database
    has nothing to tell (SQLite with ``commit_watch_interval`` 0)."""
    source = backend.wake_source(
        worker_id,
        commit_watch_interval=commit_watch_interval,
        stopped=stopped,
        on_queued=claim.set,
        on_cancel=control.set,
    )
    if source is None:
        return None
    return threading.Thread(target=source, name=f"wake-{backend.name}", daemon=True)
