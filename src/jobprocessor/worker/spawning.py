"""Starting a job process without the worker's main module.

``spawn`` runs the parent's ``__main__`` again in every child, so that what it defines
can be unpickled there. A job process needs nothing of it (its target is
``child.main``; its jobs come from the app modules), and the worker's main module is
the ``jobprocessor`` command line: Typer, the service, the store and SQLAlchemy, which
every job process imported before its first job (bench/engine_changes.md, item 26).
"""

from __future__ import annotations

import sys
import threading
import types
from multiprocessing.process import BaseProcess

#: Slots start their processes from threads of their own; the swap below is global.
_main_swap = threading.Lock()


def start_without_main(process: BaseProcess) -> None:
    """``process.start()`` with an empty ``__main__`` for the child to prepare."""
    with _main_swap:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            process.start()
        finally:
            sys.modules["__main__"] = main
