"""What the tests share besides fixtures: the people, the test databases' addresses,
fast timings, and helpers that wait for jobs or drive worker and CLI processes.

Test modules import these from here, not from ``conftest``: ``tests/wfm`` has a
conftest of its own, and a module named ``conftest`` is whichever pytest loaded
last. The fixtures that use them are in ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, insert
from sqlalchemy.engine import make_url

from jobprocessor.model import Actor, Job, Progress, ReportEntry, Role, Status, utcnow
from jobprocessor.service import JobService
from jobprocessor.settings import Settings
from jobprocessor.store.jobs import JobStore
from jobprocessor.store.tables import job_artifacts, job_entries, workers
from jobprocessor.worker import Worker
from pg_pool import DatabasePool
from waiting import wait_until

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


def pg_dsn(database: str) -> str:
    """A libpq address (psycopg's) of ``database`` on the tests' PostgreSQL server."""
    return (
        make_url(PG_ADMIN_URL)
        .set(drivername="postgresql", database=database)
        .render_as_string(hide_password=False)
    )


def pg_url(database: str) -> str:
    """A SQLAlchemy URL of ``database`` on the tests' PostgreSQL server."""
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


#: The database the admin connection uses (to create and drop the others).
PG_ADMIN_DATABASE = make_url(PG_ADMIN_URL).database or "postgres"


def pg_admin() -> psycopg.Connection[Any]:
    """An autocommit connection to the server's admin database (to create and drop)."""
    return psycopg.connect(pg_dsn(PG_ADMIN_DATABASE), autocommit=True)


def new_pg_pool() -> DatabasePool:
    """A pool of test databases on the tests' PostgreSQL server (``pg_pool.py``)."""
    return DatabasePool(pg_dsn, PG_ADMIN_DATABASE)


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


def running_job(job_id: int, *, took: timedelta | None = timedelta(0)) -> Job:
    """A no-op job as a worker ``w`` holds it while it runs, started ``took`` ago (None:
    no start time), for tests of the worker's bookkeeping without a database."""
    return Job(
        id=job_id,
        type="diag.noop",
        category="diagnostics",
        title="No-op",
        status=Status.RUNNING,
        params={},
        submitted_by="alice",
        created_at=datetime(2026, 11, 30, tzinfo=UTC),
        started_at=None if took is None else utcnow() - took,
        progress=Progress(None, None, None),
        attempts=1,
        worker_id="w",
    )


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
