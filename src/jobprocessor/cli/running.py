"""Running a worker from the command line until a signal says stop.

Signal handlers run in the main thread between its bytecodes. The worker runs
in another thread, so that a handler never interrupts it while it holds a lock
the handler needs (Event.set inside Event.clear deadlocks); the main thread
only waits, or serves the web console.
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from jobprocessor.worker import Worker

log = logging.getLogger("jobprocessor")


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


class Stopper:
    """Stops the worker once per signal, and never from inside a stop.

    A handler runs between two bytecodes of the main thread, so also between two of
    an earlier handler: a second signal that came while the first handler's
    ``stop()`` held a lock (a nudge's, an Event's) waited for that lock forever, and
    the worker with it (seen: SIGINT twice in quick succession). A signal that comes
    while a stop runs is noted, and that stop handles it once done.
    """

    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self._pending: list[str | None] = []
        self._busy = False

    def on_signal(self, signum: int, _: FrameType | None) -> None:
        self.stop(signal.Signals(signum).name)

    def stop(self, signal_name: str | None) -> None:
        """Stop the worker (a second time: at once), for a signal or (None) for the
        web server's end."""
        self._pending.append(signal_name)
        if self._busy:
            return  # called from within the loop below: it takes this one too
        while True:
            self._busy = True
            while self._pending:
                self._stop_for(self._pending.pop(0))
            self._busy = False
            if not self._pending:  # nothing came between the loop and here
                return

    def _stop_for(self, signal_name: str | None) -> None:
        if signal_name is not None:
            if self._worker.stopping:
                log.warning("%s received again: canceling running jobs now", signal_name)
            else:
                log.info("%s received: draining (send it again to stop at once)", signal_name)
        self._worker.stop()


def run_worker(the_worker: Worker, foreground: Callable[[], None] | None = None) -> None:
    """Run ``the_worker`` until SIGTERM/SIGINT drains it (a second signal stops it at once).

    ``foreground`` (the web server) runs in the main thread meanwhile and handles
    the first signal itself; when it returns, for whatever reason, the worker drains.
    """

    stopper = Stopper(the_worker)

    failures: list[BaseException] = []

    def run() -> None:
        try:
            the_worker.run()
        except BaseException as error:
            failures.append(error)

    interval = the_worker.store.backend.switch_interval
    if interval is not None:
        sys.setswitchinterval(interval)  # the whole process's: it is the worker's
    runner = threading.Thread(target=run, name="worker")
    signal.signal(signal.SIGTERM, stopper.on_signal)
    signal.signal(signal.SIGINT, stopper.on_signal)
    # SIGUSR1 writes every thread's stack to stderr, the worker running on: where a
    # worker that does not stop (or does not claim) is waiting.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    runner.start()
    try:
        if foreground is not None:
            foreground()
    finally:
        if foreground is not None and not the_worker.stopping:
            log.info("web server stopped: draining the worker")
            stopper.stop(None)
        while runner.is_alive():
            runner.join(0.5)
    if failures:
        raise failures[0]
