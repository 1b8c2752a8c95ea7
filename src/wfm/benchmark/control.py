"""Stopping a benchmark solve from another thread (a job's cancel), within a second.

``CpSolver.stop_search`` only reaches a solve that has begun: a stop that arrives
between two solves of the neighbourhood search, or while CP-SAT is still loading the
model, would be lost. So the flag is checked before every solve, and while a solve
runs a watcher thread looks at the flag every 50 ms and keeps calling ``stop_search``
once it is set, until the solve returns.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from ortools.sat.python import cp_model

#: How often the watcher repeats ``stop_search`` after a stop (seconds).
REPEAT = 0.05


class StopFlag:
    """A stop request for a running solve; ``stop()`` is safe from any thread, any time."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def stop(self) -> None:
        """Ask the solve to stop as soon as it can (idempotent)."""
        self._event.set()

    @property
    def stopped(self) -> bool:
        return self._event.is_set()

    @contextlib.contextmanager
    def watching(self, solver: cp_model.CpSolver) -> Iterator[None]:
        """Stop ``solver`` when the flag is set, for as long as the block runs."""
        done = threading.Event()

        def watch() -> None:
            while not done.wait(REPEAT):
                if self._event.is_set():
                    solver.stop_search()

        watcher = threading.Thread(target=watch, name="benchmark-stop", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()
