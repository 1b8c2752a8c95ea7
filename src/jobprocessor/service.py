"""The rules of jobs, in one place: who may do what to which job, and when.

The CLI, the REST API, the console and the Python client all call this; none of
them touches the store. Every call names an Actor: an admin sees and acts on
every job, a user only on their own (another user's job is "not found", so its
existence does not leak).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher

from jobprocessor.auth import (
    PASSWORD_HASHER,
    hash_password,
    hash_token,
    new_token,
    verify_password,
)
from jobprocessor.errors import (
    Conflict,
    InvalidInput,
    JobProcessorError,
    NotFound,
    PermissionDenied,
    WaitTimeout,
)
from jobprocessor.model import (
    Actor,
    ArtifactInfo,
    Job,
    QueueInfo,
    Report,
    ReportEntry,
    Role,
    Status,
    StatusGroup,
    User,
    WorkerInfo,
    check_user_name,
    utcnow,
)
from jobprocessor.registry import JobType, Registry, registry
from jobprocessor.schedules import Schedules
from jobprocessor.settings import Settings
from jobprocessor.store.engine import SessionGuard, create_db_engine
from jobprocessor.store.jobs import JobQuery, JobStore, NewJob
from jobprocessor.store.schema import upgrade
from jobprocessor.store.users import UserStore
from jobprocessor.submission import SubmitOptions, new_job

MAX_PAGE = 500
MAX_ENTRY_PAGE = 5000


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a job list and the cursor of the next, if there is one."""

    items: list[Job]
    next_cursor: str | None


#: Buckets of the run-time histogram, in seconds.
DURATION_BOUNDS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)
METRICS_WINDOW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Metrics:
    """A snapshot for monitoring; run times cover jobs finished within ``window``."""

    by_status: dict[Status, int]
    workers: int
    slots: int
    queues: list[QueueInfo]
    #: Per final status: cumulative counts per bound of DURATION_BOUNDS, count, sum.
    durations: dict[Status, tuple[list[int], int, float]]
    window: timedelta


@dataclass(frozen=True, slots=True)
class EntryPage:
    """Some of a job's log entries, with the counts by level of all of them."""

    entries: list[ReportEntry]
    counts: dict[str, int]
    total: int
    offset: int


@dataclass(frozen=True, slots=True)
class BulkResult:
    """The outcome of one id of a bulk action."""

    id: int
    ok: bool
    error: str | None = None
    job: Job | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ok": self.ok,
            "error": self.error,
            "job": self.job.to_dict() if self.job else None,
        }


@dataclass(frozen=True, slots=True)
class ListFilter:
    """What a caller may filter the job list by (docs/reference/rest.md)."""

    status_group: StatusGroup = StatusGroup.ALL
    status: Status | None = None
    user: str | None = None
    type: str | None = None
    category: str | None = None
    queue: str | None = None
    q: str | None = None
    limit: int = 50
    cursor: str | None = None


class JobService:
    """Submit, list, cancel, restart, delete and report jobs on behalf of an actor."""

    def __init__(
        self,
        store: JobStore,
        users: UserStore,
        types: Registry = registry,
        *,
        password_hasher: PasswordHasher = PASSWORD_HASHER,
    ) -> None:
        self.store = store
        self.users = users
        self.types = types
        #: Recurring schedules (admins).
        self.schedules = Schedules(store, types)
        #: Hashes the passwords of new users; checking a password needs no hasher of its
        #: own, as each stored hash carries its parameters.
        self.password_hasher = password_hasher

    # -- jobs -----------------------------------------------------------------

    def submit(
        self,
        actor: Actor,
        type_name: str,
        params: dict[str, Any] | None = None,
        options: SubmitOptions | None = None,
        *,
        title: str | None = None,
    ) -> Job:
        """Validate settings and choices and queue a job; bad input raises and stores
        nothing. ``options`` (title, priority, queue, timeout, run_at or delay)
        default to the job type's."""
        job_type = self.types.get(type_name)
        settings = job_type.validate(params if params is not None else {})
        if title is not None:
            options = dataclasses.replace(options or SubmitOptions(), title=title)
        new = new_job(actor, job_type, settings, options or SubmitOptions(), now=utcnow())
        return self.store.insert([new], by=actor.name)[0]

    def submit_many(
        self,
        actor: Actor,
        type_name: str,
        params_list: Sequence[dict[str, Any]],
        options: SubmitOptions | None = None,
    ) -> list[Job]:
        """Queue many jobs of one type in one transaction (all or nothing)."""
        job_type = self.types.get(type_name)
        chosen, now = options or SubmitOptions(), utcnow()
        new_jobs = [
            new_job(actor, job_type, job_type.validate(p), chosen, now=now) for p in params_list
        ]
        return self.store.insert(new_jobs, by=actor.name)

    def get(self, actor: Actor, job_id: int) -> Job:
        job = self.store.get(job_id) if job_id > 0 else None
        if job is None or not actor.may_see(job):
            raise NotFound(f"job {job_id} not found")
        if job.status is Status.QUEUED:
            return self.store.explain_waiting([job])[0]
        return job

    def list_jobs(self, actor: Actor, filters: ListFilter) -> Page:
        """Newest first. A user sees their own jobs whatever ``user`` says."""
        if not 1 <= filters.limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be 1 to {MAX_PAGE}", fields={"limit": "range"})
        statuses = filters.status_group.statuses
        if filters.status is not None:
            statuses = statuses & {filters.status}
        user = filters.user if actor.is_admin else actor.name
        if not actor.is_admin and filters.user not in (None, actor.name):
            return Page([], None)
        query = JobQuery(
            statuses=statuses,
            submitted_by=user or None,
            type=filters.type or None,
            category=filters.category or None,
            queue=filters.queue or None,
            text=(filters.q or "").strip() or None,
            before_id=_parse_cursor(filters.cursor),
            limit=filters.limit + 1,
        )
        if not statuses:
            return Page([], None)
        jobs = self.store.list_jobs(query)
        more = len(jobs) > filters.limit
        jobs = self.store.explain_waiting(jobs[: filters.limit])
        return Page(jobs, str(jobs[-1].id) if more and jobs else None)

    def cancel(self, actor: Actor, job_id: int) -> Job:
        """Queued → canceled at once; running → canceling. A finished job: Conflict."""
        job = self.get(actor, job_id)
        if job.status.is_finished:
            raise Conflict(f"job {job_id} is already {job.status.value}")
        changed = self.store.request_cancel(job_id, by=actor.name)
        if changed is None:
            latest = self.store.get(job_id)
            state = latest.status.value if latest else "deleted"
            raise Conflict(f"job {job_id} is already {state}")
        return changed

    def restart(self, actor: Actor, job_id: int) -> Job:
        """A new job with the same type and original settings; the old one stays."""
        job = self.get(actor, job_id)
        if not job.status.is_finished:
            raise Conflict(f"job {job_id} is still {job.status.value}; only finished jobs restart")
        new = NewJob(
            type=job.type,
            category=job.category,
            title=job.title,
            params=job.params,
            submitted_by=actor.name,
            cancel_grace=job.cancel_grace,
            limit_key=job.limit_key,
            concurrency_limit=job.concurrency_limit,
            max_retries=job.max_retries,
            restarted_from=job.id,
            queue=job.queue,
            priority=job.priority,
            timeout=job.timeout,
        )
        return self.store.insert([new], by=actor.name)[0]

    def delete(self, actor: Actor, job_id: int) -> None:
        """Remove a finished job with its report and files. An active job: Conflict."""
        job = self.get(actor, job_id)
        if not job.status.is_finished:
            raise Conflict(
                f"job {job_id} is still {job.status.value}; cancel it before deleting it"
            )
        if not self.store.delete_finished(job_id):
            raise NotFound(f"job {job_id} not found")

    def bulk(self, actor: Actor, action: str, ids: Sequence[int]) -> list[BulkResult]:
        """Apply one action to each id; one refusal does not stop the others."""
        actions: dict[str, Callable[[Actor, int], Job | None]] = {
            "cancel": self.cancel,
            "restart": self.restart,
            "delete": self.delete,
        }
        if action not in actions:
            raise InvalidInput(
                f"unknown action {action!r}; use cancel, restart or delete",
                fields={"action": "unknown"},
            )
        results = []
        for job_id in dict.fromkeys(ids):
            try:
                job = actions[action](actor, job_id)
            except JobProcessorError as error:
                results.append(BulkResult(job_id, False, str(error)))
            else:
                results.append(BulkResult(job_id, True, None, job))
        return results

    def report(self, actor: Actor, job_id: int, *, with_entries: bool = True) -> Report:
        """The job's report; without entries for callers that page through them."""
        job = self.get(actor, job_id)
        return Report(
            job=job,
            entries=self.store.reports.entries(job_id) if with_entries else [],
            artifacts=self.store.reports.artifacts(job_id),
            events=self.store.reports.events(job_id),
        )

    def entries(
        self,
        actor: Actor,
        job_id: int,
        *,
        levels: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> EntryPage:
        """One page of a job's log, for reports too long to show at once."""
        self.get(actor, job_id)
        if offset < 0 or not 1 <= limit <= MAX_ENTRY_PAGE:
            raise InvalidInput(
                f"offset must be 0 or more and limit 1 to {MAX_ENTRY_PAGE}",
                fields={"limit": "range"},
            )
        counts = self.store.reports.entry_counts(job_id)
        shown = sum(n for level, n in counts.items() if levels is None or level in levels)
        entries = self.store.reports.entries(job_id, levels=levels, offset=offset, limit=limit)
        return EntryPage(entries, counts, shown, offset)

    def artifact(self, actor: Actor, job_id: int, name: str) -> tuple[ArtifactInfo, bytes]:
        self.get(actor, job_id)
        found = self.store.reports.artifact(job_id, name)
        if found is None:
            raise NotFound(f"job {job_id} has no file {name!r}")
        return found

    def restarts_of(self, actor: Actor, job_id: int) -> list[int]:
        self.get(actor, job_id)
        return self.store.restarts_of(job_id)

    def wait(
        self, actor: Actor, job_id: int, *, timeout: float | None = None, poll: float = 0.1
    ) -> Job:
        """Block until the job is finished; WaitTimeout after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(actor, job_id)
            if job.status.is_finished:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(f"job {job_id} is still {job.status.value} after {timeout:g} s")
            pause = poll if deadline is None else min(poll, max(0.0, deadline - time.monotonic()))
            time.sleep(pause)

    def workers(self, actor: Actor) -> list[WorkerInfo]:
        """Live workers and the jobs they hold: for admins, who run the machines."""
        if not actor.is_admin:
            raise PermissionDenied("only admins see the workers")
        held = self.store.workers.held_jobs()
        return [
            WorkerInfo(
                id=w["id"],
                host=w["host"],
                pid=w["pid"],
                slots=w["slots"],
                started_at=w["started_at"],
                heartbeat_at=w["heartbeat_at"],
                stopping=w["stopping"],
                jobs=held.get(w["id"], []),
            )
            for w in self.store.workers.live()
        ]

    def metrics(self, actor: Actor, *, window: timedelta = METRICS_WINDOW) -> Metrics:
        """Counts for monitoring: jobs by status, queue, workers, recent run times."""
        if not actor.is_admin:
            raise PermissionDenied("only admins read the metrics")
        live = self.store.workers.live()
        return Metrics(
            by_status=self.store.count_by_status(),
            workers=len(live),
            slots=sum(w["slots"] for w in live),
            durations=self.store.durations(since=utcnow() - window, bounds=DURATION_BOUNDS),
            window=window,
            queues=self.store.queues(),
        )

    def queues(self, actor: Actor) -> list[QueueInfo]:
        """Every queue with active jobs or a worker that names it: its waiting and
        running jobs, its limits, the workers that serve it (admins)."""
        if not actor.is_admin:
            raise PermissionDenied("only admins see the queues")
        return self.store.queues()

    def close(self) -> None:
        """Release the service's database connections (it is not used afterwards)."""
        self.store.close()
        self.store.engine.dispose()

    def check_database(self) -> None:
        """Raise if the database cannot be reached (for health checks)."""
        self.store.ping()

    def job_types(self) -> list[JobType]:
        """The job types this process knows (loaded with ``--app``)."""
        return self.types.all()

    def visible_users(self, actor: Actor) -> list[User]:
        """Users an actor may filter by: all for an admin, only themselves otherwise."""
        if actor.is_admin:
            return self.users.all()
        user = self.users.get(actor.name)
        return [user or User(actor.name, actor.name, actor.role)]

    def purge(self, *, older_than_days: float, batch_size: int = 500) -> int:
        """Delete finished jobs older than the given age; returns how many."""
        before = utcnow() - timedelta(days=older_than_days)
        return self.store.purge_finished(before=before, batch_size=batch_size)

    # -- users ----------------------------------------------------------------

    def add_user(
        self,
        name: str,
        *,
        role: Role = Role.USER,
        password: str | None = None,
        display_name: str | None = None,
    ) -> User:
        check_user_name(name)
        user = User(name, display_name or name, role)
        password_hash = hash_password(password, self.password_hasher) if password else None
        if not self.users.add(user, password_hash):
            raise Conflict(f"user {name!r} exists already")
        return user

    def authenticate(self, name: str, password: str) -> User | None:
        user = self.users.get(name)
        if user is None or not verify_password(self.users.password_hash(name), password):
            return None
        return user

    def create_token(self, name: str) -> str:
        """A new API token for an existing user; the token itself is never stored."""
        if self.users.get(name) is None:
            raise NotFound(f"user {name!r} not found")
        token = new_token()
        self.users.add_token(name, hash_token(token))
        return token

    def user_for_token(self, token: str) -> User | None:
        return self.users.user_for_token(hash_token(token))

    def actor_for(self, name: str) -> Actor:
        """The actor for a user name: their role if known, else a plain user."""
        check_user_name(name)
        user = self.users.get(name)
        return Actor(name, user.role if user else Role.USER)


def _parse_cursor(cursor: str | None) -> int | None:
    if cursor in (None, ""):
        return None
    assert cursor is not None
    # isdigit() alone takes '²' and other digits int() refuses.
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) <= 0:
        raise InvalidInput("cursor is not one this API gave out", fields={"cursor": "invalid"})
    return int(cursor)


def open_service(settings: Settings | None = None, *, migrate: bool = True) -> JobService:
    """A service on the configured database, its schema brought up to date."""
    settings = settings or Settings()
    engine = create_db_engine(settings.database_url, guard=SessionGuard.of(settings))
    if migrate:
        upgrade(engine)
    return JobService(JobStore(engine), UserStore(engine))
