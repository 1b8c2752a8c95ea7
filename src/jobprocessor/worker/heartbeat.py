"""A worker's heartbeats, in a thread of their own.

Nothing else the worker does can hold them up: they have their own thread and
their own connection (``store.liveness``), so that a slow round, a report write
or a rescue waiting on another worker never makes this worker look lost. The
thread also tells the worker how well its own heartbeats go through: a worker
judges others lost only once its own heartbeats have gone through on time for a
while (``steady_for``). A stall of the database (a restart, an outage, a long
write holding SQLite's lock) holds up every worker's heartbeats alike, and must
not make live workers look lost when it ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from jobprocessor.store.liveness import Liveness

logger = logging.getLogger(__name__)


class Heartbeat:
    """Beats every ``interval`` seconds until ``stopped``; calls ``on_lost`` when the
    worker's row is gone (it was declared lost)."""

    def __init__(
        self,
        liveness: Liveness,
        *,
        interval: float,
        timeout: float,
        stopping: Callable[[], bool],
        stopped: threading.Event,
        on_lost: Callable[[], None],
    ) -> None:
        self._liveness = liveness
        self._interval = interval
        #: A beat this much later than the one before breaks the steady run.
        self._late = interval + timeout / 4
        self._stopping = stopping
        self._stopped = stopped
        self._on_lost = on_lost
        self._lock = threading.Lock()
        self._last_beat: float | None = None
        self._steady_since: float | None = None
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def steady_for(self) -> float:
        """Seconds for which this worker's heartbeats have gone through on time; 0 if
        the last one failed or is overdue."""
        with self._lock:
            if self._steady_since is None or self._last_beat is None:
                return 0.0
            now = time.monotonic()
            if now - self._last_beat > self._late:
                return 0.0
            return now - self._steady_since

    def beat_once(self) -> bool | None:
        """One heartbeat: True if recorded, False if the worker's row is gone, None if
        the database could not be reached."""
        try:
            alive = self._liveness.beat(stopping=self._stopping())
        except DBAPIError as error:
            logger.warning("heartbeat failed (%s); will try again", error.orig)
            with self._lock:
                self._steady_since = None
            return None
        now = time.monotonic()
        with self._lock:
            if (
                self._steady_since is None
                or self._last_beat is None
                or now - self._last_beat > self._late
            ):
                self._steady_since = now
            self._last_beat = now
        return alive

    def _run(self) -> None:
        while not self._stopped.is_set():
            started = time.monotonic()
            if self.beat_once() is False:
                self._on_lost()
            self._stopped.wait(max(0.0, self._interval - (time.monotonic() - started)))
