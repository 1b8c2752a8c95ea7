"""The worker: claims jobs and runs each in a slot of its warm process pool.

Threads, each with one job:
- the claim lanes (``lane.py``; one, the caller's thread, unless ``claim_lanes``
  asks for more on PostgreSQL): each waits on its slots' pipes at once, writes
  ended jobs' outcomes and claims their successors in one round, and hands the
  claimed jobs to its slots' processes;
- the control loop: cancel requests (every ``cancel_poll_interval``, or at once
  when the database says so); housekeeping: rescue of jobs whose worker was lost,
  retention; heartbeats (``heartbeat.py``);
- on PostgreSQL, a LISTEN loop that turns notifications into wake-ups; on SQLite,
  a commit watch that wakes the lanes when anyone committed (``wakeups``).

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
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from jobprocessor.model import utcnow
from jobprocessor.queues import QueueSpec
from jobprocessor.recurring_jobs import Ticker, store_declared
from jobprocessor.registry import Registry, load_apps, registry
from jobprocessor.settings import Settings
from jobprocessor.store.engine import SessionGuard, create_db_engine
from jobprocessor.store.jobs import JobStore
from jobprocessor.store.schema import upgrade
from jobprocessor.worker.ahead import AheadLane
from jobprocessor.worker.heartbeat import Heartbeat
from jobprocessor.worker.lane import Lane, Shared
from jobprocessor.worker.outages import guard, retry, try_once
from jobprocessor.worker.slot import Slot
from jobprocessor.worker.wakeups import WakeUps, wake_thread

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: PostgreSQL: how often a worker looks for workers whose session ended (gone).
GONE_CHECK_INTERVAL = 0.5


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
            check_idle=False,
            guard=SessionGuard.of(settings),
        )
        self.store = JobStore(self.engine)
        backend = self.store.backend
        self.lane_count = min(concurrency, settings.claim_lanes) if backend.concurrent_rounds else 1
        #: Jobs per slot claimed ahead: the ``prefetch`` setting, where it helps.
        self.prefetch = settings.prefetch if backend.rounds_wait_on_server else 0
        if settings.prefetch and not self.prefetch:
            logger.warning(
                "prefetch is ignored on %s: it only helps where rounds wait on a server",
                backend.name,
            )
        self.slots: list[Slot] = []
        self.lanes: list[Lane] = []
        self._wake = WakeUps(self.lane_count)
        self._control_wake = threading.Event()
        self._stopping = threading.Event()
        self._stop_now = threading.Event()
        self._stopped = threading.Event()
        self.ready = threading.Event()
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
        self._make_lanes()
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
            hungry=lambda: any(lane.starved for lane in self.lanes),
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
            threading.Thread(target=lane.run, name=f"claim-{lane.index}") for lane in self.lanes[1:]
        ]
        try:
            for lane_thread in lanes:
                lane_thread.start()
            self.lanes[0].run()
            for lane_thread in lanes:
                lane_thread.join()
        finally:
            self._stopped.set()
            ticker.stop()
            for slot in self.slots:
                slot.stop()
            for thread in threads:
                thread.join(timeout=5)
            if self._heartbeat is not None:
                self._heartbeat.join(timeout=5)
            unregister = functools.partial(self.store.workers.unregister, self.id)
            try_once(unregister, "reach the database at shutdown")
            self._liveness.close()
            self.store.close()
            self.engine.dispose()
            self._wake.close()
            logger.info("worker %s stopped", self.id)

    def _make_lanes(self) -> None:
        """The lanes, and the slots each owns (slot ``i`` goes to lane ``i % lanes``)."""
        shared = Shared(
            worker_id=self.id,
            settings=self.settings,
            store=self.store,
            types=self.types.names(),
            queues=self.queues,
            slots=self.slots,
            stopping=self._stopping,
            stop_now=self._stop_now,
            stopped=self._stopped,
        )
        kind = AheadLane if self.prefetch else Lane
        self.lanes = [kind(i, shared, self._wake[i]) for i in range(self.lane_count)]
        for index in range(self.concurrency):
            lane = self.lanes[index % self.lane_count]
            slot = Slot(
                index,
                store=self.store,
                apps=self.apps,
                retry=retry,
                report=lane.report,
                wake=lane.nudge.set,
                environment={"JOBPROCESSOR_DATABASE_URL": self.settings.database_url},
            )
            lane.slots.append(slot)
            self.slots.append(slot)

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
        if not running and not self.prefetch:
            return
        elsewhere = []
        for job_id in self.store.cancel_requests(self.id):
            slot = running.get(job_id)
            if slot is not None:
                job = self.store.get(job_id)
                by = job.cancel_requested_by if job else None
                slot.request_cancel(job_id, f"requested by {by}" if by else "requested")
            else:
                elsewhere.append(job_id)
        if elsewhere:
            for lane in self.lanes:
                lane.cancel_ahead(elsewhere)

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
