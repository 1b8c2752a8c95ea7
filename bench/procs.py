"""Worker processes of the systems under test, each in its own process group.

Every system's worker runs as a subprocess (so the benchmark's polling and
submitting never share a GIL with it), started in a new session so that
stopping it reaches the children it forked (Celery's pool, RQ's work horses,
JobProcessor's job processes) and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.common import RESULTS, ROOT
from bench.stamps import ENV

STOP_TIMEOUT = 30.0


def python() -> str:
    """The interpreter of the bench environment (the one running this)."""
    return sys.executable


def script(name: str) -> str:
    """A console script of the bench environment (``jobprocessor``, ``celery``, ``rq``)."""
    return str(Path(sys.executable).with_name(name))


class WorkerProcess:
    """One worker command, its log in bench/results/logs/<name>.log."""

    def __init__(
        self, command: Sequence[str], name: str, stamps: Path, env: Mapping[str, str] = {}
    ) -> None:
        log_dir = RESULTS / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        environment = dict(os.environ, **env)
        environment[ENV] = str(stamps)
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), environment.get("PYTHONPATH", "")) if p
        )
        self.launched_at = time.time()
        self.process = subprocess.Popen(
            list(command),
            env=environment,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM to its process group (graceful), SIGKILL after ``timeout``."""
        group = self.process.pid
        if self.alive():
            self._signal(group, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(group, signal.SIGKILL)
                self.process.wait()
        # Children that outlived their parent (a work horse, a pool process).
        self._signal(group, signal.SIGKILL)
        self._log.close()
        return self.process.returncode

    def kill(self) -> None:
        """At once, the whole group: for a worker whose job cannot be stopped otherwise."""
        self._signal(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._log.close()

    @staticmethod
    def _signal(group: int, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signum)

    def tail(self, lines: int = 5) -> str:
        """The end of its log, for an error message."""
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])


class WorkerGroup:
    """Several worker processes that count as one worker with K slots (RQ, pgqueuer)."""

    def __init__(self, members: Sequence[WorkerProcess]) -> None:
        self.members = list(members)
        self.launched_at = min(m.launched_at for m in self.members)

    def alive(self) -> bool:
        return all(m.alive() for m in self.members)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        for member in self.members:
            if member.alive():
                WorkerProcess._signal(member.process.pid, signal.SIGTERM)
        codes = [m.stop(timeout) for m in self.members]
        return max((c for c in codes if c is not None), default=None)

    def kill(self) -> None:
        for member in self.members:
            member.kill()

    def tail(self, lines: int = 5) -> str:
        return " | ".join(t for m in self.members if (t := m.tail(lines)))


Worker = WorkerProcess | WorkerGroup
