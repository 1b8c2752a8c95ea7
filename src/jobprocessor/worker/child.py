"""The job process: one of the worker's warm pool, running one job at a time.

It imports the apps once, then its main thread waits for jobs on a pipe of their
own. A reader thread owns the other pipe's receiving end, so that a cancel
reaches a job that is busy (even one stuck in C code, whose hooks still run in
that thread). The worker ends this process if the job does not stop within its
grace period.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import traceback
from multiprocessing.connection import Connection

from jobprocessor.context import JobCanceled, JobContext
from jobprocessor.registry import load_apps, registry
from jobprocessor.worker import messages
from jobprocessor.worker.messages import (
    Broken,
    Cancel,
    Canceled,
    Done,
    Exit,
    Failed,
    FromJob,
    MessageReporter,
    Ready,
    Run,
    Succeeded,
)

logger = logging.getLogger(__name__)


class _Channel:
    """The child's end of the pipe: sends from any thread, one at a time."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    def send(self, message: FromJob) -> None:
        with self._lock:
            messages.send(self._connection, message)


class _Current:
    """The job this process runs, and a cancel that arrived before it began."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._context: JobContext | None = None
        self._early_cancel: int | None = None

    def begin(self, context: JobContext) -> None:
        with self._lock:
            self._context = context
            if self._early_cancel == context.job_id:
                context.request_cancel()
            self._early_cancel = None

    def end(self) -> None:
        with self._lock:
            self._context = None

    def cancel(self, job_id: int) -> None:
        with self._lock:
            if self._context is not None and self._context.job_id == job_id:
                self._context.request_cancel()
            else:  # its job has not begun yet: it is canceled as it begins
                self._early_cancel = job_id


def run_as_batch_work() -> None:
    """Tell Linux's scheduler that this process is batch work (``SCHED_BATCH``): it
    then no longer preempts the process that wakes it. The worker wakes a job process
    with every job it hands over, and on a machine with fewer cores than busy
    processes the woken job process took the worker's core mid-round, while the
    worker is what every slot waits for. Batch work keeps its fair share of the CPU;
    only its wake-ups stop cutting in, and the worker's own (cancels, heartbeats,
    rounds) still preempt a busy job. Threads started later inherit the policy.
    Measured in ``bench/engine_changes.md``, change 41.
    """
    if hasattr(os, "SCHED_BATCH"):  # Linux only
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def main(
    connection: Connection, runs: Connection, apps: list[str], environment: dict[str, str]
) -> None:
    """Entry point of a pool process (spawned by the worker).

    Jobs arrive on ``runs``, read by this thread itself; cancels on ``connection``,
    read by a thread of their own so that they reach a busy job. ``environment`` is
    the worker's environment as the process starts, with the worker's own settings
    (its database, above all), so that a job reading ``Settings()`` works where its
    worker works, whatever the environment the worker was started with. It replaces
    what the fork server had, which is the worker's environment of long ago.
    """
    os.environ.clear()
    os.environ.update(environment)
    # Ctrl-C in a terminal reaches the whole process group; the worker decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    run_as_batch_work()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s job-process %(message)s")
    channel = _Channel(connection)
    try:
        load_apps(apps)
    except Exception as error:
        channel.send(Broken(f"{type(error).__name__}: {error}"))
        return
    current = _Current()

    def read_cancels() -> None:
        while True:
            try:
                message = messages.receive(connection)
            except (EOFError, OSError):
                # The worker is gone (killed, perhaps): nobody could record this
                # job's outcome, and its job was or will be rescued. Stop now.
                os._exit(1)
            if isinstance(message, Cancel):
                current.cancel(message.job_id)

    threading.Thread(target=read_cancels, name="job-cancel-reader", daemon=True).start()
    channel.send(Ready())
    while True:
        try:
            message = messages.receive(runs)
        except (EOFError, OSError):
            os._exit(1)  # the worker is gone
        if isinstance(message, Exit):
            return
        assert isinstance(message, Run), message
        reporter = MessageReporter(channel.send)
        context = JobContext(message.job_id, message.params, message.submitted_by, reporter)
        current.begin(context)
        outcome = run_job(context, message.type)
        current.end()
        context.flush()
        channel.send(outcome)


def run_job(context: JobContext, type_name: str) -> Done:
    """Run one job and say how it ended."""
    try:
        job_type = registry.get(type_name)
        arguments = job_type.load(context.params)
        result = job_type.function(context, **arguments)
        json.dumps(result)
    except JobCanceled as canceled:
        return Canceled(str(canceled))
    except BaseException as error:
        if isinstance(error, TypeError) and "JSON serializable" in str(error):
            error = TypeError(f"the job's result is not JSON-serialisable: {error}")
        return Failed(type(error).__name__, str(error), "".join(traceback.format_exception(error)))
    return Succeeded(result)
