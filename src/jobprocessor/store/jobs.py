"""Every SQL statement about jobs, their reports and the workers that run them.

State changes are conditional updates (``… WHERE status IN (…)``), so that a
cancel racing a job's own finish, or two workers racing for one job, always
leave one consistent final state: whoever's update matches first wins, the
other sees zero rows and knows it lost.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Row,
    String,
    Update,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from jobprocessor.model import (
    FINISHED_STATUSES,
    HELD_STATUSES,
    ArtifactInfo,
    Event,
    Job,
    JobError,
    Progress,
    ReportEntry,
    Status,
    TimelineEvent,
    utcnow,
)
from jobprocessor.store import listing, pg_round, pg_submit
from jobprocessor.store.engine import KeptConnection, reading
from jobprocessor.store.tables import (
    UTCDateTime,
    job_artifacts,
    job_entries,
    job_events,
    jobs,
    workers,
)

#: After this many jobs queued through one store (in any number of calls), PostgreSQL's
#: statistics are refreshed at once if the table has grown by a tenth or more since.
ANALYZE_AFTER_BULK = 1000
#: PostgreSQL channels: new jobs wake idle workers; cancels reach a worker at once.
QUEUED_CHANNEL = "jobprocessor_queued"
CANCEL_CHANNEL = "jobprocessor_cancel"

_HELD = [s.value for s in HELD_STATUSES]
#: Written as a literal so that the partial index over queued rows matches even in
#: a prepared, generic plan (a bound parameter could be any status).
_IS_QUEUED = jobs.c.status == literal_column("'queued'")
_FINISHED = [s.value for s in FINISHED_STATUSES]
#: Built once: a round inserts its events every time.
_INSERT_EVENTS = insert(job_events)


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


@dataclass(frozen=True, slots=True)
class Rescued:
    """A job taken from a lost worker: re-queued, or ended."""

    job_id: int
    status: Status


class JobStore:
    """Jobs, reports and workers in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"
        self._queued_since_analyze = 0
        #: Whether migration 0003 built the title index; looked up on the first list.
        self._title_index: bool | None = None
        #: The round connection kept by the calling thread (``keep_round_connection``).
        self._kept_round = threading.local()
        self._all_kept: builtins.list[KeptConnection] = []
        self._all_kept_lock = threading.Lock()

    # -- transactions -------------------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def reading(self) -> contextlib.AbstractContextManager[Connection]:
        return reading(self.engine)

    def _notify(self, connection: Connection, channel: str, payload: str = "") -> None:
        if self.is_postgres:
            connection.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": channel, "payload": payload},
            )

    # -- submission -----------------------------------------------------------

    def insert(self, new_jobs: Sequence[NewJob], *, by: str) -> builtins.list[Job]:
        """Store jobs as ``queued`` with their timeline's first event, in one transaction.

        On SQLite rows go in as one batched ``INSERT … RETURNING`` (SQLAlchemy's
        insertmanyvalues), so a bulk submission holds the write lock for
        milliseconds, not seconds. On PostgreSQL any submission is one statement
        (``pg_submit``): one round trip.
        """
        if not new_jobs:
            return []
        now = utcnow()
        rows = [
            {
                "type": new.type,
                "category": new.category,
                "title": new.title,
                "status": Status.QUEUED.value,
                "params": new.params,
                "submitted_by": new.submitted_by,
                "created_at": now,
                "lock_key": new.lock_key,
                "max_retries": new.max_retries,
                "cancel_grace": new.cancel_grace,
                "restarted_from": new.restarted_from,
            }
            for new in new_jobs
        ]
        if self.is_postgres:
            with self._autocommit.connect() as connection:
                stored = pg_submit.submit(connection, rows, by=by, now=now, channel=QUEUED_CHANNEL)
            self._note_queued(len(stored))
            return [row_to_job(row) for row in stored]
        statement = insert(jobs).returning(*jobs.c, sort_by_parameter_order=True)
        with self.writing() as connection:
            created = [row_to_job(row) for row in connection.execute(statement, rows)]
            events = [_event(job.id, Event.SUBMITTED, by, now) for job in created]
            events += [
                _event(job.id, Event.RESTARTED_FROM, by, now, f"#{job.restarted_from}")
                for job in created
                if job.restarted_from is not None
            ]
            connection.execute(_INSERT_EVENTS, events)
        return created

    def _note_queued(self, count: int) -> None:
        """Analyze once a burst (even one of many small submissions) grew the table.

        Counting per call missed the common case of a burst submitted in chunks
        (e.g. 20,000 jobs in chunks of 500): no single call was large, the table
        kept no statistics, and every claim sorted the whole queue (12 ms each at
        20,000 queued). The table's own row estimate keeps this from analyzing a
        large table again and again: there autovacuum's thresholds apply.
        """
        self._queued_since_analyze += count
        if self._queued_since_analyze < ANALYZE_AFTER_BULK:
            return
        with self.reading() as connection:
            estimate = connection.execute(
                text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"),
                {"table": jobs.name},
            ).scalar()
        if self._queued_since_analyze >= 0.1 * max(float(estimate or 0), 0.0):
            self._analyze()
        self._queued_since_analyze = 0

    def _analyze(self) -> None:
        """Refresh the jobs table's statistics after a burst of submissions.

        Until autovacuum gets to it, PostgreSQL plans the claim as if the queue
        were tiny and sorts every queued row per claim (8 ms at 20,000 queued
        instead of 0.1 ms through the queued index).
        """
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"ANALYZE {jobs.name}"))

    # -- reading ------------------------------------------------------------

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.reading() as connection:
            connection.execute(select(literal_column("1")))

    def get(self, job_id: int) -> Job | None:
        with self.reading() as connection:
            row = connection.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return row_to_job(row) if row else None

    def list(self, query: JobQuery) -> builtins.list[Job]:
        """Newest first; ``before_id`` continues after the previous page (``listing``)."""
        with self.reading() as connection:
            if self._title_index is None:
                self._title_index = listing.has_title_index(connection)
            rows = listing.list_rows(connection, query, title_index=self._title_index)
        return [row_to_job(row) for row in rows]

    def restarts_of(self, job_id: int) -> builtins.list[int]:
        with self.reading() as connection:
            rows = connection.execute(
                select(jobs.c.id).where(jobs.c.restarted_from == job_id).order_by(jobs.c.id)
            )
            return [row.id for row in rows]

    def entries(
        self,
        job_id: int,
        *,
        levels: Sequence[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> builtins.list[ReportEntry]:
        """Log entries in the order they were written, optionally of some levels only."""
        statement = (
            select(job_entries.c.at, job_entries.c.level, job_entries.c.message)
            .where(job_entries.c.job_id == job_id)
            .order_by(job_entries.c.id)
            .offset(offset)
            .limit(limit)
        )
        if levels is not None:
            statement = statement.where(job_entries.c.level.in_(levels))
        with self.reading() as connection:
            return [ReportEntry(r.at, r.level, r.message) for r in connection.execute(statement)]

    def entry_counts(self, job_id: int) -> dict[str, int]:
        """How many log entries a job has of each level."""
        statement = (
            select(job_entries.c.level, func.count())
            .where(job_entries.c.job_id == job_id)
            .group_by(job_entries.c.level)
        )
        with self.reading() as connection:
            return {level: count for level, count in connection.execute(statement)}

    def artifacts(self, job_id: int) -> builtins.list[ArtifactInfo]:
        statement = (
            select(job_artifacts.c.name, job_artifacts.c.media_type, job_artifacts.c.size)
            .where(job_artifacts.c.job_id == job_id)
            .order_by(job_artifacts.c.id)
        )
        with self.reading() as connection:
            return [
                ArtifactInfo(r.name, r.media_type, r.size) for r in connection.execute(statement)
            ]

    def artifact(self, job_id: int, name: str) -> tuple[ArtifactInfo, bytes] | None:
        statement = select(job_artifacts).where(
            job_artifacts.c.job_id == job_id, job_artifacts.c.name == name
        )
        with self.reading() as connection:
            row = connection.execute(statement).first()
        if row is None:
            return None
        return ArtifactInfo(row.name, row.media_type, row.size), bytes(row.data)

    def events(self, job_id: int) -> builtins.list[TimelineEvent]:
        statement = (
            select(job_events.c.at, job_events.c.event, job_events.c.by, job_events.c.detail)
            .where(job_events.c.job_id == job_id)
            .order_by(job_events.c.id)
        )
        with self.reading() as connection:
            return [
                TimelineEvent(r.at, r.event, r.by, r.detail) for r in connection.execute(statement)
            ]

    # -- actions --------------------------------------------------------------

    def request_cancel(self, job_id: int, *, by: str) -> Job | None:
        """Cancel a queued job at once, or ask a running one to stop.

        Returns the job after the change, or None when it was already finished
        (or gone). Canceling a job that is already ``canceling`` changes nothing.
        """
        now = utcnow()
        asked = {"cancel_requested_by": by, "cancel_requested_at": now}
        with self.writing() as connection:
            row = _move(
                connection, job_id, Status.QUEUED, Status.CANCELED, finished_at=now, **asked
            )
            if row is not None:
                events = [
                    _event(job_id, Event.CANCEL_REQUESTED, by, now),
                    _event(job_id, Event.CANCELED, None, now, "canceled before it started"),
                ]
                connection.execute(insert(job_events), events)
                return row_to_job(row)
            row = _move(connection, job_id, Status.RUNNING, Status.CANCELING, **asked)
            if row is not None:
                connection.execute(
                    insert(job_events), [_event(job_id, Event.CANCEL_REQUESTED, by, now)]
                )
                self._notify(connection, CANCEL_CHANNEL, row.worker_id or "")
                return row_to_job(row)
            row = connection.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if row is None or Status(row.status).is_finished:
            return None
        return row_to_job(row)

    def delete_finished(self, job_id: int) -> bool:
        """Delete a finished job with its report; False if it is active or gone."""
        with self.writing() as connection:
            result = connection.execute(
                delete(jobs).where(jobs.c.id == job_id, jobs.c.status.in_(_FINISHED))
            )
            return bool(result.rowcount)

    def purge_finished(self, *, before: datetime, batch_size: int) -> int:
        """Delete finished jobs older than ``before``, one bounded batch per transaction."""
        purged = 0
        while True:
            with self.writing() as connection:
                batch = (
                    select(jobs.c.id)
                    .where(jobs.c.status.in_(_FINISHED), jobs.c.finished_at < before)
                    .order_by(jobs.c.id)
                    .limit(batch_size)
                    .scalar_subquery()
                )
                count = connection.execute(delete(jobs).where(jobs.c.id.in_(batch))).rowcount
            purged += count
            if count < batch_size:
                return purged

    # -- workers --------------------------------------------------------------

    def register_worker(self, worker_id: str, *, host: str, pid: int, slots: int) -> None:
        now = utcnow()
        with self.writing() as connection:
            connection.execute(
                insert(workers).values(
                    id=worker_id, host=host, pid=pid, slots=slots, started_at=now, heartbeat_at=now
                )
            )

    def heartbeat(self, worker_id: str, *, stopping: bool = False) -> bool:
        """Record that the worker lives; False if its row is gone (it was declared lost)."""
        with self.writing() as connection:
            result = connection.execute(
                update(workers)
                .where(workers.c.id == worker_id)
                .values(heartbeat_at=utcnow(), stopping=stopping)
            )
            return bool(result.rowcount)

    def unregister_worker(self, worker_id: str) -> None:
        with self.writing() as connection:
            connection.execute(delete(workers).where(workers.c.id == worker_id))

    def live_workers(self) -> builtins.list[dict[str, Any]]:
        with self.reading() as connection:
            return [
                dict(r._mapping)
                for r in connection.execute(select(workers).order_by(workers.c.started_at))
            ]

    def held_jobs(self) -> dict[str, builtins.list[Job]]:
        """Running and canceling jobs, by the worker that holds them."""
        statement = (
            select(jobs)
            .where(jobs.c.status.in_(_HELD), jobs.c.worker_id.is_not(None))
            .order_by(jobs.c.id)
        )
        held: dict[str, builtins.list[Job]] = {}
        with self.reading() as connection:
            for row in connection.execute(statement):
                held.setdefault(row.worker_id, []).append(row_to_job(row))
        return held

    def claim(self, worker_id: str, types: Sequence[str], limit: int) -> builtins.list[Job]:
        """Take up to ``limit`` queued jobs of the given types for this worker.

        PostgreSQL skips rows other workers have locked; SQLite's BEGIN IMMEDIATE
        makes the whole claim one writer at a time. Jobs whose lock value is held
        by a running job are left queued, and of several queued jobs with one lock
        value only the oldest is taken; the unique index on held lock values turns
        a race between two workers into an error for one of them, which then
        claims nothing this round.
        """
        return self.finish_and_claim(worker_id, [], types, limit)[1]

    def finish_and_claim(
        self,
        worker_id: str,
        outcomes: Sequence[tuple[int, Outcome]],
        types: Sequence[str],
        limit: int,
    ) -> tuple[builtins.list[bool], builtins.list[Job]]:
        """Record how jobs ended and claim up to ``limit`` new ones, in ONE transaction.

        One commit instead of one per finished job plus one per claim: on a busy
        worker the commit (a WAL flush) is most of a job's cost. Each outcome is
        recorded exactly as ``finish`` would (the flags say which were still held);
        if the claim loses a lock race (an IntegrityError, which ends the whole
        transaction), the outcomes are written again alone and nothing is claimed
        this round (a savepoint would cost two round trips on every call).
        On PostgreSQL the transaction is one statement (``pg_round``): one round trip.
        """
        now = utcnow()
        claim = bool(types) and limit > 0
        parameters = {
            "claim_types": list(types),
            "claim_limit": limit,
            "claim_worker": worker_id,
            "claim_now": now,
        }
        try:
            flags, rows = self._finish_and_claim_in_one(
                worker_id, outcomes, types, limit, now, parameters
            )
        except IntegrityError:
            if not claim:
                raise
            # Lost a lock race: the transaction is gone; write the outcomes alone.
            if not outcomes:
                return [], []
            return self.finish_and_claim(worker_id, outcomes, [], 0)[0], []
        claimed = [row_to_job(r) for r in rows]
        claimed.sort(key=lambda j: j.id)
        return flags, claimed

    def _finish_and_claim_in_one(
        self,
        worker_id: str,
        outcomes: Sequence[tuple[int, Outcome]],
        types: Sequence[str],
        limit: int,
        now: datetime,
        parameters: dict[str, Any],
    ) -> tuple[builtins.list[bool], builtins.list[Row[Any]]]:
        if self.is_postgres:
            with self._round_connection() as connection:
                return pg_round.run_round(connection, worker_id, outcomes, types, limit, now)
        claim = bool(types) and limit > 0
        rows: builtins.list[Row[Any]] = []
        with self._round_connection() as connection, connection.begin():
            events: builtins.list[dict[str, Any]] = []
            flags = [
                self._finish_in(connection, job_id, worker_id, outcome, now, events)
                for job_id, outcome in outcomes
            ]
            if claim:
                rows = list(connection.execute(self._claim_statement, parameters))
            events += [_event(r.id, Event.STARTED, None, now, f"worker {worker_id}") for r in rows]
            if events:
                connection.execute(_INSERT_EVENTS, events)
        return flags, rows

    @contextlib.contextmanager
    def _round_connection(self) -> Iterator[Connection]:
        """The thread's kept round connection, or one from the pool: autocommit on
        PostgreSQL (a round is one statement), for a transaction on SQLite."""
        kept: KeptConnection | None = getattr(self._kept_round, "connection", None)
        if kept is not None:
            with kept.use() as connection:
                yield connection
            return
        with (self._autocommit if self.is_postgres else self.engine).connect() as connection:
            yield connection

    @functools.cached_property
    def _autocommit(self) -> Engine:
        """The engine without transactions: for statements that are a transaction alone."""
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")

    def keep_round_connection(self) -> None:
        """Give the calling thread's ``finish_and_claim`` a connection of its own.

        For a worker's claim lanes, each a thread with rounds of its own; on
        PostgreSQL the connection also asks for the round's generic plan
        (``pg_round.prepare``). ``close()`` ends them all.
        """
        if getattr(self._kept_round, "connection", None) is not None:
            return
        if self.is_postgres:
            kept = KeptConnection(self._autocommit, pg_round.prepare)
        else:
            kept = KeptConnection(self.engine)
        self._kept_round.connection = kept
        with self._all_kept_lock:
            self._all_kept.append(kept)

    def close(self) -> None:
        """Close every kept round connection (the engine stays usable)."""
        with self._all_kept_lock:
            kept, self._all_kept = self._all_kept, []
        for connection in kept:
            connection.close()

    @functools.cached_property
    def _succeed_statement(self) -> Update:
        """``finish`` of a succeeded job, built once (building cost more than running)."""
        return self._finish_statement().values(
            result=bindparam("f_result", type_=jobs.c.result.type)
        )

    @functools.cached_property
    def _end_statement(self) -> Update:
        """``finish`` of a failed or canceled job, built once."""
        return self._finish_statement().values(
            error_type=bindparam("f_error_type", type_=String),
            error_message=bindparam("f_error_message", type_=String),
            error_traceback=bindparam("f_error_traceback", type_=String),
        )

    @staticmethod
    def _finish_statement() -> Update:
        return (
            update(jobs)
            .where(
                jobs.c.id == bindparam("f_id", type_=Integer),
                jobs.c.worker_id == bindparam("f_worker", type_=String),
                jobs.c.status.in_(_HELD),
            )
            .values(
                status=bindparam("f_status", type_=String),
                finished_at=bindparam("f_at", type_=UTCDateTime),
            )
        )

    @functools.cached_property
    def _claim_statement(self) -> Update:
        """The claim, built once: rebuilding it per call cost more than running it."""
        held = jobs.alias("held")
        lock_free = or_(
            jobs.c.lock_key.is_(None),
            ~exists(
                select(literal_column("1"))
                .select_from(held)
                .where(held.c.lock_key == jobs.c.lock_key, held.c.status.in_(_HELD))
            ),
        )
        candidates = (
            select(jobs.c.id, jobs.c.lock_key)
            .where(
                _IS_QUEUED,
                jobs.c.type.in_(bindparam("claim_types", expanding=True)),
                lock_free,
            )
            .order_by(jobs.c.priority, jobs.c.id)
            .limit(bindparam("claim_limit", type_=Integer))
        )
        if self.is_postgres:
            candidates = candidates.with_for_update(skip_locked=True, of=jobs)
        candidates_sq = candidates.subquery("candidates")
        ranked = select(
            candidates_sq.c.id,
            candidates_sq.c.lock_key,
            func.row_number()
            .over(partition_by=candidates_sq.c.lock_key, order_by=candidates_sq.c.id)
            .label("rank"),
        ).subquery("ranked")
        picked = select(ranked.c.id).where(or_(ranked.c.lock_key.is_(None), ranked.c.rank == 1))
        return (
            update(jobs)
            .where(jobs.c.id.in_(picked), _IS_QUEUED)
            .values(
                status=Status.RUNNING.value,
                worker_id=bindparam("claim_worker", type_=String),
                started_at=bindparam("claim_now", type_=UTCDateTime),
                attempts=jobs.c.attempts + 1,
            )
            .returning(*jobs.c)
        )

    def has_queued(self, types: Sequence[str]) -> bool:
        """A cheap, lock-free look before a claim (SQLite claims take the write lock)."""
        statement = select(exists().where(_IS_QUEUED, jobs.c.type.in_(list(types))))
        with self.reading() as connection:
            return bool(connection.execute(statement).scalar())

    def cancel_requests(self, worker_id: str) -> builtins.list[int]:
        """Ids of this worker's jobs that were asked to stop."""
        statement = select(jobs.c.id).where(
            jobs.c.worker_id == worker_id, jobs.c.status == Status.CANCELING.value
        )
        with self.reading() as connection:
            return [row.id for row in connection.execute(statement)]

    def record_progress(self, job_id: int, worker_id: str, progress: Progress) -> None:
        with self.writing() as connection:
            connection.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.worker_id == worker_id, jobs.c.status.in_(_HELD))
                .values(
                    progress_done=progress.done,
                    progress_total=progress.total,
                    progress_message=_clip(progress.message, 1000),
                )
            )

    def add_entries(self, job_id: int, entries: Sequence[ReportEntry]) -> None:
        if not entries:
            return
        with self.writing() as connection:
            connection.execute(
                insert(job_entries),
                [
                    {"job_id": job_id, "at": e.at, "level": e.level, "message": e.message}
                    for e in entries
                ],
            )

    def add_artifact(self, job_id: int, name: str, media_type: str, data: bytes) -> None:
        """Store a report file; a second file of the same name replaces the first."""
        with self.writing() as connection:
            connection.execute(
                delete(job_artifacts).where(
                    job_artifacts.c.job_id == job_id, job_artifacts.c.name == name
                )
            )
            connection.execute(
                insert(job_artifacts).values(
                    job_id=job_id,
                    name=name,
                    media_type=media_type,
                    size=len(data),
                    data=data,
                    created_at=utcnow(),
                )
            )

    def finish(self, job_id: int, worker_id: str, outcome: Outcome) -> bool:
        """Record how a job ended; False if the worker no longer held it."""
        return self.finish_and_claim(worker_id, [(job_id, outcome)], [], 0)[0][0]

    def _finish_in(
        self,
        connection: Connection,
        job_id: int,
        worker_id: str,
        outcome: Outcome,
        now: datetime,
        events: builtins.list[dict[str, Any]],
    ) -> bool:
        """The conditional status move of ``finish``; its events are added to ``events``."""
        values: dict[str, Any] = {
            "f_id": job_id,
            "f_worker": worker_id,
            "f_status": outcome.status.value,
            "f_at": now,
        }
        if outcome.status is Status.SUCCEEDED:
            statement = self._succeed_statement
            values["f_result"] = outcome.result
        else:
            statement = self._end_statement
            error = outcome.error
            values["f_error_type"] = error.type if error else None
            values["f_error_message"] = error.message if error else None
            values["f_error_traceback"] = error.traceback if error else None
        result = connection.execute(statement, values)
        if not result.rowcount:
            return False
        if outcome.forced:
            events.append(_event(job_id, Event.STOPPED_BY_FORCE, None, now, outcome.detail))
        events.append(
            _event(
                job_id,
                Event(outcome.status.value),
                None,
                now,
                None if outcome.forced else outcome.detail,
            )
        )
        return True

    def rescue_lost(self, *, heartbeat_timeout: float) -> builtins.list[Rescued]:
        """End or re-queue the jobs of workers whose heartbeat expired.

        A job held by a worker that no longer has a row (or whose heartbeat is
        older than the timeout) is re-queued while it has retries left, else it
        fails with ``WorkerLost``; one whose cancel was already requested ends
        ``canceled``. The lost workers' rows are removed.
        """
        cutoff = utcnow() - timedelta(seconds=heartbeat_timeout)
        rescued: builtins.list[Rescued] = []
        with self.writing() as connection:
            lost = [
                r.id
                for r in connection.execute(
                    select(workers.c.id).where(workers.c.heartbeat_at < cutoff)
                )
            ]
            orphaned = select(jobs).where(
                jobs.c.status.in_(_HELD),
                or_(
                    jobs.c.worker_id.is_(None),
                    jobs.c.worker_id.in_(lost),
                    ~exists().where(workers.c.id == jobs.c.worker_id),
                ),
            )
            if self.is_postgres:
                orphaned = orphaned.with_for_update(skip_locked=True)
            now = utcnow()
            for row in connection.execute(orphaned).all():
                job = row_to_job(row)
                detail = f"worker {job.worker_id} stopped sending heartbeats"
                where = and_(jobs.c.id == job.id, jobs.c.status == job.status.value)
                if job.status is Status.CANCELING:
                    connection.execute(
                        update(jobs)
                        .where(where)
                        .values(status=Status.CANCELED.value, finished_at=now)
                    )
                    events = [
                        _event(job.id, Event.WORKER_LOST, None, now, detail),
                        _event(job.id, Event.CANCELED, None, now, "its worker was lost"),
                    ]
                    rescued.append(Rescued(job.id, Status.CANCELED))
                elif job.attempts <= job.max_retries:
                    connection.execute(
                        update(jobs)
                        .where(where)
                        .values(
                            status=Status.QUEUED.value,
                            worker_id=None,
                            started_at=None,
                            progress_done=None,
                            progress_total=None,
                            progress_message=None,
                        )
                    )
                    events = [
                        _event(job.id, Event.WORKER_LOST, None, now, detail),
                        _event(
                            job.id,
                            Event.REQUEUED,
                            None,
                            now,
                            f"retry {job.attempts} of {job.max_retries}",
                        ),
                    ]
                    rescued.append(Rescued(job.id, Status.QUEUED))
                else:
                    connection.execute(
                        update(jobs)
                        .where(where)
                        .values(
                            status=Status.FAILED.value,
                            finished_at=now,
                            error_type="WorkerLost",
                            error_message=detail,
                        )
                    )
                    events = [
                        _event(job.id, Event.WORKER_LOST, None, now, detail),
                        _event(job.id, Event.FAILED, None, now, "WorkerLost"),
                    ]
                    rescued.append(Rescued(job.id, Status.FAILED))
                connection.execute(insert(job_events), events)
            if lost:
                connection.execute(delete(workers).where(workers.c.id.in_(lost)))
            if any(r.status is Status.QUEUED for r in rescued):
                self._notify(connection, QUEUED_CHANNEL)
        return rescued

    def durations(
        self, *, since: datetime, bounds: Sequence[float]
    ) -> dict[Status, tuple[builtins.list[int], int, float]]:
        """Run times of jobs finished since a moment, by final status, counted into buckets.

        Returns, per status, the cumulative count at or below each bound, the total
        count and the sum of seconds; computed in SQL, whatever the number of jobs.
        """
        if self.is_postgres:
            seconds: Any = func.extract("epoch", jobs.c.finished_at - jobs.c.started_at)
        else:
            seconds = (func.julianday(jobs.c.finished_at) - func.julianday(jobs.c.started_at)) * (
                86400.0
            )
        buckets = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in bounds]
        statement = (
            select(jobs.c.status, func.count(), func.sum(seconds), *buckets)
            .where(jobs.c.finished_at > since, jobs.c.started_at.is_not(None))
            .group_by(jobs.c.status)
        )
        with self.reading() as connection:
            return {
                Status(row[0]): ([int(n or 0) for n in row[3:]], int(row[1]), float(row[2] or 0))
                for row in connection.execute(statement)
            }

    def count_by_status(self) -> dict[Status, int]:
        statement = select(jobs.c.status, func.count()).group_by(jobs.c.status)
        with self.reading() as connection:
            return {Status(row[0]): row[1] for row in connection.execute(statement)}


def _move(
    connection: Connection, job_id: int, source: Status, target: Status, **values: Any
) -> Row[Any] | None:
    """Change a job's status only if it still has ``source``; the row after, or None."""
    statement = (
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == source.value)
        .values(status=target.value, **values)
        .returning(*jobs.c)
    )
    return connection.execute(statement).first()


def _event(
    job_id: int, event: Event, by: str | None, at: datetime, detail: str | None = None
) -> dict[str, Any]:
    return {"job_id": job_id, "event": event.value, "by": by, "at": at, "detail": detail}


def _clip(value: str | None, length: int) -> str | None:
    if value is None or len(value) <= length:
        return value
    return value[: length - 1] + "…"


def row_to_job(row: Row[Any]) -> Job:
    """A job from a row of the jobs table."""
    error = None
    if row.error_type is not None:
        error = JobError(row.error_type, row.error_message or "", row.error_traceback)
    return Job(
        id=row.id,
        type=row.type,
        category=row.category,
        title=row.title,
        status=Status(row.status),
        params=row.params,
        submitted_by=row.submitted_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        progress=Progress(row.progress_done, row.progress_total, row.progress_message),
        restarted_from=row.restarted_from,
        cancel_requested_by=row.cancel_requested_by,
        cancel_requested_at=row.cancel_requested_at,
        error=error,
        result=row.result,
        lock_key=row.lock_key,
        attempts=row.attempts,
        max_retries=row.max_retries,
        cancel_grace=row.cancel_grace,
        worker_id=row.worker_id,
    )
