"""The worker: claims jobs and runs each in a slot of its warm process pool.

Threads, each with one job:
- the claim loop (the caller's thread): writes finished jobs' outcomes and claims
  as many jobs as slots are free, woken by a free slot, by PostgreSQL NOTIFY, or
  by the poll interval; on PostgreSQL with several slots, more claim lanes (up to
  ``claim_lanes``) write outcomes and claim at the same time, each on its own
  connection, so that one round's wait for the database does not hold up the
  slots that freed meanwhile;
- the control loop: heartbeats, cancel requests (every ``cancel_poll_interval``,
  or at once on PostgreSQL), rescue of jobs whose worker was lost, retention;
- on PostgreSQL, a LISTEN loop that turns notifications into wake-ups; on SQLite,
  a commit watch that wakes the claim loop when anyone committed (``wakeups``);
- one thread per slot (see ``slot.py``).

``stop()`` drains: no new claims, running jobs get ``shutdown_timeout`` seconds,
then they are canceled as a user's cancel would (grace, then force).
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from jobprocessor.model import Job, utcnow
from jobprocessor.queues import QueueSpec
from jobprocessor.recurring_jobs import Ticker, store_declared
from jobprocessor.registry import Registry, load_apps, registry
from jobprocessor.settings import Settings
from jobprocessor.store.engine import SessionGuard, create_db_engine
from jobprocessor.store.jobs import NO_CLAIM, ClaimRequest, JobStore, Outcome, RunLease
from jobprocessor.store.schema import upgrade
from jobprocessor.worker.heartbeat import Heartbeat
from jobprocessor.worker.outages import guard, is_transient, retry, try_once
from jobprocessor.worker.outcome_book import OutcomeBook, Reported
from jobprocessor.worker.slot import Slot
from jobprocessor.worker.wakeups import WakeUps, wake_thread

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: PostgreSQL: how often a worker looks for workers whose session ended (gone).
GONE_CHECK_INTERVAL = 0.5

#: A round waits for other running jobs (``round_linger``) only while the recent jobs
#: took at most this many times as long, claim to outcome (``Worker._linger``).
LINGER_FOR_JOBS_UP_TO = 5
#: The weight of the latest job in that running mean.
RUN_AVERAGE_WEIGHT = 0.2

SHUTDOWN_REASON = "worker shutdown"
SHUTDOWN_ACTOR = "system:shutdown"


class Worker:
    """A supervisor process's engine: ``run()`` blocks until ``stop()`` has drained."""

    def __init__(
        self,
        settings: Settings,
        *,
        concurrency: int = 1,
        apps: list[str] | None = None,
        types: Registry = registry,
        queues: QueueSpec | str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.settings = settings
        self.concurrency = concurrency
        #: The queues this worker serves, with the slots each may take (``--queues``).
        self.queues = queues if isinstance(queues, QueueSpec) else QueueSpec.parse(queues)
        self.apps = list(apps or [])
        load_apps(self.apps)
        self.types = types
        self.id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.engine = create_db_engine(
            settings.database_url,
            pool_size=concurrency + 3,
            pre_ping=False,
            guard=SessionGuard.of(settings),
        )
        self.store = JobStore(self.engine)
        backend = self.store.backend
        self.lanes = min(concurrency, settings.claim_lanes) if backend.concurrent_rounds else 1
        self.slots: list[Slot] = []
        self._wake = WakeUps(self.lanes)
        self._control_wake = threading.Event()
        self._stopping = threading.Event()
        self._stop_now = threading.Event()
        self._stopped = threading.Event()
        self.ready = threading.Event()
        #: Outcomes of finished jobs, written with the next claim (one transaction).
        self.outcomes = OutcomeBook()
        #: A running mean of how long the recent jobs took, claim to outcome, in
        #: seconds (``_linger``); no job yet: none.
        self._typical_run = 0.0
        #: Registration and heartbeats, on a connection of their own.
        self._liveness = self.store.workers.liveness(self.id, silence=settings.heartbeat_timeout)
        self._heartbeat: Heartbeat | None = None

    # -- lifecycle ------------------------------------------------------------

    def run(self) -> None:
        # A worker started while the database is down (or restarting) waits for it.
        retry(lambda: upgrade(self.engine))
        retry(self._register)
        retry(lambda: store_declared(self.store, self.types, now=utcnow()))
        ticker = Ticker(self.store, self.types, interval=self.settings.schedule_check_interval)
        self._heartbeat = Heartbeat(
            self._liveness,
            interval=self.settings.heartbeat_interval,
            timeout=self.settings.heartbeat_timeout,
            stopping=self._stopping.is_set,
            stopped=self._stopped,
            on_lost=self._rejoin,
        )
        self.slots = [
            Slot(
                i,
                worker_id=self.id,
                store=self.store,
                apps=self.apps,
                on_free=self._slot_freed,
                retry=retry,
                report=self._report,
                environment={"JOBPROCESSOR_DATABASE_URL": self.settings.database_url},
            )
            for i in range(self.concurrency)
        ]
        # Heartbeats first: starting the job processes can take longer than the
        # heartbeat timeout on a loaded machine.
        self._heartbeat.start()
        ticker.start()
        threads = [
            threading.Thread(target=self._control_loop, name="control", daemon=True),
            threading.Thread(target=self._housekeeping_loop, name="housekeeping", daemon=True),
        ]
        waker = wake_thread(
            self.store.backend,
            self.id,
            self.settings.commit_watch_interval,
            self._stopped,
            self._wake,
            self._control_wake,
        )
        if waker is not None:
            threads.append(waker)
        checkpointer = self.store.backend.checkpointer(self._stopped)
        if checkpointer is not None:
            threads.append(threading.Thread(target=checkpointer, name="checkpoints", daemon=True))
        for thread in threads:
            thread.start()
        starters = [threading.Thread(target=s.start) for s in self.slots]
        for starter in starters:
            starter.start()
        for starter in starters:
            starter.join()
        logger.info(
            "worker %s started: %d slot(s), types: %s",
            self.id,
            self.concurrency,
            ", ".join(self.types.names()) or "none",
        )
        self.ready.set()
        lanes = [
            threading.Thread(target=self._claim_loop, args=(lane,), name=f"claim-{lane}")
            for lane in range(1, self.lanes)
        ]
        try:
            for lane_thread in lanes:
                lane_thread.start()
            self._claim_loop(0)
            for lane_thread in lanes:
                lane_thread.join()
            self._drain()
        finally:
            self._stopped.set()
            ticker.stop()
            for slot in self.slots:
                slot.stop()
            self._write_outcomes_at_stop()
            for thread in threads:
                thread.join(timeout=5)
            if self._heartbeat is not None:
                self._heartbeat.join(timeout=5)
            unregister = functools.partial(self.store.workers.unregister, self.id)
            try_once(unregister, "reach the database at shutdown")
            self._liveness.close()
            self.store.close()
            self.engine.dispose()
            logger.info("worker %s stopped", self.id)

    @property
    def stopping(self) -> bool:
        """True once ``stop()`` was called: the worker claims nothing more."""
        return self._stopping.is_set()

    def stop(self, *, immediate: bool = False) -> None:
        """Stop claiming; running jobs get ``shutdown_timeout`` (or none if immediate)."""
        if immediate or self._stopping.is_set():
            self._stop_now.set()
        self._stopping.set()
        self._wake.set()

    # -- claiming -------------------------------------------------------------

    def _claim_loop(self, lane: int) -> None:
        """One claim lane. Lane 0 also polls an idle queue; the others act on
        outcomes only, so an empty queue is asked once per poll interval, not once
        per lane."""
        self.store.keep_round_connection()
        types = self.types.names()
        wake = self._wake[lane]
        while not self._stopping.is_set():
            # Cleared before looking, so a slot freed meanwhile wakes the wait below.
            wake.clear()
            self._linger(wake)
            outcomes, free = self._begin_round(claim=bool(types), lane=lane)
            if not outcomes and not free:
                wake.wait(self.settings.poll_interval)
                continue
            jobs: list[Job] = []
            try:
                round_ = functools.partial(self._round, outcomes, self._claim_request(types, free))
                jobs = self._guard(round_) or []
                for job, slot in zip(jobs, free, strict=False):
                    # Sending the job from here saves a hand-over, unless outcomes
                    # wait for this loop's next round: then the slot sends it.
                    slot.assign(job, send_now=not self.outcomes.has_waiting())
            finally:
                self._end_round(outcomes, free)
            if (jobs and len(jobs) == len(free)) or self.outcomes.has_waiting():
                continue  # there may be more; claim again once a slot frees
            if len(jobs) < len(free) and any(job.limit_key for job, _ in outcomes):
                # A limit's place freed in this round: on PostgreSQL the round's claim
                # could not see it yet (one statement, one snapshot). Claim again now.
                continue
            wake.wait(self._idle_wait(types) if lane == 0 and free else self.settings.poll_interval)

    def _claim_request(self, types: list[str], free: list[Slot]) -> ClaimRequest:
        """What this round may claim: a job per free slot, from queues with room."""
        running = Counter(
            slot.job.queue for slot in self.slots if slot.job is not None and slot not in free
        )
        named, others = self.queues.allowances(running, len(free))
        return ClaimRequest(tuple(types), len(free), named, others)

    def _idle_wait(self, types: list[str]) -> float:
        """How long to sleep when nothing could be claimed: the poll interval, or less
        when a delayed job falls due sooner (a notification or a freed slot wakes the
        worker earlier anyway)."""
        wait = self.settings.poll_interval
        due = self._guard(lambda: self.store.next_due(types))
        if due is not None:
            wait = min(wait, max(0.0, (due - utcnow()).total_seconds()))
        return wait

    def _linger(self, wake: threading.Event) -> None:
        """Once a job ended while others run, wait up to ``round_linger`` for them too,
        so that one round writes their outcomes and claims their successors.

        Only for very short jobs (``LINGER_FOR_JOBS_UP_TO``): the others then end
        within the wait, and a round is saved; a slot whose longer job ended would
        only stand idle for the whole wait, as the others rarely end within it.
        """
        linger = self.settings.round_linger
        if linger <= 0 or self._typical_run > LINGER_FOR_JOBS_UP_TO * linger:
            return
        deadline = time.monotonic() + linger
        while True:
            reported = self.outcomes.waiting_ids()
            if not reported:
                return
            if all(slot.job is None or slot.job.id in reported for slot in self.slots):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            wake.wait(remaining)
            wake.clear()

    def _begin_round(self, *, claim: bool, lane: int) -> tuple[list[Reported], list[Slot]]:
        """Take the waiting outcomes and reserve the free slots to claim for."""
        outcomes, free = self.outcomes.begin_round(
            (slot.index for slot in self.slots if slot.idle),
            claim=claim,
            outcomes_only=lane > 0,
            at_most=self.settings.claim_batch_size,
        )
        return outcomes, [self.slots[index] for index in free]

    def _end_round(self, outcomes: list[Reported], free: list[Slot]) -> None:
        """Release the round's slots; its outcomes are settled unless put back to retry."""
        settled = self.outcomes.end_round(outcomes, [slot.index for slot in free])
        if settled and self.lanes > 1:
            self._wake.set()  # a slot held back for these outcomes may be free now

    def _round(self, outcomes: list[Reported], claim: ClaimRequest) -> list[Job]:
        """Write finished jobs' outcomes and claim for the free slots: one transaction.

        If the database fails, the outcomes go back to be written next round.
        """
        if not outcomes:
            if not claim.wanted:
                return []
            if self.store.backend.look_before_claim and not self.store.has_queued(claim.types):
                return []
            return self.store.claim(self.id, claim.types, claim.limit, claim)
        try:
            held, jobs = self.store.finish_and_claim(
                self.id, [(RunLease.of(job), outcome) for job, outcome in outcomes], claim
            )
        except DBAPIError as error:
            if is_transient(error):
                self.outcomes.put_back(outcomes)
                raise
            # One outcome the database refuses must not hold up the others.
            held, jobs = self._finish_one_by_one(outcomes), []
        for (job, outcome), was_held in zip(outcomes, held, strict=True):
            if not was_held:
                logger.warning(
                    "job %d was no longer held by this run (attempt %d); its outcome (%s) "
                    "was dropped",
                    job.id,
                    job.attempts,
                    outcome.status.value,
                )
        return jobs

    def _finish_one_by_one(self, outcomes: list[Reported]) -> list[bool]:
        held = []
        for index, (job, outcome) in enumerate(outcomes):
            try:
                held.append(self.store.finish(RunLease.of(job), outcome))
            except DBAPIError as error:
                if is_transient(error):
                    self.outcomes.put_back(outcomes[index:])
                    raise
                logger.exception("job %d: its outcome could not be recorded", job.id)
                held.append(True)
        return held

    def _report(self, slot: Slot, job: Job, outcome: Outcome) -> None:
        """A slot's job ended: queue its outcome for a claim lane's next round."""
        if job.started_at is not None:
            # From the claim to the outcome. Slots report from their own threads; a
            # lost update of this running mean changes a single wait at most.
            ran = (utcnow() - job.started_at).total_seconds()
            self._typical_run += RUN_AVERAGE_WEIGHT * (ran - self._typical_run)
        self.outcomes.report(slot.index, job, outcome)
        self._wake.set()

    def _write_outcomes(self) -> None:
        """Write the queued outcomes without claiming (draining, stopping)."""
        outcomes = self.outcomes.take()
        if outcomes:
            self._round(outcomes, NO_CLAIM)

    def _write_outcomes_at_stop(self) -> None:
        """Every outcome is written before the worker leaves, through database outages."""
        while self.outcomes.has_waiting():
            try:
                retry(self._write_outcomes)
            except DBAPIError as error:
                logger.error("could not record outcomes at shutdown: %s", error.orig)
                return

    def _slot_freed(self, _: Slot) -> None:
        self._wake.set()

    # -- draining -------------------------------------------------------------

    def _drain(self) -> None:
        busy = [slot for slot in self.slots if not slot.idle]
        if not busy:
            return
        logger.info("draining: %d job(s) running", len(busy))
        deadline = time.monotonic() + self.settings.shutdown_timeout
        while not self._stop_now.is_set() and time.monotonic() < deadline:
            self._guard(self._write_outcomes)
            if all(slot.idle for slot in self.slots):
                return
            self._wake[0].wait(0.1)
            self._wake[0].clear()
        for slot in self.slots:
            job = slot.job
            if job is None:
                continue
            logger.warning("job %d did not finish before shutdown; canceling it", job.id)
            self._guard(functools.partial(self.store.request_cancel, job.id, by=SHUTDOWN_ACTOR))
            slot.request_cancel(job.id, SHUTDOWN_REASON)
        while not all(slot.idle for slot in self.slots):
            self._guard(self._write_outcomes)
            self._wake[0].wait(0.1)
            self._wake[0].clear()

    # -- control: cancels; housekeeping: rescue, retention ---------------------

    def _control_loop(self) -> None:
        """Forward cancel requests to the slots: every ``cancel_poll_interval``, or at
        once when woken (PostgreSQL NOTIFY, SQLite's commit watch)."""
        while not self._stopped.is_set():
            self._guard(self._forward_cancels)
            self._control_wake.wait(self.settings.cancel_poll_interval)
            self._control_wake.clear()

    def _housekeeping_loop(self) -> None:
        """Rescue the jobs of lost workers, and purge old jobs, in a thread of its own:
        a rescue that waits on the database holds up neither cancels nor heartbeats.

        Other workers are judged lost only while this worker's own heartbeats go
        through steadily: for a whole ``heartbeat_timeout`` before judging by
        heartbeats, for two heartbeat intervals before judging by sessions that ended
        (after a database restart every session has ended, and live workers need a
        heartbeat or two to take theirs again).
        """
        settings = self.settings
        every = max(settings.heartbeat_interval, settings.heartbeat_timeout / 4)
        if self.store.backend.name == "postgresql":
            every = min(every, GONE_CHECK_INTERVAL)
        next_purge = time.monotonic() + 5.0
        while not self._stopped.wait(every):
            steady = self._heartbeat.steady_for() if self._heartbeat else 0.0
            timeout, grace = settings.heartbeat_timeout, settings.gone_worker_grace
            rescue = functools.partial(
                self._rescue,
                timeout if steady >= timeout else None,
                grace if steady >= 2 * settings.heartbeat_interval else None,
            )
            if rescue.args != (None, None):
                self._guard(rescue)
            if time.monotonic() >= next_purge and settings.retention_days > 0:
                self._guard(self._purge)
                next_purge = time.monotonic() + settings.retention_interval

    def _forward_cancels(self) -> None:
        running = {slot.job.id: slot for slot in self.slots if slot.job is not None}
        if not running:
            return
        for job_id in self.store.cancel_requests(self.id):
            slot = running.get(job_id)
            if slot is not None:
                job = self.store.get(job_id)
                by = job.cancel_requested_by if job else None
                slot.request_cancel(job_id, f"requested by {by}" if by else "requested")

    def _rescue(self, heartbeat_timeout: float | None, gone_after: float | None) -> None:
        lost = self.store.workers.rescue_lost(
            heartbeat_timeout=heartbeat_timeout, gone_after=gone_after
        )
        for rescued in lost:
            logger.warning(
                "job %d of a lost worker is now %s", rescued.job_id, rescued.status.value
            )

    def _purge(self) -> None:
        purged = self.store.purge_finished(
            before=utcnow() - timedelta(days=self.settings.retention_days),
            batch_size=self.settings.purge_batch_size,
        )
        if purged:
            logger.info("retention: purged %d finished job(s)", purged)

    def _rejoin(self) -> None:
        """Our row was removed: we were taken for lost and our jobs were rescued."""
        logger.error("this worker was declared lost (no heartbeat for too long); rejoining")
        for slot in self.slots:
            if slot.job is not None:
                slot.abandon()
        self._register()

    def _register(self) -> None:
        self._liveness.register(
            host=socket.gethostname(),
            pid=os.getpid(),
            slots=self.concurrency,
            queues=str(self.queues),
        )

    def _guard(self, action: Callable[[], T]) -> T | None:
        """Run a periodic action; a database outage is logged and tried next round."""
        return guard(action, self._stopped)
