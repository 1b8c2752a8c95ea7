"""Small helpers every benchmark module uses: progress, percentiles, the machine, tables."""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
_BEGUN = time.monotonic()


def say(message: str) -> None:
    """Progress on stderr, so that stdout carries only the tables."""
    print(f"[{time.monotonic() - _BEGUN:6.1f} s] {message}", file=sys.stderr, flush=True)


def elapsed() -> float:
    """Seconds since the run began."""
    return time.monotonic() - _BEGUN


class Interrupted(Exception):
    """SIGTERM or SIGINT arrived; raised at the next checkpoint."""


_signals: list[int] = []


def _on_signal(signum: int, _: object) -> None:
    """Note the signal; ``checkpoint()`` acts on it where no worker can be left behind.

    Raising here could strike between starting a worker and guarding it with
    ``finally``. A second signal exits at once.
    """
    if _signals:
        raise SystemExit(128 + signum)
    _signals.append(signum)


def install_signal_handlers() -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _on_signal)


def checkpoint() -> None:
    if _signals:
        raise Interrupted(signal.Signals(_signals[0]).name)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), without numpy."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of samples in milliseconds (empty if there are none)."""
    if not samples:
        return {}
    return {
        "p50": percentile(samples, 50),
        "p95": percentile(samples, 95),
        "p99": percentile(samples, 99),
        "max": max(samples),
        "mean": sum(samples) / len(samples),
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, recorded before every case."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """Enough about the host to compare runs: cores, RAM, CPU, OS, load."""
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": load_average(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["ram_gib"] = round(int(line.split()[1]) / 1024**2, 1)
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    return info


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table: first column left-aligned, the figures right-aligned."""
    if not rows:
        return "(none)"
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])
