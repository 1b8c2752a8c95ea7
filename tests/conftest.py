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
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, delete, insert
from sqlalchemy.engine import make_url

from jobprocessor.model import Actor, Job, ReportEntry, Role, Status, utcnow
from jobprocessor.service import JobService, open_service
from jobprocessor.settings import Settings
from jobprocessor.store.engine import create_db_engine
from jobprocessor.store.jobs import JobStore
from jobprocessor.store.schema import upgrade
from jobprocessor.store.tables import job_artifacts, job_entries, workers
from jobprocessor.store.users import UserStore
from jobprocessor.worker import Worker
from pg_pool import DatabasePool
from waiting import wait_until

#: Fixtures of the web tests and of the partition tests live beside this file.
pytest_plugins = ["web_support", "partition_support"]

TESTS = Path(__file__).parent
#: Job modules of the tests, loaded with --app.
APP_DIR = TESTS / "apps"
PG_ADMIN_URL = os.environ.get(
    "JOBPROCESSOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
#: One template per test session, so that concurrent sessions do not drop each other's.
PG_TEMPLATE = f"jobprocessor_test_template_{os.getpid()}"
DIAG = "jobprocessor.diagnostics"

ADMIN = Actor("admin", Role.ADMIN)
ALICE = Actor("alice", Role.USER)
BOB = Actor("bob", Role.USER)

#: Fast timings for tests; production defaults are in Settings.
FAST = {
    "heartbeat_interval": 0.5,
    "heartbeat_timeout": 3.0,
    "poll_interval": 0.05,
    "cancel_poll_interval": 0.1,
    "shutdown_timeout": 5.0,
}
#: Passwords of test users hashed at argon2's lowest cost (about 0.1 ms, not 0.4 s):
#: signing in checks them just the same, as each hash carries its own parameters.
#: Production's hasher is checked where the command line adds a user.
CHEAP_PASSWORDS = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


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


def _pg_dsn(database: str) -> str:
    return (
        make_url(PG_ADMIN_URL)
        .set(drivername="postgresql", database=database)
        .render_as_string(hide_password=False)
    )


def _pg_url(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


#: The database the admin connection uses (to create and drop the others).
PG_ADMIN_DATABASE = make_url(PG_ADMIN_URL).database or "postgres"


def _pg_admin() -> psycopg.Connection[Any]:
    return psycopg.connect(_pg_dsn(PG_ADMIN_DATABASE), autocommit=True)


def new_pg_pool() -> DatabasePool:
    """A pool of test databases on the tests' PostgreSQL server (``pg_pool.py``)."""
    return DatabasePool(_pg_dsn, PG_ADMIN_DATABASE)


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
        admin = _pg_admin()
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is required for the tests and cannot be reached: {error}")
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_TEMPLATE}")
    engine = create_db_engine(_pg_url(PG_TEMPLATE))
    upgrade(engine)
    engine.dispose()
    yield PG_TEMPLATE
    with _pg_admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)")


@pytest.fixture(scope="session")
def pg_pool() -> Iterator[DatabasePool]:
    pool = new_pg_pool()
    yield pool
    pool.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "jobs.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    pool = request.getfixturevalue("pg_pool")
    name = pool.take(template)
    try:
        yield _pg_url(name)
    finally:
        pool.give_back(name)


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


def seed_report(
    service: JobService,
    job_id: int,
    entries: Sequence[ReportEntry] = (),
    files: Sequence[tuple[str, str, bytes]] = (),
) -> None:
    """Give a job log entries and files (name, media type, data) whatever its status:
    test data, written past the fencing that a run's own writes go through."""
    with service.store.engine.begin() as connection:
        if entries:
            rows = [
                {"job_id": job_id, "at": e.at, "level": e.level, "message": e.message}
                for e in entries
            ]
            connection.execute(insert(job_entries), rows)
        for name, media_type, data in files:
            connection.execute(
                insert(job_artifacts).values(
                    job_id=job_id,
                    name=name,
                    media_type=media_type,
                    size=len(data),
                    data=data,
                    created_at=utcnow(),
                )
            )


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


def register_worker(store: JobStore, worker_id: str) -> None:
    """A fresh row for ``worker_id``, as a starting (or rejoining) worker writes it:
    the claim takes nothing for a worker without one (it was declared lost)."""
    now = utcnow()
    row = {"id": worker_id, "host": "test", "pid": 0, "slots": 1}
    with store.engine.begin() as connection:
        connection.execute(delete(workers).where(workers.c.id == worker_id))
        connection.execute(insert(workers).values(**row, started_at=now, heartbeat_at=now))


def wait_for_status(
    service: JobService, job_id: int, *statuses: Status, timeout: float = 15.0
) -> Job:
    """The job once it has one of ``statuses``."""

    def reached() -> Job | None:
        job = service.get(ADMIN, job_id)
        return job if job.status in statuses else None

    result: Job = wait_until(reached, timeout=timeout, what=f"job {job_id} to be {statuses}")
    return result


class InProcessWorker:
    """A Worker in a thread of the test process (its job processes are real)."""

    def __init__(
        self, settings: Settings, concurrency: int, apps: list[str], queues: str | None = None
    ) -> None:
        self.worker = Worker(settings, concurrency=concurrency, apps=apps, queues=queues)
        self.thread = threading.Thread(target=self.worker.run, daemon=True)

    def start(self) -> InProcessWorker:
        self.thread.start()
        if not self.worker.ready.wait(60):
            raise AssertionError("worker did not start")
        return self

    def stop(self, immediate: bool = False) -> None:
        self.worker.stop(immediate=immediate)
        self.thread.join(60)
        assert not self.thread.is_alive(), "worker did not stop"


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


class WorkerProcess:
    """A real ``jobprocessor worker`` process, for fault tests that kill it."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def pause(self) -> None:
        """Freeze the worker and its job processes (a GC pause, a frozen host)."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    def wait(self, timeout: float = 60) -> int:
        """The exit code; a worker still running after ``timeout`` fails the test with
        its log, which says where it was (TimeoutExpired alone does not)."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGUSR1)  # the worker writes its threads' stacks to its log
            with contextlib.suppress(AssertionError):
                wait_until(lambda: "Thread 0x" in self.output(), timeout=5, what="stacks")
            pytest.fail(f"the worker did not exit within {timeout:g} s; its log:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def settings_env(database_url: str, **overrides: Any) -> dict[str, str]:
    """The settings of a command, as its environment: the test database, fast timings."""
    env = {"JOBPROCESSOR_DATABASE_URL": database_url}
    for key, value in {**FAST, **overrides}.items():
        env[f"JOBPROCESSOR_{key.upper()}"] = str(value)
    return env


def cli_env(database_url: str, **overrides: Any) -> dict[str, str]:
    """Environment for a CLI process: the test database and fast timings."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(APP_DIR), env.get("PYTHONPATH", "")])
    env.update(settings_env(database_url, **overrides))
    return env


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


def run_cli(
    database_url: str, *args: str, stdin: str | None = None, **overrides: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``jobprocessor ARGS`` against the test database."""
    return subprocess.run(
        [sys.executable, "-m", "jobprocessor.cli", *args],
        env=cli_env(database_url, **overrides),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
