"""What the store takes and gives besides jobs: new jobs, list queries, outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobprocessor.model import JobError, Status


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job ready to be stored: validated settings, resolved title and lock."""

    type: str
    category: str
    title: str
    params: dict[str, Any]
    submitted_by: str
    cancel_grace: float
    lock_key: str | None = None
    max_retries: int = 0
    restarted_from: int | None = None


@dataclass(frozen=True, slots=True)
class JobQuery:
    """A filtered, newest-first page of jobs (keyset pagination on id)."""

    statuses: frozenset[Status] | None = None
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
