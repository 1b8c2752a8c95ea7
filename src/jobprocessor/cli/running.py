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


def run_worker(the_worker: Worker, foreground: Callable[[], None] | None = None) -> None:
    """Run ``the_worker`` until SIGTERM/SIGINT drains it (a second signal stops it at once).

    ``foreground`` (the web server) runs in the main thread meanwhile and handles
    the first signal itself; when it returns, for whatever reason, the worker drains.
    """

    def on_signal(signum: int, _: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if the_worker.stopping:
            log.warning("%s received again: canceling running jobs now", name)
        else:
            log.info("%s received: draining (send it again to stop at once)", name)
        the_worker.stop()

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
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
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
            the_worker.stop()
        while runner.is_alive():
            runner.join(0.5)
    if failures:
        raise failures[0]
