"""What the checks read (``Evidence``) and what each gives (``Check``)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.chaos.cluster import Fault
from bench.chaos.collect import JobRecord, Run
from bench.chaos.holds import Attempt, attempts, match_runs

#: Offenders shown per check.
SHOWN = 10


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not run (e.g. no restart)
    figures: str
    offenders: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "SKIP" if self.ok is None else ("PASS" if self.ok else "FAIL")


@dataclass
class Evidence:
    """Everything the checks read."""

    jobs: dict[int, JobRecord]
    strays: list[Run]
    faults: list[Fault]
    submitted: int
    #: Why the planned restart did not happen (None if it did, or was not planned).
    restart_skipped: str | None
    #: Worker id → its log, for what the worker said.
    logs: dict[str, str]
    #: Workers that ended by themselves (none should), and how many were started.
    exits: list[str]
    workers_started: int
    held: dict[int, list[Attempt]] = field(default_factory=dict)
    unmatched: dict[int, list[Run]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for job in self.jobs.values():
            self.held[job.id] = attempts(job)
            self.unmatched[job.id] = match_runs(job, self.held[job.id])


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"min {min(values):.2f} / median {statistics.median(values):.2f} / max {max(values):.2f} s"
    )
