"""What every job of every system does: note when it started, and that it is alive.

The same figures must mean the same thing for six systems whose own records
differ (some keep no start time, some delete finished jobs), so the jobs
measure themselves: a job appends one fixed-width line ``key time`` to a file of
its process when it starts (``started``), a job of the fair-share case appends
the same line to another file when it ends (``ended``), and a long job for the
cancel tests rewrites ``alive-<key>`` every 50 ms, so the benchmark can tell when
it really stopped whatever its system says. The directory comes from ``BENCH_STAMPS``;
one file per process means no locks, and an append of one short line is a
single ``write`` (microseconds, the same cost for every system).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV = "BENCH_STAMPS"
#: ``f"{key:012d} {time:.6f}\n"``: 12 + 1 + 17 + 1 bytes, so a count is a file size.
LINE = 31
BEAT = 0.05

_fds: dict[str, int] = {}


def _directory() -> Path:
    return Path(os.environ[ENV])


def _append(kind: str, key: int) -> None:
    if kind not in _fds:
        path = _directory() / f"{kind}-{os.getpid()}.txt"
        _fds[kind] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(_fds[kind], f"{key:012d} {time.time():.6f}\n".encode())


def started(key: int = 0) -> None:
    """Record that job ``key`` starts now (called first thing in every job body)."""
    _append("started", key)


def ended(key: int = 0) -> None:
    """Record that job ``key`` ends now (the last thing a fair-share job does)."""
    _append("ended", key)


def sleeper(key: int, seconds: float) -> None:
    """The fair-share job's body for systems that run plain functions: start, sleep, end."""
    started(key)
    time.sleep(seconds)
    ended(key)


def beat(key: int) -> None:
    """Say that long job ``key`` is still running (its file's content is the time)."""
    path = _directory() / f"alive-{key}"
    path.write_text(f"{time.time():.6f}")


def busy(key: int, seconds: float, check: object = None) -> None:
    """A long job's body: beat every 50 ms for ``seconds``; ``check()`` (if given) may raise.

    A job passed no ``check`` never looks for a cancel: only force stops it.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        beat(key)
        if callable(check):
            check()
        time.sleep(BEAT)


class Stamps:
    """The benchmark's side: a fresh directory per case, and what the jobs wrote in it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def reset(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for path in self.directory.iterdir():
            path.unlink()

    def count(self) -> int:
        """Jobs started so far (from the files' sizes: cheap enough to poll)."""
        return sum(p.stat().st_size for p in self.directory.glob("started-*.txt")) // LINE

    def starts(self) -> dict[int, float]:
        """Each key's first start time (a key started twice was run twice: see ``duplicates``)."""
        return self._first("started")

    def ends(self) -> dict[int, float]:
        """Each key's first end time (fair-share jobs only)."""
        return self._first("ended")

    def ended_count(self) -> int:
        """Jobs ended so far (counted as ``count`` counts starts)."""
        return sum(p.stat().st_size for p in self.directory.glob("ended-*.txt")) // LINE

    def _first(self, kind: str) -> dict[int, float]:
        found: dict[int, float] = {}
        for path in self.directory.glob(f"{kind}-*.txt"):
            for line in path.read_text().splitlines():
                key, at = line.split()
                found.setdefault(int(key), float(at))
        return found

    def start_times(self) -> list[float]:
        """Every start time, in order (burn-downs use keys 0 only)."""
        times = []
        for path in self.directory.glob("started-*.txt"):
            times += [float(line.split()[1]) for line in path.read_text().splitlines()]
        return sorted(times)

    def last_beat(self, key: int) -> float | None:
        path = self.directory / f"alive-{key}"
        try:
            return float(path.read_text() or "nan")
        except (OSError, ValueError):
            return None
