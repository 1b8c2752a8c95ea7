"""The job process: one of the worker's warm pool, running one job at a time.

It imports the apps once, then its main thread waits for jobs on a pipe of their
own. A reader thread owns the other pipe's receiving end, so that a cancel
reaches a job that is busy (even one stuck in C code, whose hooks still run in
that thread). The worker ends this process if the job does not stop within its
grace period.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any

from jobprocessor.context import JobCanceled, JobContext, Message
from jobprocessor.registry import load_apps, registry

logger = logging.getLogger(__name__)


def send_message(connection: Connection, message: Message) -> None:
    """Send plain data on a pipe: ``Connection.send`` without its cost.

    ``Connection.send`` builds a ``ForkingPickler`` for every message, copying its
    table of reducers (for sockets, connections and the like, which these messages
    never hold): with the pickling, a fifth of a slot thread's time per job. The
    other end's ``recv()`` reads this as it reads what ``send`` wrote.
    """
    connection.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))


class _Channel:
    """The child's end of the pipe: sends from any thread, one at a time."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        with self._lock:
            send_message(self._connection, message)


def main(
    connection: Connection, runs: Connection, apps: list[str], environment: dict[str, str]
) -> None:
    """Entry point of a pool process (spawned by the worker).

    Jobs arrive on ``runs``, read by this thread itself; cancels on ``connection``,
    read by a thread of their own so that they reach a busy job. ``environment``
    carries the worker's own settings (its database, above all), so that a job
    reading ``Settings()`` works where its worker works, whatever the environment
    the worker was started with.
    """
    os.environ.update(environment)
    # Ctrl-C in a terminal reaches the whole process group; the worker decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s job-process %(message)s")
    channel = _Channel(connection)
    try:
        load_apps(apps)
    except Exception as error:
        channel.send(("broken", f"{type(error).__name__}: {error}"))
        return
    current: dict[str, Any] = {}
    current_lock = threading.Lock()

    def read_cancels() -> None:
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):
                # The worker is gone (killed, perhaps): nobody could record this
                # job's outcome, and its job was or will be rescued. Stop now.
                os._exit(1)
            if message[0] == "cancel":
                with current_lock:
                    context = current.get("context")
                    if context is not None and context.job_id == message[1]:
                        context.request_cancel()
                    else:  # its job has not begun yet: it is canceled as it begins
                        current["early_cancel"] = message[1]

    threading.Thread(target=read_cancels, name="job-cancel-reader", daemon=True).start()
    channel.send(("ready",))
    while True:
        try:
            message = runs.recv()
        except (EOFError, OSError):
            os._exit(1)  # the worker is gone
        if message[0] == "exit":
            return
        _, job_id, type_name, params, submitted_by = message
        context = JobContext(job_id, params, submitted_by, channel.send)
        with current_lock:
            current["context"] = context
            if current.pop("early_cancel", None) == job_id:
                context.request_cancel()
        outcome = run_job(context, type_name)
        with current_lock:
            current.pop("context", None)
        context.flush()
        channel.send(outcome)


def run_job(context: JobContext, type_name: str) -> Message:
    """Run one job and say how it ended, as a ``("done", status, …)`` message."""
    try:
        job_type = registry.get(type_name)
        arguments = job_type.load(context.params)
        result = job_type.function(context, **arguments)
        json.dumps(result)
    except JobCanceled as canceled:
        return ("done", "canceled", str(canceled))
    except BaseException as error:
        if isinstance(error, TypeError) and "JSON serializable" in str(error):
            error = TypeError(f"the job's result is not JSON-serialisable: {error}")
        return (
            "done",
            "failed",
            type(error).__name__,
            str(error),
            "".join(traceback.format_exception(error)),
        )
    return ("done", "succeeded", result)
