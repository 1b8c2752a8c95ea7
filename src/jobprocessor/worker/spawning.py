"""Starting job processes: forked from a warm server, without the worker's main module.

A job process used to be a fresh interpreter (``spawn``) that imported the engine
before its first job, again after every forced stop. Where the platform has it, job
processes now come from multiprocessing's fork server instead: one clean process per
worker, started once, that has imported the job process's code (``PRELOAD``) and
forks a new job process in milliseconds. It is still a fork of a single-threaded
process that holds no connection, no lock and no thread of the worker's, which is
why ``fork`` of the worker itself is not used. Apps are imported by each job process,
as before, so an app's import-time errors reach the worker as a ``Broken`` message.

``spawn`` and the fork server both prepare a child by running the parent's
``__main__`` again, so that what it defines can be unpickled there. A job process
needs nothing of it (its target is ``child.main``; its jobs come from the app
modules), and the worker's main module is the ``jobprocessor`` command line: Typer,
the service, the store and SQLAlchemy (bench/engine_changes.md, item 26).
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import types
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the fork server's context does not exist on Windows
    from multiprocessing.context import ForkServerContext, SpawnContext

#: What the fork server imports once, so that no job process has to.
PRELOAD = ["jobprocessor.worker.child"]

#: Slots start their processes from threads of their own; the swap below is global.
_main_swap = threading.Lock()


def job_process_context() -> ForkServerContext | SpawnContext:
    """The fork server where the platform has one (Linux, macOS), else ``spawn``.

    The preload is set before the server's first start; a server that something else
    in this process started first serves just the same, only with colder children.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_without_main(process: BaseProcess) -> None:
    """``process.start()`` with an empty ``__main__`` for the child to prepare."""
    with _main_swap:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            process.start()
        finally:
            sys.modules["__main__"] = main
