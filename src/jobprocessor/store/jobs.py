"""Every SQL statement about jobs: submission, the list, actions, and workers' rounds.

State changes are conditional updates (``… WHERE status IN (…)``), so that a
cancel racing a job's own finish, or two workers racing for one job, always
leave one consistent final state: whoever's update matches first wins, the
other sees zero rows and knows it lost. A job's report (``reports``) and the
workers' table (``workers``) have stores of their own, reached from ``JobStore``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    case,
    delete,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from jobprocessor.model import Event, Job, QueueInfo, Status, utcnow
from jobprocessor.store import listing, queue_view
from jobprocessor.store._sql import (
    CANCEL_CHANNEL,
    CANCELED_BEFORE_START,
    FINISHED,
    INSERT_EVENTS,
    QUEUED_CHANNEL,
    clip,
    event_row,
    job_row,
    move,
    row_to_job,
)
from jobprocessor.store.backend import Backend, backend_for
from jobprocessor.store.engine import KeptConnection, reading
from jobprocessor.store.records import (
    NO_AHEAD,
    NO_CLAIM,
    AheadWrites,
    ClaimRequest,
    JobQuery,
    NewJob,
    Outcome,
    Round,
    RunLease,
)
from jobprocessor.store.reports import ReportStore
from jobprocessor.store.schedules import ScheduleStore
from jobprocessor.store.tables import ERROR_TYPE_LENGTH, job_events, jobs
from jobprocessor.store.waiting import with_waiting_reasons
from jobprocessor.store.workers import Rescued, WorkerRegistry

__all__ = [
    "CANCEL_CHANNEL",
    "NO_AHEAD",
    "NO_CLAIM",
    "QUEUED_CHANNEL",
    "AheadWrites",
    "ClaimRequest",
    "JobQuery",
    "JobStore",
    "NewJob",
    "Outcome",
    "Rescued",
    "RunLease",
    "row_to_job",
]

#: After this many jobs queued through one store (in any number of calls), PostgreSQL's
#: statistics are refreshed at once if the table has grown by a tenth or more since.
ANALYZE_AFTER_BULK = 1000


class JobStore:
    """Jobs, reports and workers in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.backend: Backend = backend_for(engine)
        self.reports = ReportStore(engine)
        self.workers = WorkerRegistry(engine, self.backend)
        self.schedules = ScheduleStore(engine, self.backend)
        self._queued_since_analyze = 0
        #: Whether migration 0003 built the title index; looked up on the first list.
        self._title_index: bool | None = None
        #: The round connection kept by the calling thread (``keep_round_connection``).
        self._kept_round = threading.local()
        self._all_kept: list[KeptConnection] = []
        self._all_kept_lock = threading.Lock()

    # -- transactions -------------------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def reading(self) -> contextlib.AbstractContextManager[Connection]:
        return reading(self.engine)

    # -- submission -----------------------------------------------------------

    def insert(self, new_jobs: Sequence[NewJob], *, by: str) -> list[Job]:
        """Store jobs as ``queued`` with their timeline's first event, in one transaction
        (on PostgreSQL one statement, see ``pg_submit``)."""
        if not new_jobs:
            return []
        now = utcnow()
        rows = [job_row(new, now) for new in new_jobs]
        stored = [row_to_job(row) for row in self.backend.submit(rows, by=by, now=now)]
        if self.backend.name == "postgresql":
            self._note_queued(len(stored))
        return stored

    def _note_queued(self, count: int) -> None:
        """Analyze once a burst (even one of many small submissions) grew the table.

        Counting per call missed the common case of a burst submitted in chunks
        (e.g. 20,000 jobs in chunks of 500): no single call was large, the table
        kept no statistics, and every claim sorted the whole queue
        (``bench/engine_changes.md``, change 1). The table's own row estimate keeps
        this from analyzing a large table again and again: there autovacuum's
        thresholds apply.
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
        were tiny and sorts every queued row per claim instead of reading the
        queued index.
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

    def list_jobs(self, query: JobQuery) -> list[Job]:
        """Newest first; ``before_id`` continues after the previous page (``listing``)."""
        with self.reading() as connection:
            if self._title_index is None:
                self._title_index = listing.has_title_index(connection)
            rows = listing.list_rows(connection, query, title_index=self._title_index)
        return [row_to_job(row) for row in rows]

    def queues(self) -> list[QueueInfo]:
        """The queues with their jobs, limits and workers (``queue_view``)."""
        return queue_view.queues(self.engine)

    def explain_waiting(self, listed: Sequence[Job]) -> list[Job]:
        """The jobs, each queued one with why it has not started (``waiting``)."""
        return with_waiting_reasons(self.engine, listed)

    def restarts_of(self, job_id: int) -> list[int]:
        with self.reading() as connection:
            rows = connection.execute(
                select(jobs.c.id).where(jobs.c.restarted_from == job_id).order_by(jobs.c.id)
            )
            return [row.id for row in rows]

    # -- actions --------------------------------------------------------------

    def request_cancel(self, job_id: int, *, by: str) -> Job | None:
        """Cancel a queued job at once, or ask a running one to stop.

        A job a worker claimed ahead (queued, with the worker's id) may be starting
        this very moment: it is asked to stop as a running one is, and its worker
        ends it as ``canceled``, started or not.

        Returns the job after the change, or None when it was already finished
        (or gone). Canceling a job that is already ``canceling`` changes nothing.
        """
        now = utcnow()
        asked: dict[str, Any] = {"cancel_requested_by": by, "cancel_requested_at": now}
        with self.writing() as connection:
            row = move(
                connection,
                job_id,
                Status.QUEUED,
                Status.CANCELED,
                free=True,
                finished_at=now,
                **asked,
            )
            if row is not None:
                events = [
                    event_row(job_id, Event.CANCEL_REQUESTED, by, now),
                    event_row(job_id, Event.CANCELED, None, now, CANCELED_BEFORE_START),
                ]
                connection.execute(INSERT_EVENTS, events)
                return row_to_job(row)
            row = move(connection, job_id, Status.RUNNING, Status.CANCELING, **asked)
            if row is None:
                row = move(connection, job_id, Status.QUEUED, Status.CANCELING, **asked)
            if row is not None:
                connection.execute(
                    INSERT_EVENTS, [event_row(job_id, Event.CANCEL_REQUESTED, by, now)]
                )
                self.backend.notify(connection, CANCEL_CHANNEL, row.worker_id or "")
                return row_to_job(row)
            row = connection.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if row is None or Status(row.status).is_finished:
            return None
        return row_to_job(row)

    def delete_finished(self, job_id: int) -> bool:
        """Delete a finished job with its report; False if it is active or gone."""
        with self.writing() as connection:
            return bool(_delete_jobs(connection, jobs.c.id == job_id))

    def purge_finished(self, *, before: datetime, batch_size: int) -> int:
        """Delete finished jobs older than ``before``, one bounded batch per transaction."""
        purged = 0
        while True:
            with self.writing() as connection:
                batch = (
                    select(jobs.c.id)
                    .where(jobs.c.status.in_(FINISHED), jobs.c.finished_at < before)
                    .order_by(jobs.c.id)
                    .limit(batch_size)
                    .scalar_subquery()
                )
                count = _delete_jobs(connection, jobs.c.id.in_(batch))
            purged += count
            if count < batch_size:
                return purged

    # -- workers --------------------------------------------------------------

    def claim(
        self, worker_id: str, types: Sequence[str], limit: int, claim: ClaimRequest | None = None
    ) -> list[Job]:
        """Take up to ``limit`` queued jobs of the given types for this worker (from
        every queue, unless ``claim`` says otherwise); see ``round_sql.claim_sql``.

        PostgreSQL skips rows other workers have locked; SQLite's BEGIN IMMEDIATE
        makes the whole claim one writer at a time. The unique index on held places
        of limits turns a race between two workers into an error for one of them,
        which then claims nothing this round.
        """
        return self.finish_and_claim(worker_id, [], claim or ClaimRequest.anything(types, limit))[1]

    def finish_and_claim(
        self,
        worker_id: str,
        outcomes: Sequence[tuple[RunLease, Outcome]],
        claim: ClaimRequest = NO_CLAIM,
        ahead: AheadWrites = NO_AHEAD,
    ) -> tuple[list[bool], list[Job]]:
        """Record how jobs ended and claim new ones (``claim``), in ONE transaction.

        One commit instead of one per finished job plus one per claim: on a busy
        worker the commit (a WAL flush) is most of a job's cost. Each outcome is
        recorded exactly as ``finish`` would (the flags say which were still held);
        if the claim loses a lock race (an IntegrityError, which ends the whole
        transaction), the outcomes are written again alone and nothing is claimed
        this round (a savepoint would cost two round trips on every call).
        On PostgreSQL the transaction is one statement (``pg_round``): one round trip.
        ``ahead`` writes the starts and releases of jobs claimed ahead in the same
        transaction (``ClaimRequest.ahead`` claims them).
        """
        assert all(lease.worker_id == worker_id for lease, _ in outcomes)
        outcomes = [(lease, _storable(outcome)) for lease, outcome in outcomes]
        round_ = Round(worker_id, utcnow(), outcomes, claim, ahead)
        try:
            with self._round_connection() as connection:
                flags, rows = self.backend.run_round(connection, round_)
        except IntegrityError:
            if not claim.wanted:
                raise
            # Lost a race for a limit's place: the transaction is gone; write the
            # outcomes alone.
            if not (outcomes or ahead):
                return [], []
            return self.finish_and_claim(worker_id, outcomes, NO_CLAIM, ahead)[0], []
        claimed = [row_to_job(r) for r in rows]
        claimed.sort(key=lambda j: j.id)
        return flags, claimed

    def _kept(self) -> KeptConnection | None:
        """The calling thread's kept round connection, if it keeps one."""
        kept: KeptConnection | None = getattr(self._kept_round, "connection", None)
        return kept

    def _round_connection(self) -> contextlib.AbstractContextManager[Connection]:
        """The thread's kept round connection, or one from the pool: autocommit on
        PostgreSQL (a round is one statement), for a transaction on SQLite."""
        return self.backend.round_connection(self._kept())

    def keep_round_connection(self) -> None:
        """Give the calling thread's ``finish_and_claim`` a connection of its own.

        For a worker's claim lanes, each a thread with rounds of its own; on
        PostgreSQL the connection also asks for the round's generic plan
        (``pg_round.prepare``). ``close()`` ends them all.
        """
        if self._kept() is not None:
            return
        kept = self.backend.kept_round_connection()
        self._kept_round.connection = kept
        with self._all_kept_lock:
            self._all_kept.append(kept)

    def close(self) -> None:
        """Close every kept round connection (the engine stays usable)."""
        with self._all_kept_lock:
            kept, self._all_kept = self._all_kept, []
        for connection in kept:
            connection.close()

    def has_queued(self, types: Sequence[str]) -> bool:
        """A cheap, lock-free look before a claim (SQLite claims take the write lock):
        is a job of these types queued and due? Asked on the calling thread's round
        connection where the database can (``Backend.has_queued``)."""
        return self.backend.has_queued(self._kept(), types, utcnow())

    def next_due(self, types: Sequence[str], *, after: datetime | None = None) -> datetime | None:
        """When the earliest delayed job of these types falls due after ``after``
        (default now; None: none waits), asked on the calling thread's round
        connection where the database can (``Backend.next_due``).

        A worker passes the time from before its claim: a job that fell due between
        the claim and this question is then still found (at once due), where "after
        now" would miss it and leave the worker asleep for its poll interval.
        """
        return self.backend.next_due(self._kept(), types, after or utcnow())

    def cancel_requests(self, worker_id: str) -> list[int]:
        """Ids of this worker's jobs that were asked to stop."""
        statement = select(jobs.c.id).where(
            jobs.c.worker_id == worker_id, jobs.c.status == Status.CANCELING.value
        )
        with self.reading() as connection:
            return [row.id for row in connection.execute(statement)]

    def finish(self, lease: RunLease, outcome: Outcome) -> bool:
        """Record how a job ended; False if the run no longer held it."""
        return self.finish_and_claim(lease.worker_id, [(lease, outcome)])[0][0]

    def durations(
        self, *, since: datetime, bounds: Sequence[float]
    ) -> dict[Status, tuple[list[int], int, float]]:
        """Run times of jobs finished since a moment, by final status, counted into buckets.

        Returns, per status, the cumulative count at or below each bound, the total
        count and the sum of seconds; computed in SQL, whatever the number of jobs.
        """
        seconds = self.backend.seconds(jobs.c.started_at, jobs.c.finished_at)
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


def _storable(outcome: Outcome) -> Outcome:
    """``outcome`` as its columns can hold it: an exception name longer than
    ``error_type`` is cut (it made the whole round fail, and its job stayed running)."""
    error = outcome.error
    if error is None or len(error.type) <= ERROR_TYPE_LENGTH:
        return outcome
    cut = dataclasses.replace(error, type=clip(error.type, ERROR_TYPE_LENGTH))
    return dataclasses.replace(outcome, error=cut)


def _delete_jobs(connection: Connection, which: ColumnElement[bool]) -> int:
    """Delete the finished jobs ``which`` selects, with their timelines (the events
    have no foreign key to cascade; their entries and files do); how many."""
    deleted = (
        connection.execute(
            delete(jobs).where(which, jobs.c.status.in_(FINISHED)).returning(jobs.c.id)
        )
        .scalars()
        .all()
    )
    if deleted:
        connection.execute(delete(job_events).where(job_events.c.job_id.in_(deleted)))
    return len(deleted)
