"""What the benchmark needs from a system under test, whatever its storage and API."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import Worker

#: Long jobs of the cancel case: ``cooperative`` checks for a cancel every 50 ms,
#: ``stuck`` never does (a solver in C, a blocking call).
CANCEL_KINDS = ("cooperative", "stuck")


class CannotCancel(Exception):
    """The system has no way to stop this kind of running job (the text says why)."""


@dataclass(frozen=True)
class Handle:
    """A submitted long job: our key, and the system's own id for it."""

    key: int
    id: Any


class System(ABC):
    """One system on one store: submit, run a worker, watch, cancel."""

    #: e.g. ``jobprocessor-postgresql``.
    name: str
    #: ``postgresql``, ``sqlite`` or ``redis``.
    store: str
    #: How K worker slots are provided (processes, threads, asyncio tasks).
    slots_are: str
    #: The batch submission call, or None if the system has none.
    bulk_api: str | None
    #: How each kind of running job is asked to stop.
    cancel_mechanism: dict[str, str]
    #: How the fair-share case tells user A from user B, or None: the system does
    #: not take part in that case (``submit_sleep`` is not implemented).
    submitters: str | None = None
    #: The only workloads the system takes part in (None: every one): a variant of
    #: another system, for the cases its setting changes.
    workloads: tuple[str, ...] | None = None

    @abstractmethod
    def reset(self) -> None:
        """Empty storage: a fresh database, or a flushed Redis database of our own."""

    @abstractmethod
    def submit_one(self, key: int) -> None:
        """Queue one no-op job, one call (and transaction) of the public API."""

    def submit_many(self, keys: Sequence[int]) -> None:
        """Queue no-op jobs with the batch API (one round trip per call), if any."""
        for key in keys:
            self.submit_one(key)

    def settle_after_submit(self) -> None:  # noqa: B027 (Redis needs nothing)
        """After queueing a burst: let PostgreSQL systems ANALYZE (as autovacuum would soon).

        A table filled a moment ago has no planner statistics, and some systems'
        fetch queries then sort the whole queue per job; autovacuum fixes that within
        a minute or so in real life. The benchmark measures throughput, not that
        minute, so every PostgreSQL system gets the same ANALYZE before its worker
        starts (JobProcessor analyzes by itself after a burst: its ANALYZE finds
        nothing to change).
        """

    def submit_sleep(self, user: str, key: int, seconds: float) -> None:
        """Queue one job for ``user`` that sleeps ``seconds`` between its start and end stamps.

        One call of the public API, as ``submit_one``; the fair-share case uses it.
        """
        raise NotImplementedError(f"{self.name} has no fair-share case")

    def submit_sleeps(self, user: str, keys: Sequence[int], seconds: float) -> None:
        """Queue such jobs with the batch API (as ``submit_many``), if any."""
        for key in keys:
            self.submit_sleep(user, key, seconds)

    @abstractmethod
    def worker(self, slots: int, name: str, stamps: Path) -> Worker:
        """Start the system's worker with ``slots`` jobs at a time."""

    @abstractmethod
    def unfinished(self) -> int:
        """Jobs not in a final state (queued, prefetched or running)."""

    @abstractmethod
    def submit_long(self, kind: str, key: int, seconds: float) -> Handle:
        """Queue a long job of a CANCEL_KINDS kind."""

    @abstractmethod
    def cancel(self, handle: Handle, kind: str) -> None:
        """Ask the system to stop a running long job (its best mechanism for ``kind``)."""

    @abstractmethod
    def final_state(self, handle: Handle) -> str | None:
        """The job's final state as the system records it, or None while it is not final."""

    def versions(self) -> dict[str, str]:
        return {}

    def close(self) -> None:  # noqa: B027 (most systems hold nothing to release)
        """Release connections."""
