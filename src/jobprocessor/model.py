"""The job domain: statuses, status groups, roles and the job record.

Pure Python with no I/O, so that every other layer (store, worker, service, web)
shares one definition of what a status means and which actions it allows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from jobprocessor.errors import InvalidInput


class Status(enum.StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    CANCELING = "canceling"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def group(self) -> StatusGroup:
        """The group this status is shown under in filters."""
        if self in ACTIVE_STATUSES:
            return StatusGroup.ACTIVE
        return StatusGroup(self.value)

    @property
    def is_active(self) -> bool:
        return self in ACTIVE_STATUSES

    @property
    def is_finished(self) -> bool:
        return self in FINISHED_STATUSES


ACTIVE_STATUSES = frozenset({Status.QUEUED, Status.RUNNING, Status.CANCELING})
FINISHED_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELED})
#: Statuses in which a worker holds the job (and its lock, if any).
HELD_STATUSES = frozenset({Status.RUNNING, Status.CANCELING})


class StatusGroup(enum.StrEnum):
    """The filter groups of the console and the API."""

    ACTIVE = "active"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    FINISHED = "finished"
    ALL = "all"

    @property
    def statuses(self) -> frozenset[Status]:
        """The statuses a job may have to belong to this group."""
        if self is StatusGroup.ACTIVE:
            return ACTIVE_STATUSES
        if self is StatusGroup.FINISHED:
            return FINISHED_STATUSES
        if self is StatusGroup.ALL:
            return frozenset(Status)
        return frozenset({Status(self.value)})


class Role(enum.StrEnum):
    """What a user may see and do: an admin every job, a user their own."""

    ADMIN = "admin"
    USER = "user"


class Category(enum.StrEnum):
    """Kinds of job, for grouping in the console."""

    SCHEDULING = "scheduling"
    REPORT = "report"
    MASS_UPDATE = "mass_update"
    DIAGNOSTICS = "diagnostics"


class Event(enum.StrEnum):
    """Entries of a job's timeline."""

    SUBMITTED = "submitted"
    RESTARTED_FROM = "restarted_from"
    STARTED = "started"
    CANCEL_REQUESTED = "cancel_requested"
    STOPPED_BY_FORCE = "stopped_by_force"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    WORKER_LOST = "worker_lost"
    REQUEUED = "requeued"
    TIMED_OUT = "timed_out"


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only time the engine stores)."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a ``Z`` (docs/reference/job-json.md)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a running job says it is."""

    done: float | None = None
    total: float | None = None
    message: str | None = None

    @property
    def fraction(self) -> float | None:
        if self.done is None or not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))

    def to_dict(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "total": self.total,
            "fraction": self.fraction,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class JobError:
    """Why a job failed."""

    type: str
    message: str
    traceback: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "traceback": self.traceback}


@dataclass(frozen=True, slots=True)
class Job:
    """A job as stored: what it is, who started it, where it stands."""

    id: int
    type: str
    category: str
    title: str
    status: Status
    params: dict[str, Any]
    submitted_by: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: Progress = field(default_factory=Progress)
    restarted_from: int | None = None
    cancel_requested_by: str | None = None
    cancel_requested_at: datetime | None = None
    error: JobError | None = None
    result: Any = None
    queue: str = ""
    priority: int = 0
    timeout: float | None = None
    run_at: datetime | None = None
    #: For a queued job, why it has not started yet (set when it is read for people).
    waiting_for: str | None = None
    limit_key: str | None = None
    concurrency_limit: int | None = None
    #: The schedule that submitted it, and the tick it was submitted for.
    schedule: str | None = None
    scheduled_for: datetime | None = None
    attempts: int = 0
    max_retries: int = 0
    cancel_grace: float = 10.0
    worker_id: str | None = None

    @property
    def status_group(self) -> StatusGroup:
        return self.status.group

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON (docs/reference/job-json.md)."""
        return {
            "id": self.id,
            "type": self.type,
            "category": self.category,
            "title": self.title,
            "status": self.status.value,
            "status_group": self.status_group.value,
            "params": self.params,
            "submitted_by": self.submitted_by,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "progress": self.progress.to_dict(),
            "restarted_from": self.restarted_from,
            "cancel_requested_by": self.cancel_requested_by,
            "cancel_requested_at": iso(self.cancel_requested_at),
            "error": self.error.to_dict() if self.error else None,
            "result": self.result,
            "queue": self.queue,
            "priority": self.priority,
            "timeout": self.timeout,
            "run_at": iso(self.run_at),
            "waiting_for": self.waiting_for if self.status is Status.QUEUED else None,
            "schedule": self.schedule,
            "scheduled_for": iso(self.scheduled_for),
        }


@dataclass(frozen=True, slots=True)
class ReportEntry:
    """One log line of a job's report."""

    at: datetime
    level: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": iso(self.at), "level": self.level, "message": self.message}


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """A file of a job's report, without its bytes."""

    name: str
    media_type: str
    size: int

    def to_dict(self, url: str | None = None) -> dict[str, Any]:
        return {"name": self.name, "media_type": self.media_type, "size": self.size, "url": url}


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One step of a job's life: submitted, started, cancel requested by X…"""

    at: datetime
    event: str
    by: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"at": iso(self.at), "event": self.event, "by": self.by, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a job left behind: result, log entries, files and timeline."""

    job: Job
    entries: list[ReportEntry]
    artifacts: list[ArtifactInfo]
    events: list[TimelineEvent]

    def to_dict(self, artifact_url: str | None = None) -> dict[str, Any]:
        """The report as JSON (docs/reference/job-json.md); ``artifact_url`` takes id and name."""
        return {
            "job": self.job.to_dict(),
            "result": self.job.result,
            "entries": [e.to_dict() for e in self.entries],
            "artifacts": [
                a.to_dict(
                    artifact_url.format(id=self.job.id, name=quote(a.name))
                    if artifact_url
                    else None
                )
                for a in self.artifacts
            ],
            "events": [e.to_dict() for e in self.events],
        }


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: every service call is made on behalf of one."""

    name: str
    role: Role = Role.USER

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_see(self, job: Job) -> bool:
        return self.is_admin or job.submitted_by == self.name


@dataclass(frozen=True, slots=True)
class User:
    """A person who may sign in to the console or use the API."""

    name: str
    display_name: str
    role: Role

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "display_name": self.display_name, "role": self.role.value}


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A live worker process and the jobs it holds, for the workers view."""

    id: str
    host: str
    pid: int
    slots: int
    started_at: datetime
    heartbeat_at: datetime
    stopping: bool
    jobs: list[Job]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "slots": self.slots,
            "started_at": iso(self.started_at),
            "heartbeat_at": iso(self.heartbeat_at),
            "stopping": self.stopping,
            "jobs": [{"id": j.id, "title": j.title, "status": j.status.value} for j in self.jobs],
        }


@dataclass(frozen=True, slots=True)
class QueueLimit:
    """A limit some active jobs of a queue count against."""

    key: str
    places: int
    held: int
    waiting: int


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """One queue as the Queues page shows it: its jobs, limits and workers."""

    name: str
    waiting: int
    delayed: int
    running: int
    oldest_since: datetime | None
    limits: list[QueueLimit]
    #: The live workers that serve it, each with its cap for it (None: uncapped).
    served_by: list[tuple[str, int | None]]

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "name": self.name,
            "waiting": self.waiting,
            "delayed": self.delayed,
            "running": self.running,
            "oldest_wait_seconds": (
                None if self.oldest_since is None else (now - self.oldest_since).total_seconds()
            ),
            "limits": [
                {"key": lim.key, "limit": lim.places, "running": lim.held, "waiting": lim.waiting}
                for lim in self.limits
            ],
            "workers": [{"id": worker, "cap": cap} for worker, cap in self.served_by],
        }


USER_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")


def check_user_name(name: str, *, field_name: str = "name") -> None:
    """A user name: 1 to 150 letters, digits, '.', '_', '@' or '-'."""
    if not isinstance(name, str) or not name or len(name) > 150 or not set(name) <= USER_NAME_CHARS:
        raise InvalidInput(
            "user names are 1 to 150 letters, digits, '.', '_', '@' or '-'",
            fields={field_name: "invalid"},
        )
