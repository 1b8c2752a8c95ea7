"""The chaos run's PostgreSQL: a fresh database, a watcher on it, and the restart.

The restart is of the machine's one server, which other people's test runs use too:
it waits while any pytest runs on the machine (``others_testing``), and can be
switched off (``--no-db-restart``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.services import PG_ADMIN, ensure_postgres, pg_url
from jobprocessor.store.engine import create_db_engine
from jobprocessor.store.schema import upgrade

#: While others test, look again this often, this long at most, before a restart.
OTHERS_POLL = 30.0
OTHERS_WAIT = 20 * 60.0


def create_database(name: str) -> str:
    """A fresh database with the engine's schema; its SQLAlchemy URL."""
    ensure_postgres()
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_url(name, "postgresql+psycopg")
    engine = create_db_engine(url)
    upgrade(engine)  # once, here: three workers starting at once would race for it
    engine.dispose()
    return url


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def version() -> str:
    """The cluster's version directory (``pg_ctlcluster`` wants it)."""
    return sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]


def ready() -> bool:
    done = subprocess.run(
        ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], capture_output=True, check=False
    )
    return done.returncode == 0


def restart(ask: Callable[[], bool] = ready) -> tuple[float, float | None, float]:
    """Restart the server as tests/test_postgres_restart.py does; (began, refused,
    back) as epoch seconds: the command, the first refused connection, the first one
    accepted after it (None, and the command's end, if no refusal was seen).

    ``pg_ctlcluster`` returns some 2 s after the server accepts connections again (as
    its log says), so the server is asked (``ask``) all along, while the command runs.
    """
    began = time.time()
    command = subprocess.Popen(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version(), "main", "restart"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    refused: float | None = None
    deadline = time.monotonic() + 120
    try:
        while True:
            finished = command.poll() is not None
            up, at = ask(), time.time()
            if not up and refused is None:
                refused = at
            elif up and (refused is not None or finished):
                back = at
                break
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not accept connections within 120 s")
            time.sleep(0.01)
        command.wait(120)
    finally:
        if command.poll() is None:
            command.kill()
    if command.returncode != 0:
        error = command.stderr.read().decode(errors="replace") if command.stderr else ""
        raise RuntimeError(f"pg_ctlcluster restart failed ({command.returncode}): {error}")
    return began, refused, back


def outage(name: str, seconds: float) -> tuple[float, float]:
    """The restart as the run's database alone sees it, for a server others use: every
    session of ``name`` ended, and connections to it refused for ``seconds``. (A real
    restart also ends the forwarder's connections, and refuses with another error.)"""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        began = time.time()
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        time.sleep(seconds)  # the length of the outage, not a wait for a state
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        return began, time.time()


def others_testing() -> list[str]:
    """Command lines of pytest processes on the machine (``pgrep -f pytest``), ours excluded."""
    done = subprocess.run(["pgrep", "-af", "pytest"], capture_output=True, text=True, check=False)
    found = []
    for line in done.stdout.splitlines():
        pid, _, command = line.partition(" ")
        if int(pid) != os.getpid():
            found.append(command)
    return found


class Watcher:
    """A connection of the chaos run's own, to look at workers and jobs.

    It rides through the restart: a failed look returns None and the next one
    connects again.
    """

    def __init__(self, url: str) -> None:
        self._dsn = libpq(url)
        self._connection: psycopg.Connection[dict[str, Any]] | None = None

    def _query(self, sql: str, *args: Any) -> list[dict[str, Any]] | None:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(
                    self._dsn, autocommit=True, connect_timeout=3, row_factory=dict_row
                )
                self._connection.execute("SET statement_timeout = 5000")
            return self._connection.execute(sql, args or None).fetchall()
        except psycopg.Error:
            self.close()
            return None

    def workers(self) -> dict[int, str] | None:
        """pid → worker id of the registered workers."""
        rows = self._query("SELECT id, pid FROM jobprocessor_workers")
        return None if rows is None else {r["pid"]: r["id"] for r in rows}

    def held(self, worker_id: str) -> list[int] | None:
        """The jobs a worker holds now."""
        rows = self._query(
            "SELECT id FROM jobprocessor_jobs WHERE worker_id = %s"
            " AND status IN ('running', 'canceling') ORDER BY id",
            worker_id,
        )
        return None if rows is None else [r["id"] for r in rows]

    def counts(self) -> dict[str, int] | None:
        """Jobs by status."""
        rows = self._query("SELECT status, count(*) AS n FROM jobprocessor_jobs GROUP BY status")
        return None if rows is None else {r["status"]: r["n"] for r in rows}

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
            self._connection = None
