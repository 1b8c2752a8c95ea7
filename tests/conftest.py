"""Fixtures shared by every test: databases, services and worker processes.

Every engine test runs twice, on SQLite and on PostgreSQL (``database_url`` is
parametrised). Each test gets an empty database with the schema already applied:
on SQLite a copy of a template file, on PostgreSQL a database cloned from a template
with ``CREATE DATABASE … TEMPLATE`` and emptied for the next test after it
(``pg_pool.py``). A PostgreSQL server that cannot be reached fails the tests; it is
never skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine

from jobprocessor.service import JobService, open_service
from jobprocessor.settings import Settings
from jobprocessor.store.engine import create_db_engine
from jobprocessor.store.jobs import JobStore
from jobprocessor.store.schema import upgrade
from jobprocessor.store.users import UserStore
from pg_pool import DatabasePool
from support import (
    CHEAP_PASSWORDS,
    DIAG,
    FAST,
    PG_TEMPLATE,
    InProcessWorker,
    WorkerProcess,
    cli_env,
    new_pg_pool,
    pg_admin,
    pg_url,
)
from waiting import wait_until

#: Fixtures of the web tests and of the partition tests live beside this file.
pytest_plugins = ["web_support", "partition_support"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--part",
        choices=("parallel", "serial"),
        help="Run only the tests that may run beside others (parallel, e.g. with -n 4), or "
        "only those marked serial, which must run alone; scripts/test runs both parts.",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    part = config.getoption("--part")
    if part is None:
        return
    if part == "parallel":
        # The longest tests first, so that none of them starts last and runs alone.
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    keep = [
        item
        for item in items
        if (item.get_closest_marker("serial") is not None) == (part == "serial")
    ]
    if len(keep) < len(items):
        kept = set(map(id, keep))
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept])
        items[:] = keep


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    try:
        admin = pg_admin()
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is required for the tests and cannot be reached: {error}")
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_TEMPLATE}")
    engine = create_db_engine(pg_url(PG_TEMPLATE))
    upgrade(engine)
    engine.dispose()
    yield PG_TEMPLATE
    with pg_admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)")


@pytest.fixture(scope="session")
def pg_pool() -> Iterator[DatabasePool]:
    pool = new_pg_pool()
    yield pool
    pool.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "jobs.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database_url")
    return url


@pytest.fixture
def pg_database_url(pg_pool: DatabasePool, pg_template: str) -> Iterator[str]:
    """An empty, migrated PostgreSQL database, for what only a server has."""
    name = pg_pool.take(pg_template)
    try:
        yield pg_url(name)
    finally:
        pg_pool.give_back(name)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, **FAST)


@pytest.fixture
def service(settings: Settings) -> Iterator[JobService]:
    import jobprocessor.diagnostics  # noqa: F401 - registers the diag.* types

    svc = open_service(settings)
    svc.password_hasher = CHEAP_PASSWORDS
    yield svc
    svc.close()


def _no_database() -> Any:
    raise AssertionError("this check must be made before the database is reached")


@pytest.fixture
def offline_service() -> Iterator[JobService]:
    """A service whose database cannot be reached, for input checks that come first.

    Such a check needs no database of either kind, and one that reached it would
    fail the test; so "nothing stored" holds on every database.
    """
    import jobprocessor.diagnostics  # noqa: F401 - registers the diag.* types

    engine = create_engine("sqlite://", creator=_no_database)
    yield JobService(JobStore(engine), UserStore(engine))
    engine.dispose()


@pytest.fixture
def start_worker(settings: Settings) -> Iterator[Callable[..., InProcessWorker]]:
    """Start in-process workers; all are stopped at the end of the test."""
    started: list[InProcessWorker] = []

    def start(
        concurrency: int = 2,
        apps: list[str] | None = None,
        queues: str | None = None,
        **overrides: Any,
    ) -> InProcessWorker:
        worker_settings = settings.model_copy(update=overrides)
        worker = InProcessWorker(worker_settings, concurrency, apps or [DIAG], queues).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.thread.is_alive():
            worker.stop(immediate=True)


@pytest.fixture
def spawn_worker(
    database_url: str, service: JobService, tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``jobprocessor worker`` processes; each is ready when its row exists."""
    started: list[WorkerProcess] = []

    def spawn(
        concurrency: int = 2,
        apps: list[str] | None = None,
        *,
        console_script: bool = False,
        **overrides: Any,
    ) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        # ``console_script``: the installed ``jobprocessor`` command, as people start it,
        # instead of ``python -m jobprocessor.cli`` (their job processes differ in what
        # ``spawn`` would import again from the worker's main module).
        program = (
            [str(Path(sys.executable).with_name("jobprocessor"))]
            if console_script
            else [sys.executable, "-m", "jobprocessor.cli"]
        )
        command = [*program, "worker", "--concurrency", str(concurrency)]
        for module in apps or [DIAG]:
            command += ["--app", module]
        with log.open("wb") as handle:
            process = subprocess.Popen(
                command,
                env=cli_env(database_url, **overrides),
                stdout=handle,
                stderr=subprocess.STDOUT,
                # A process group of its own: a test can pause the worker with its
                # job processes (SIGSTOP to the group) without pausing pytest.
                start_new_session=True,
            )
        worker = WorkerProcess(process, log)
        started.append(worker)

        def registered() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{worker.output()}")
            return any(w["pid"] == process.pid for w in service.store.workers.live()) and (
                "started:" in worker.output()
            )

        wait_until(registered, timeout=60, what="the worker to register")
        return worker

    yield spawn
    for worker in started:
        # The whole group: its job processes too, even paused ones.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(10)
