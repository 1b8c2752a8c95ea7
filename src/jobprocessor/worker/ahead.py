"""A claim lane that claims jobs ahead of its free slots (``prefetch``), its rounds
running on a thread of their own while its slots run jobs.

The plain lane (``lane.py``) works in turns: a round writes outcomes and claims jobs
while the slots wait, then the slots run the jobs while the database waits. For
jobs of a few milliseconds the round is most of the time. Here a slot that ends a
job starts the next one at once from the lane's jobs claimed ahead, and one round
at a time, always in flight while there is something to write, records the ended
jobs, the starts of the new ones, and claims more (figures: bench/engine_changes.md,
change 44).

A job claimed ahead stays ``queued``, held by this worker (its ``worker_id`` is set,
so no other worker takes it), until a round writes its start; a job of a limit is
never claimed ahead. What this changes, and why it is a setting, off by default:

- A slot starts a job before the previous job's outcome is durable (a round later).
- A cancel of a job claimed ahead reaches its worker as a running job's does; the
  worker gives it back unstarted, and it ends ``canceled`` ("canceled before it
  started"), or, if its slot started it meanwhile, stops it as any running job.
- A job not started within ``AHEAD_HOLD`` seconds (its lane's slots all run longer
  jobs) is given back; jobs are claimed ahead only while recent jobs were short.
- A worker lost within a round of starting a job claimed ahead leaves it queued (its
  start was not written yet): it runs again. The plain lane would have failed it as
  ``WorkerLost`` or re-queued it by its retries.
- The priorities, fair share and queue caps decide at claim time, up to
  ``prefetch`` jobs per slot earlier than they would have.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from jobprocessor.model import Job, Status, utcnow
from jobprocessor.store.jobs import NO_CLAIM, AheadWrites, ClaimRequest, Outcome, RunLease
from jobprocessor.worker.lane import Lane, Reported, Shared, finish_one_by_one
from jobprocessor.worker.outages import GUARD_PAUSE, is_transient
from jobprocessor.worker.slot import Slot
from jobprocessor.worker.wakeups import Nudge

logger = logging.getLogger(__name__)

#: Seconds a job claimed ahead may wait for a free slot before it is given back.
AHEAD_HOLD = 1.0
#: Jobs are claimed ahead only while the recent jobs took at most this long, claim
#: to outcome, in seconds (``Lane._typical_run``): for longer jobs a round is a
#: small part of a job's time, and a job claimed ahead would wait behind them.
AHEAD_FOR_JOBS_UP_TO = 0.1


@dataclass
class _Round:
    """A round in flight: what it writes, put back if the database fails."""

    outcomes: list[Reported]
    starts: dict[int, tuple[Job, datetime]]
    releases: list[Job]
    #: How many jobs it claims (ahead and to run now).
    wanted: int
    done: Future[tuple[list[bool], list[Job], datetime | None]]


class AheadLane(Lane):
    """A lane whose slots take their next job from jobs claimed ahead."""

    def __init__(self, index: int, shared: Shared, nudge: Nudge) -> None:
        super().__init__(index, shared, nudge)
        #: Jobs claimed ahead and not started, oldest first, each with when it was
        #: claimed (``time.monotonic()``).
        self._ahead: collections.deque[tuple[Job, float]] = collections.deque()
        #: Started jobs whose start no round has written yet.
        self._unwritten: dict[int, tuple[Job, datetime]] = {}
        #: Jobs claimed ahead to give back.
        self._releases: list[Job] = []
        self._in_flight: _Round | None = None
        #: Set by the rounds' thread when a round is done.
        self._round_done = Nudge()
        #: Cancels forwarded for jobs the lane may hold ahead (``cancel_ahead``).
        self._cancels: set[int] = set()
        self._cancels_lock = threading.Lock()
        #: No round before this (``time.monotonic()``): the database just failed.
        self._pause_until = 0.0
        #: Jobs claimed ahead waited too long: claim no more ahead until a job ends.
        self._slots_stuck = False

    def cancel_ahead(self, job_ids: Iterable[int]) -> None:
        """Cancels asked for jobs no slot of the worker runs (any thread): the lane
        gives back those it holds ahead; one that a slot started meanwhile is asked
        to stop."""
        with self._cancels_lock:
            self._cancels.update(job_ids)
        self.nudge.set()

    # -- the loop ---------------------------------------------------------------

    def run(self) -> None:
        """Follow jobs, keep a round in flight, until the worker stops and the lane
        has drained and given back what it claimed ahead."""
        name = f"rounds-{self.index}"
        try:
            with ThreadPoolExecutor(1, name, self.shared.store.keep_round_connection) as rounds:
                self._loop(rounds)
        finally:
            self._round_done.close()

    def _loop(self, rounds: ThreadPoolExecutor) -> None:
        nudged = True
        while True:
            if nudged:
                self.nudge.clear()
            now = time.monotonic()
            next_tick = self._tick(now)
            self._take_round()
            self._take_cancels()
            if self.shared.stopping.is_set():
                self._give_back(len(self._ahead))
                self._drain(now)
                if self._drained():
                    return
            self._start_ahead()
            self._give_back_stale(now)
            self._send_round(rounds, now, nudged=nudged)
            nudged = self._wait(self._timeout_ahead(next_tick))

    def _drained(self) -> bool:
        return not (
            self._waiting
            or self._busy()
            or self._ahead
            or self._unwritten
            or self._releases
            or self._in_flight
        )

    def _wait(self, timeout: float) -> bool:
        """Wait for the busy slots' pipes, the nudge and the round in flight; take
        what the jobs wrote. True if nudged."""
        nudge, round_done = self.nudge.fileno(), self._round_done.fileno()
        ready = self._wait_for_jobs(timeout, nudge, round_done)
        if round_done in ready:
            self._round_done.clear()
        return nudge in ready

    def _timeout_ahead(self, next_tick: float | None) -> float:
        timeout = self._timeout(next_tick)
        if self._in_flight is None and self._has_writes():
            timeout = min(timeout, self._pause_until - time.monotonic())
        if self._ahead:
            timeout = min(timeout, self._ahead[0][1] + AHEAD_HOLD - time.monotonic())
        return max(0.0, timeout)

    # -- jobs claimed ahead -------------------------------------------------------

    def _start_ahead(self) -> None:
        """Free slots take the jobs claimed ahead, oldest first; their starts are
        written by the next round."""
        for slot in self.slots:
            if not self._ahead:
                return
            if slot.free:
                job, _ = self._ahead.popleft()
                if job.status is Status.QUEUED:  # else its start is written
                    started = utcnow()
                    job = dataclasses.replace(job, status=Status.RUNNING, started_at=started)
                    self._unwritten[job.id] = (job, started)
                slot.assign(job)

    def _take_cancels(self) -> None:
        with self._cancels_lock:
            canceled, self._cancels = self._cancels, set()
        if not canceled:
            return
        kept = [(job, at) for job, at in self._ahead if job.id not in canceled]
        self._releases += [job for job, _ in self._ahead if job.id in canceled]
        self._ahead = collections.deque(kept)
        for slot in self.slots:
            job = slot.job
            if job is not None and job.id in canceled:
                slot.request_cancel(job.id, "requested")

    def _give_back_stale(self, now: float) -> None:
        """Jobs claimed ahead that waited ``AHEAD_HOLD`` for a slot go back, for other
        workers to run; the lane claims no more ahead until one of its jobs ends."""
        stale = 0
        for _, claimed in self._ahead:
            if now - claimed < AHEAD_HOLD:
                break
            stale += 1
        if stale:
            self._slots_stuck = True
            self._give_back(stale)

    def report(self, slot: Slot, job: Job, outcome: Outcome) -> None:
        super().report(slot, job, outcome)
        self._slots_stuck = False

    def _give_back(self, count: int) -> None:
        for _ in range(count):
            self._releases.append(self._ahead.popleft()[0])

    # -- rounds -------------------------------------------------------------------

    def _has_writes(self) -> bool:
        return bool(self._waiting or self._unwritten or self._releases)

    def _send_round(self, rounds: ThreadPoolExecutor, now: float, *, nudged: bool) -> None:
        """Send a round to the rounds' thread if none is in flight and there is
        something to write, or jobs to claim and it is time to look."""
        if self._in_flight is not None or now < self._pause_until:
            return
        claim = self._claim_ahead()
        look = claim.wanted and (nudged or self._has_writes() or now >= self._look_at)
        if not (self._has_writes() or look):
            return
        if not look:
            claim = NO_CLAIM
        outcomes, self._waiting = self._waiting, []
        for index, (job, outcome) in enumerate(outcomes):
            start = self._unwritten.pop(job.id, None)
            if start is not None:  # ended before its start was written: both at once
                outcomes[index] = (job, dataclasses.replace(outcome, started_at=start[1]))
        starts, self._unwritten = self._unwritten, {}
        releases, self._releases = self._releases, []
        writes = AheadWrites(
            starts=[(RunLease.of(job), at) for job, at in starts.values()],
            releases=[RunLease.of(job) for job in releases],
        )
        done = rounds.submit(self._write, outcomes, claim, writes)
        done.add_done_callback(lambda _: self._round_done.set())
        self._in_flight = _Round(outcomes, starts, releases, claim.limit + claim.ahead, done)

    def _claim_ahead(self) -> ClaimRequest:
        """A job for each free slot (none is free while jobs wait ahead), and as many
        more ahead as ``prefetch`` leaves room for, while recent jobs were short."""
        shared = self.shared
        if not self._claims():
            return NO_CLAIM
        free = sum(slot.free for slot in self.slots)
        room = 0
        if self._typical_run <= AHEAD_FOR_JOBS_UP_TO and not self._slots_stuck:
            room = max(0, shared.settings.prefetch * len(self.slots) - len(self._ahead))
        return self._claim_request(free, room, (job for job, _ in self._ahead))

    def _write(
        self, outcomes: list[Reported], claim: ClaimRequest, writes: AheadWrites
    ) -> tuple[list[bool], list[Job], datetime | None]:
        """On the rounds' thread: run one round; (held flags, claimed jobs, when the
        next delayed job falls due if the claim came back short). A transient error
        is raised, to be tried again; any other writes what it can, one by one."""
        store, worker_id = self.shared.store, self.shared.worker_id
        asked_at = utcnow()
        looks_first = store.backend.look_before_claim and not (outcomes or writes)
        if claim.wanted and looks_first and not store.has_queued(claim.types):
            return [], [], store.next_due(claim.types, after=asked_at)
        leases = [(RunLease.of(job), outcome) for job, outcome in outcomes]
        try:
            held, jobs = store.finish_and_claim(worker_id, leases, claim, writes)
        except DBAPIError as error:
            if is_transient(error):
                logger.warning("database unavailable (%s); will try again", error.orig)
                raise
            logger.exception("a round failed; writing its outcomes one at a time")
            return self._write_one_by_one(leases, writes), [], None
        due = None
        if len(jobs) < claim.limit + claim.ahead:
            due = store.next_due(claim.types, after=asked_at) if claim.types else None
        return held, jobs, due

    def _write_one_by_one(
        self, leases: list[tuple[RunLease, Outcome]], writes: AheadWrites
    ) -> list[bool]:
        store, worker_id = self.shared.store, self.shared.worker_id
        held: list[bool] = []
        finish_one_by_one(store, leases, held)  # a transient error: all of it again
        try:
            store.finish_and_claim(worker_id, [], NO_CLAIM, writes)
        except DBAPIError as error:
            if is_transient(error):
                raise
            logger.exception("the starts and releases of jobs claimed ahead were not written")
        return held

    def _take_round(self) -> None:
        """Take the round in flight, if it is done: its claimed jobs, or what it
        should have written back into the next round if the database failed."""
        sent = self._in_flight
        if sent is None or not sent.done.done():
            return
        self._in_flight = None
        try:
            held, jobs, due = sent.done.result()
        except DBAPIError:
            self._waiting[:0] = sent.outcomes
            self._unwritten.update(sent.starts)
            self._releases[:0] = sent.releases
            self._pause_until = time.monotonic() + GUARD_PAUSE
            return
        self._log_dropped(sent.outcomes, held)
        now = time.monotonic()
        free = [slot for slot in self.slots if slot.free]
        # The store returns them by id: the more urgent first again (fair share
        # within one round's jobs aside).
        for job in sorted(jobs, key=lambda job: (-job.priority, job.id)):
            if job.status is Status.RUNNING and free:
                free.pop(0).assign(job)
            elif job.status is Status.RUNNING:  # its slot's process is starting again
                self._ahead.appendleft((job, now))
            else:
                self._ahead.append((job, now))
        if sent.wanted:
            self.starved = len(jobs) < sent.wanted
        if len(jobs) < sent.wanted:
            # Again at once if a limit's place freed in this round (one snapshot).
            again = any(job.limit_key for job, _ in sent.outcomes)
            self._look_at = now + (0.0 if again else self._wait_until_due(due))
