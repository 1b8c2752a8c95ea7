"""A PostgreSQL server of a test's own, for tests that stop or restart the server.

Restarting the machine's shared server would drop the connections of every test
running beside; a private one (``initdb`` into a temporary directory, a port of its
own, loopback only) can be stopped and restarted while the others run. The server
refuses to run as root, so under root it runs as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

from ports import free_port


def _bin_dir() -> Path:
    """The newest installed server's programs (Debian: /usr/lib/postgresql/<v>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    if not found:
        raise RuntimeError("no PostgreSQL server programs under /usr/lib/postgresql")
    return found[-1].parent


class PrivateServer:
    """A throwaway PostgreSQL cluster: ``start``, ``stop``, ``restart``, ``url``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self._bin = _bin_dir()
        self._as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[PrivateServer]:
        root = Path(tempfile.mkdtemp(prefix="jobprocessor-pg-"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
        server = cls(root)
        try:
            server._run("initdb", "-D", str(server.data), "-U", "postgres", "-A", "trust")
            server.start()
            yield server
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                server.stop()
            shutil.rmtree(root, ignore_errors=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._pg_ctl("start", "-o", options, "-l", str(self.root / "server.log"))

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast")

    def restart(self) -> None:
        # Not ``pg_ctl restart``: it forgets ``-l``, and the server would then hold
        # our captured output open (subprocess.run would wait for it forever).
        self.stop()
        self.start()

    def ready(self) -> bool:
        done = subprocess.run(
            [str(self._bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        )

    def _pg_ctl(self, action: str, *options: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.data), "-w", "-t", "60", *options)

    def _run(self, program: str, *arguments: str) -> None:
        command = [*self._as_owner, str(self._bin / program), *arguments]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise subprocess.CalledProcessError(
                done.returncode, command, done.stdout, f"{done.stderr}\n{tail}"
            )
