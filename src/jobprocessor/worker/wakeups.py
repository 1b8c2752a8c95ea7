"""What wakes a worker's claim lanes between polls.

A lane sleeps in one wait over its busy slots' pipes and its ``Nudge`` until a job
reports, a deadline or its poll interval passes, or someone nudges it: its database
says there may be work (``Backend.wake_source``: PostgreSQL NOTIFY, SQLite's commit
watch), a cancel or a stop was asked for, or a slot's fresh process is ready.
A cancel request wakes the control loop instead, which forwards it to the job's slot.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from collections.abc import Callable

from jobprocessor.store.backend import Backend


class Nudge:
    """An event a lane can wait for together with its pipes: one byte in a pipe of
    its own. ``set`` may be called from any thread, also after ``close``."""

    def __init__(self) -> None:
        self._reader, self._writer = os.pipe()
        os.set_blocking(self._reader, False)
        os.set_blocking(self._writer, False)
        self._lock = threading.Lock()
        self._open = True

    def fileno(self) -> int:
        return self._reader

    def set(self) -> None:
        with self._lock:
            if self._open:
                with contextlib.suppress(BlockingIOError):  # a byte already waits: enough
                    os.write(self._writer, b"!")

    def clear(self) -> None:
        """Forget earlier nudges; clear before looking, so that none is missed."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self._reader, 4096):
                pass

    def wait(self, timeout: float) -> bool:
        """Whether a nudge came within ``timeout`` seconds (it stays set)."""
        ready, _, _ = select.select([self._reader], [], [], max(0.0, timeout))
        return bool(ready)

    def close(self) -> None:
        with self._lock:
            if self._open:
                self._open = False
                os.close(self._reader)
                os.close(self._writer)


class WakeUps:
    """One nudge per claim lane, all set together: a lane that clears its own
    before looking for work cannot swallow another lane's wake-up."""

    def __init__(self, lanes: int) -> None:
        self._nudges = [Nudge() for _ in range(lanes)]

    def __getitem__(self, lane: int) -> Nudge:
        return self._nudges[lane]

    def set(self) -> None:
        for nudge in self._nudges:
            nudge.set()

    def close(self) -> None:
        for nudge in self._nudges:
            nudge.close()


def wake_thread(
    backend: Backend,
    worker_id: str,
    commit_watch_interval: float,
    stopped: threading.Event,
    claim: WakeUps,
    control: threading.Event,
    hungry: Callable[[], bool],
) -> threading.Thread | None:
    """The thread that wakes this worker, not yet started; None where the database
    has nothing to tell (SQLite with ``commit_watch_interval`` 0). ``hungry``: whether
    the worker waits for new work (``Lane.starved``)."""
    source = backend.wake_source(
        worker_id,
        commit_watch_interval=commit_watch_interval,
        stopped=stopped,
        on_queued=claim.set,
        on_cancel=control.set,
        hungry=hungry,
    )
    if source is None:
        return None
    return threading.Thread(target=source, name=f"wake-{backend.name}", daemon=True)
