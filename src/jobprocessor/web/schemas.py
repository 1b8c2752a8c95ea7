"""The API's request bodies and, for the OpenAPI document, its answers.

The documents are described in docs/reference/job-json.md and docs/reference/rest.md.

Answers are built by the model's ``to_dict`` methods and sent as they are; these
classes describe them so that clients (and schemathesis) know their shape.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from jobprocessor.model import Role, Status, StatusGroup
from jobprocessor.queues import PRIORITY_MAX, PRIORITY_MIN, QUEUE_NAME
from jobprocessor.service import MAX_PAGE
from jobprocessor.submission import MAX_DELAY, SubmitOptions

#: Largest id a database column holds; larger ones cannot name a job.
MAX_ID = 2**63 - 1
JobId = Annotated[int, Field(ge=1, le=MAX_ID)]
#: Text that a database can store and a person can read: no control characters.
PlainText = r"^[^\x00-\x1f\x7f]*$"


class ProgressOut(BaseModel):
    done: float | None
    total: float | None
    fraction: float | None
    message: str | None


class ErrorDetail(BaseModel):
    type: str
    message: str
    traceback: str | None


class JobOut(BaseModel):
    """A job (docs/reference/job-json.md)."""

    id: int
    type: str
    category: str
    title: str
    status: Status
    status_group: StatusGroup
    params: dict[str, Any]
    submitted_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    progress: ProgressOut
    restarted_from: int | None
    cancel_requested_by: str | None
    cancel_requested_at: str | None
    error: ErrorDetail | None
    result: Any
    queue: str
    priority: int
    timeout: float | None
    run_at: str | None
    waiting_for: str | None
    schedule: str | None
    scheduled_for: str | None


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None


class SubmitIn(BaseModel):
    """A job to queue: its type, settings and, if wanted, its own title."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=200, pattern=PlainText)
    params: dict[str, Any] = Field(default_factory=dict)
    title: str | None = Field(default=None, min_length=1, max_length=500, pattern=PlainText)
    priority: int | None = Field(default=None, ge=PRIORITY_MIN, le=PRIORITY_MAX)
    queue: str | None = Field(default=None, pattern=QUEUE_NAME.pattern)
    timeout: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    run_at: AwareDatetime | None = None
    delay: float | None = Field(default=None, ge=0, le=MAX_DELAY, allow_inf_nan=False)

    def options(self) -> SubmitOptions:
        """The submission's choices besides type and settings."""
        return SubmitOptions(
            title=self.title,
            priority=self.priority,
            queue=self.queue,
            timeout=self.timeout,
            run_at=self.run_at,
            delay=self.delay,
        )


class BulkIn(BaseModel):
    """The jobs an action applies to (each id once; at most one page's worth)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[JobId] = Field(min_length=1, max_length=MAX_PAGE)


class BulkItem(BaseModel):
    id: int
    ok: bool
    error: str | None
    job: JobOut | None


class BulkOut(BaseModel):
    results: list[BulkItem]


class EntryOut(BaseModel):
    at: str
    level: str
    message: str


class ArtifactOut(BaseModel):
    name: str
    media_type: str
    size: int
    url: str | None


class EventOut(BaseModel):
    at: str
    event: str
    by: str | None
    detail: str | None


class ReportOut(BaseModel):
    job: JobOut
    result: Any
    entries: list[EntryOut]
    artifacts: list[ArtifactOut]
    events: list[EventOut]


class JobTypeOut(BaseModel):
    name: str
    category: str
    title: str
    description: str
    cancel_grace: float
    lock: str | None
    retries: int
    params_schema: dict[str, Any]


class UserOut(BaseModel):
    name: str
    display_name: str
    role: Role


class WorkerJobOut(BaseModel):
    id: int
    title: str
    status: Status


class WorkerOut(BaseModel):
    id: str
    host: str
    pid: int
    slots: int
    started_at: str
    heartbeat_at: str
    stopping: bool
    jobs: list[WorkerJobOut]


class QueueLimitOut(BaseModel):
    key: str
    limit: int
    running: int
    waiting: int


class QueueWorkerOut(BaseModel):
    id: str
    cap: int | None


class QueueOut(BaseModel):
    """A queue (docs/reference/rest.md): its jobs, limits and workers."""

    name: str
    waiting: int
    delayed: int
    running: int
    oldest_wait_seconds: float | None
    limits: list[QueueLimitOut]
    workers: list[QueueWorkerOut]


class ScheduleOut(BaseModel):
    """A recurring schedule (docs/reference/schedules.md)."""

    name: str
    cron: str
    timezone: str
    type: str
    params: dict[str, Any]
    user: str
    missed: str
    paused: bool
    next_run_at: str
    last_job_id: int | None
    description: str
    last_job_status: Status | None
    source: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(BaseModel):
    """Every refusal: a code for programs and a message for people."""

    error: ErrorBody
