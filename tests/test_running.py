"""Signals to a worker run from the command line (``cli/running.py``), without a
database: the handler's bookkeeping alone. Real signals to real workers are in
test_worker_faults.py."""

from __future__ import annotations

import signal
from typing import cast

from jobprocessor.cli.running import Stopper
from jobprocessor.worker import Worker


class _Worker:
    """What a Stopper uses of a worker; ``stop`` may be interrupted by a signal."""

    def __init__(self) -> None:
        self.stops = 0
        self.during_stop: list[Stopper] = []

    @property
    def stopping(self) -> bool:
        return self.stops > 0

    def stop(self) -> None:
        if self.during_stop:
            # A second signal arrives while this stop runs (and would hold its locks).
            self.during_stop.pop().on_signal(signal.SIGINT, None)
            assert self.stops == 0, "the second stop ran inside the first"
        self.stops += 1


def test_a_signal_during_a_stop_is_handled_after_it_not_inside_it() -> None:
    worker = _Worker()
    stopper = Stopper(cast(Worker, worker))
    worker.during_stop.append(stopper)
    stopper.on_signal(signal.SIGINT, None)
    assert worker.stops == 2  # the first drains, the second stops at once


def test_each_signal_stops_once() -> None:
    worker = _Worker()
    stopper = Stopper(cast(Worker, worker))
    stopper.on_signal(signal.SIGTERM, None)
    stopper.stop(None)
    assert worker.stops == 2
