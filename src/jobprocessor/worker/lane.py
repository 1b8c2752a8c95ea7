"""A claim lane: one thread that follows its slots' jobs and runs the rounds that feed them.

The lane waits in one ``poll`` over the pipes of its busy slots and its nudge. When
jobs end, it writes their outcomes and claims their successors in one transaction (a
round), and hands each claimed job straight to its slot's process: no thread hand-over
between a job's end, the round and the next job's start. A worker has one lane, or on
PostgreSQL up to ``claim_lanes``, each owning its share of the slots, so that one
lane's wait for the database does not hold up the slots of another.

A slot never starts a job before its previous job's outcome is durable: the lane
writes an outcome in the very round that claims the slot's next job.

Once the worker stops, the lane drains: it claims nothing more, follows its running
jobs for ``shutdown_timeout`` seconds, then cancels them as a user's cancel would
(grace, then force), and ends once every outcome is written.
"""

from __future__ import annotations

import functools
import logging
import select
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from jobprocessor.model import Job, utcnow
from jobprocessor.queues import QueueSpec
from jobprocessor.settings import Settings
from jobprocessor.store.jobs import NO_CLAIM, ClaimRequest, JobStore, Outcome, RunLease
from jobprocessor.worker.outages import guard, is_transient
from jobprocessor.worker.slot import Slot
from jobprocessor.worker.wakeups import Nudge

logger = logging.getLogger(__name__)

T = TypeVar("T")

Reported = tuple[Job, Outcome]

#: A round waits for other running jobs (``round_linger``) only while the recent jobs
#: took at most this many times as long, claim to outcome (``Lane._linger``).
LINGER_FOR_JOBS_UP_TO = 5
#: The weight of the latest job in that running mean.
RUN_AVERAGE_WEIGHT = 0.2

SHUTDOWN_REASON = "worker shutdown"
SHUTDOWN_ACTOR = "system:shutdown"


@dataclass
class Shared:
    """What the lanes of one worker share."""

    worker_id: str
    settings: Settings
    store: JobStore
    #: The job types this worker runs (none: it only writes outcomes).
    types: list[str]
    queues: QueueSpec
    #: Every slot of the worker, for the queues' caps.
    slots: list[Slot]
    stopping: threading.Event
    #: A second stop: cancel the running jobs now, without ``shutdown_timeout``.
    stop_now: threading.Event
    #: Set once the lanes have ended; cuts the pauses after database errors short.
    stopped: threading.Event


class Lane:
    """One claim lane: its slots, the outcomes they reported, and its loop (``run``)."""

    def __init__(self, index: int, shared: Shared, nudge: Nudge) -> None:
        self.index = index
        self.shared = shared
        self.nudge = nudge
        self.slots: list[Slot] = []
        #: Outcomes of ended jobs, oldest first, for the next round.
        self._waiting: list[Reported] = []
        #: A running mean of how long the recent jobs took, claim to outcome, in
        #: seconds (``_linger``); no job yet: none.
        self._typical_run = 0.0
        #: When the drain cancels the running jobs (``time.monotonic()``), once stopping.
        self._drain_deadline: float | None = None
        self._canceled_for_shutdown = False
        #: When free slots are looked for again without a nudge (``time.monotonic()``).
        self._look_at = 0.0
        #: Whether the last claim found fewer jobs than free slots: the lane waits for
        #: new work (what the SQLite commit watch looks for most often).
        self.starved = True

    def report(self, slot: Slot, job: Job, outcome: Outcome) -> None:
        """A slot's job ended (called on this lane's thread): its outcome waits for
        the next round."""
        if job.started_at is not None:
            ran = (utcnow() - job.started_at).total_seconds()
            self._typical_run += RUN_AVERAGE_WEIGHT * (ran - self._typical_run)
        self._waiting.append((job, outcome))

    # -- the loop ---------------------------------------------------------------

    def run(self) -> None:
        """Follow jobs and run rounds until the worker stops and this lane has drained."""
        self.shared.store.keep_round_connection()
        nudged = True
        while True:
            if nudged:
                self.nudge.clear()  # before looking, so that a nudge meanwhile counts
            now = time.monotonic()
            next_tick = self._tick(now)
            if self.shared.stopping.is_set():
                self._drain(now)
                if not self._waiting and not self._busy():
                    return
            self._linger()
            again = self._round_if_due(now, nudged=nudged)
            nudged = self._wait(0.0 if again else self._timeout(next_tick))

    def _round_if_due(self, now: float, *, nudged: bool) -> bool:
        """Write the waiting outcomes, and claim for the free slots if it is time to
        look (nudged, an outcome written, or ``_look_at`` passed). True if the lane
        should go round again at once."""
        shared = self.shared
        free = [slot for slot in self.slots if slot.free] if self._claims() else []
        look = bool(free) and (nudged or bool(self._waiting) or now >= self._look_at)
        if not (self._waiting or look):
            return False
        outcomes, self._waiting = self._waiting, []
        free = free[: shared.settings.claim_batch_size] if look else []
        asked_at = utcnow()
        claim = self._claim_request(len(free))
        jobs = self._guard(functools.partial(self._round, outcomes, claim))
        jobs = jobs or []
        for job, slot in zip(jobs, free, strict=False):
            slot.assign(job)
        again = False
        if free:
            self.starved = len(jobs) < len(free)
        if len(jobs) < len(free):
            # A limit's place freed in this round: on PostgreSQL the round's claim
            # could not see it yet (one statement, one snapshot).
            again = any(job.limit_key for job, _ in outcomes)
            self._look_at = time.monotonic() + (0.0 if again else self._idle_wait(asked_at))
        return again or bool(self._waiting)  # outcomes put back: the database failed

    def _timeout(self, next_tick: float | None) -> float:
        """How long the lane may wait: until a slot's next tick, the next look for
        work while a slot is free, the drain's deadline, or the poll interval."""
        now = time.monotonic()
        timeout = self.shared.settings.poll_interval if next_tick is None else next_tick - now
        if self._claims() and any(slot.free for slot in self.slots):
            timeout = min(timeout, self._look_at - now)
        deadline = self._drain_deadline
        if deadline is not None and not self._canceled_for_shutdown:
            timeout = min(timeout, deadline - now)
        return max(0.0, timeout)

    def _claims(self) -> bool:
        """Whether the lane claims now: it has job types, and the worker is not stopping."""
        return bool(self.shared.types) and not self.shared.stopping.is_set()

    def _wait(self, timeout: float) -> bool:
        """Wait for the busy slots' pipes and the nudge; take what the jobs wrote.
        True if nudged."""
        nudge = self.nudge.fileno()
        return nudge in self._wait_for_jobs(timeout, nudge)

    def _wait_for_jobs(self, timeout: float, *others: int) -> list[int]:
        """Wait for the busy slots' pipes and the ``others`` (file descriptors); take
        what the jobs wrote. The file descriptors that were ready.

        One ``poll`` over raw descriptors: ``multiprocessing.connection.wait`` builds
        a selector and registers every pipe on each call, which with prefetch was a
        tenth of the lane's time (``bench/engine_changes.md``, change 47). A pipe whose
        process ended is ready too (``poll`` always reports a hang-up); ``receive``
        then finds its end.
        """
        pipes = {pipe.fileno(): slot for slot in self.slots if (pipe := slot.pipe) is not None}
        poller = select.poll()
        for fd in (*pipes, *others):
            poller.register(fd, select.POLLIN)
        ready = [fd for fd, _ in poller.poll(timeout * 1000)]
        for fd in ready:
            slot = pipes.get(fd)
            if slot is not None:
                slot.receive()
        return ready

    def _tick(self, now: float) -> float | None:
        """Tick the busy slots; the earliest next tick (``time.monotonic()``), if any."""
        due = [slot.tick(now) for slot in self.slots if slot.job is not None]
        return min((d for d in due if d is not None), default=None)

    def _busy(self) -> bool:
        return any(slot.job is not None for slot in self.slots)

    def _linger(self) -> None:
        """Once a job ended while others run, wait up to ``round_linger`` for them too,
        so that one round writes their outcomes and claims their successors.

        Only for very short jobs (``LINGER_FOR_JOBS_UP_TO``): the others then end
        within the wait, and a round is saved; a slot whose longer job ended would
        only stand idle for the whole wait, as the others rarely end within it.
        """
        linger = self.shared.settings.round_linger
        if not self._waiting or linger <= 0 or self._typical_run > LINGER_FOR_JOBS_UP_TO * linger:
            return
        deadline = time.monotonic() + linger
        while self._busy():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wait_for_jobs(remaining)

    # -- rounds -------------------------------------------------------------------

    def _claim_request(
        self, free: int, ahead: int = 0, held_ahead: Iterable[Job] = ()
    ) -> ClaimRequest:
        """What this round may claim: a job per free slot and ``ahead`` more, from
        queues with room; the queues' caps count the running jobs and those this
        lane holds ahead (``held_ahead``)."""
        shared = self.shared
        if free + ahead == 0:
            return NO_CLAIM
        running = Counter(slot.job.queue for slot in shared.slots if slot.job is not None)
        running.update(job.queue for job in held_ahead)
        named, others = shared.queues.allowances(running, free + ahead)
        return ClaimRequest(tuple(shared.types), free, named, others, ahead=ahead)

    def _idle_wait(self, claimed_at: datetime) -> float:
        """How long free slots wait when nothing could be claimed at ``claimed_at``
        (``_wait_until_due``)."""
        store, types = self.shared.store, self.shared.types
        return self._wait_until_due(self._guard(lambda: store.next_due(types, after=claimed_at)))

    def _wait_until_due(self, due: datetime | None) -> float:
        """The poll interval, or less when a delayed job falls ``due`` sooner (a
        notification or a freed slot wakes the lane earlier anyway)."""
        wait_for = self.shared.settings.poll_interval
        if due is not None:
            wait_for = min(wait_for, max(0.0, (due - utcnow()).total_seconds()))
        return wait_for

    def _round(self, outcomes: list[Reported], claim: ClaimRequest) -> list[Job]:
        """Write ended jobs' outcomes and claim for the free slots: one transaction.

        If the database fails, the outcomes go back to be written next round.
        """
        store, worker_id = self.shared.store, self.shared.worker_id
        if not outcomes:
            if not claim.wanted:
                return []
            if store.backend.look_before_claim and not store.has_queued(claim.types):
                return []
            return store.claim(worker_id, claim.types, claim.limit, claim)
        leases = [(RunLease.of(job), outcome) for job, outcome in outcomes]
        try:
            held, jobs = store.finish_and_claim(worker_id, leases, claim)
        except DBAPIError as error:
            if is_transient(error):
                self._waiting[:0] = outcomes
                raise
            held, jobs = [], []
            try:
                finish_one_by_one(store, leases, held)
            except DBAPIError:
                self._waiting[:0] = outcomes[len(held) :]
                raise
        self._log_dropped(outcomes, held)
        return jobs

    @staticmethod
    def _log_dropped(outcomes: list[Reported], held: list[bool]) -> None:
        """Say which outcomes were dropped: their jobs were no longer held by this run."""
        for (job, outcome), was_held in zip(outcomes, held, strict=True):
            if not was_held:
                logger.warning(
                    "job %d was no longer held by this run (attempt %d); its outcome (%s) "
                    "was dropped",
                    job.id,
                    job.attempts,
                    outcome.status.value,
                )

    def cancel_ahead(self, job_ids: Iterable[int]) -> None:
        """Cancels asked for jobs no slot of the worker runs (any thread): this lane
        holds no jobs ahead (``ahead.AheadLane`` does)."""

    # -- draining -------------------------------------------------------------------

    def _drain(self, now: float) -> None:
        """Stopping: the running jobs get ``shutdown_timeout`` (none after a second
        stop), then they are canceled as a user's cancel would."""
        shared = self.shared
        if self._drain_deadline is None:
            self._drain_deadline = now + shared.settings.shutdown_timeout
            busy = sum(slot.job is not None for slot in self.slots)
            if busy:
                logger.info("draining: %d job(s) running", busy)
        if self._canceled_for_shutdown:
            return
        if not shared.stop_now.is_set() and now < self._drain_deadline:
            return
        self._canceled_for_shutdown = True
        for slot in self.slots:
            job = slot.job
            if job is None:
                continue
            logger.warning("job %d did not finish before shutdown; canceling it", job.id)
            cancel = functools.partial(shared.store.request_cancel, job.id, by=SHUTDOWN_ACTOR)
            self._guard(cancel)
            slot.request_cancel(job.id, SHUTDOWN_REASON)

    def _guard(self, action: Callable[[], T]) -> T | None:
        """Run a database action; an outage is logged and tried again next time."""
        return guard(action, self.shared.stopped)


def finish_one_by_one(
    store: JobStore, leases: Sequence[tuple[RunLease, Outcome]], held: list[bool]
) -> None:
    """Write outcomes one at a time, after a round the database refused: one outcome
    it refuses must not hold up the others. Appends to ``held`` whether each job was
    still held by its run (True for an outcome that could not be recorded at all: it
    is logged, not tried again). A transient error is raised; ``held`` then says how
    many were written, for the caller to put the others back."""
    for lease, outcome in leases:
        try:
            held.append(store.finish(lease, outcome))
        except DBAPIError as error:
            if is_transient(error):
                raise
            logger.exception("job %d: its outcome could not be recorded", lease.job_id)
            held.append(True)
