"""What the store takes and gives besides jobs: new jobs, list queries, outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobprocessor.model import Job, JobError, Status


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job ready to be stored: validated settings, resolved title, queue and limit."""

    type: str
    category: str
    title: str
    params: dict[str, Any]
    submitted_by: str
    cancel_grace: float
    limit_key: str | None = None
    concurrency_limit: int | None = None
    max_retries: int = 0
    restarted_from: int | None = None
    queue: str = ""
    priority: int = 0
    timeout: float | None = None
    run_at: datetime | None = None
    schedule: str | None = None
    scheduled_for: datetime | None = None


@dataclass(frozen=True, slots=True)
class JobQuery:
    """A filtered, newest-first page of jobs (keyset pagination on id)."""

    statuses: frozenset[Status] | None = None
    queue: str | None = None
    submitted_by: str | None = None
    type: str | None = None
    category: str | None = None
    text: str | None = None
    before_id: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a job ended, as the worker reports it."""

    status: Status
    result: Any = None
    error: JobError | None = None
    forced: bool = False
    detail: str | None = None
    #: When the job started, if that was not written yet: a job claimed ahead
    #: (``prefetch``) that ended before a round wrote its start.
    started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RunLease:
    """One run of a job: the worker that runs it and the attempt it runs (the job's
    ``attempts`` when it was claimed).

    The attempt is a fencing token. Every write a run makes (progress, log entries,
    files, the outcome and its events) is accepted only while the job is still held
    by this worker in this attempt: a worker declared lost, whose job was re-queued
    and claimed again (by another worker or by itself), can change nothing of it.
    """

    job_id: int
    worker_id: str
    attempt: int

    @classmethod
    def of(cls, job: Job) -> RunLease:
        """The run of a job as its worker claimed it."""
        if job.worker_id is None:
            raise ValueError(f"job {job.id} was not claimed by a worker")
        return cls(job.id, job.worker_id, job.attempts)


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """What a round claims: up to ``limit`` jobs of ``types``, from queues with room.

    ``queues`` names queues with how many more jobs each may take in this worker;
    ``others`` is the room of every other queue together (None: not served).
    """

    types: Sequence[str] = ()
    limit: int = 0
    queues: Mapping[str, int] = field(default_factory=dict)
    others: int | None = None
    #: Jobs to claim ahead, beyond ``limit``: they stay ``queued``, held by the
    #: worker (``worker_id`` set), until it writes their start (``AheadWrites``).
    ahead: int = 0

    @classmethod
    def anything(cls, types: Sequence[str], limit: int) -> ClaimRequest:
        """Up to ``limit`` jobs of these types, from every queue."""
        return cls(tuple(types), limit, {}, limit)

    @property
    def wanted(self) -> bool:
        return bool(self.types) and self.limit + self.ahead > 0


@dataclass(frozen=True, slots=True)
class AheadWrites:
    """What a round writes about jobs a worker claimed ahead (``ClaimRequest.ahead``).

    ``starts``: jobs its slots started, each with when, now ``running`` (or still
    ``canceling``); ``releases``: jobs it will not run, ``queued`` for anyone again
    (or ``canceled``, if a cancel was asked for meanwhile).
    """

    starts: Sequence[tuple[RunLease, datetime]] = ()
    releases: Sequence[RunLease] = ()

    def __bool__(self) -> bool:
        return bool(self.starts or self.releases)


NO_AHEAD = AheadWrites()


#: A round that only writes outcomes.
NO_CLAIM = ClaimRequest()


@dataclass(frozen=True, slots=True)
class Round:
    """What one round of a worker writes and claims, in one transaction: its jobs'
    outcomes, the starts and releases of jobs it claimed ahead, and its claim."""

    worker_id: str
    now: datetime
    outcomes: Sequence[tuple[RunLease, Outcome]] = ()
    claim: ClaimRequest = NO_CLAIM
    ahead: AheadWrites = NO_AHEAD

    @property
    def of_ahead(self) -> bool:
        """Whether it concerns jobs claimed ahead: it claims some, writes their starts
        or releases, or an outcome with its start (PostgreSQL's round then has the
        statements for them)."""
        return bool(self.ahead or self.claim.ahead or any(o.started_at for _, o in self.outcomes))
