"""The ``jobprocessor`` command run in the test process, as a new process would run it.

A real process costs about 0.8 s (the interpreter and the imports) and the command
line tests run a few hundred; here ``main()`` runs in the test process instead,
with its own argv, stdin, stdout, stderr and environment, an empty job-type
registry whose app modules are imported anew (as in a fresh process), and the
databases it opened closed afterwards. A few tests in test_cli.py still run the
real command to check what only a process shows (exit status, stderr, no traceback).
"""

from __future__ import annotations

import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from click.testing import CliRunner

import jobprocessor.cli.common as cli_common
import jobprocessor.cli.main as cli_main
from jobprocessor.registry import registry
from jobprocessor.service import JobService
from support import APP_DIR, settings_env

#: Modules of tests/apps that the tests load with --app (besides those already loaded).
TEST_APPS = {"contract_jobs", "settings_jobs", "console_jobs"}


@contextmanager
def fresh_registry() -> Iterator[None]:
    """No job types known, and app modules imported anew, as in a new process.

    Afterwards the test process has its own types and modules back.
    """
    saved_types = dict(registry._types)
    names = {t.function.__module__ for t in saved_types.values()} | TEST_APPS
    saved_modules = {name: sys.modules.pop(name) for name in list(names) if name in sys.modules}
    registry._types.clear()
    try:
        yield
    finally:
        names |= {t.function.__module__ for t in registry._types.values()}
        registry._types.clear()
        registry._types.update(saved_types)
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved_modules)
        for name, module in saved_modules.items():  # `import a.b` sets b on a: put it back
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, module)


def invoke_cli(
    database_url: str, *args: str, stdin: str | None = None, **overrides: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``jobprocessor ARGS`` against the test database through ``main()`` in this
    process (what ``support.run_cli`` does in a new one).

    An exception that escapes ``main()`` is what a process would print as a
    traceback on stderr with exit status 1, and is reported so.
    """
    opened: list[JobService] = []

    def open_service(*a: Any, **kw: Any) -> JobService:
        service = real_open_service(*a, **kw)
        opened.append(service)
        return service

    real_open_service = cli_main.open_service
    code = 0
    runner = CliRunner()
    with (
        fresh_registry(),
        mock.patch.object(cli_main, "open_service", open_service),
        mock.patch.object(cli_common, "open_service", open_service),
        mock.patch.object(sys, "argv", ["jobprocessor", *args]),
        mock.patch.object(sys, "path", [str(APP_DIR), *sys.path]),
        runner.isolation(input=stdin, env=settings_env(database_url, **overrides)) as (
            stdout,
            stderr,
            _,
        ),
    ):
        try:
            cli_main.main()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        except Exception:
            sys.stderr.write(traceback.format_exc())
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for service in opened:
                service.close()
        out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
    return subprocess.CompletedProcess(["jobprocessor", *args], code, out, err)
