"""The workloads, the same code for every system: burn-down, latency, submission,
cancel, fair share.

Times come from the jobs' own stamps (``bench.stamps``) on this machine's clock,
so one definition holds for every system: a job "starts" when its body begins,
which is after whatever hand-over its system does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import checkpoint, load_average, say, summary_ms
from bench.peers.base import CannotCancel, System
from bench.procs import Worker
from bench.stamps import Stamps

#: A burn-down or latency case that starts no job for this long is abandoned.
STALL_TIMEOUT = 60.0
#: After the last job started, how long its system gets to record every job final.
SETTLE_TIMEOUT = 30.0
POLL = 0.05


@dataclass(kw_only=True)
class Case:
    """What every measured case records besides its figures."""

    system: str
    load_before: list[float] = field(default_factory=load_average)
    error: str | None = None
    note: str | None = None


@dataclass(kw_only=True)
class BurnDown(Case):
    """N queued no-op jobs worked off by one worker with ``slots`` slots."""

    slots: int
    jobs: int
    submit_seconds: float | None = None
    started: int = 0
    duplicates: int = 0
    capped: bool = False
    jobs_per_second: float | None = None
    startup_seconds: float | None = None
    settle_seconds: float | None = None


def _wait_worker_ready(worker: Worker, stamps: Stamps, target: int, deadline: float) -> None:
    """Wait for ``target`` started jobs; raise if the worker dies or stalls."""
    last, last_change = -1, time.monotonic()
    while True:
        checkpoint()
        count = stamps.count()
        if count >= target or time.monotonic() >= deadline:
            return
        if not worker.alive():
            raise RuntimeError(f"worker exited ({worker.tail()})")
        if count != last:
            last, last_change = count, time.monotonic()
        elif time.monotonic() - last_change > STALL_TIMEOUT:
            raise RuntimeError(f"no job started for {STALL_TIMEOUT:g} s ({count} of {target})")
        time.sleep(POLL)


def _settle(system: System) -> float:
    """Seconds until the system records no unfinished job (bounded)."""
    begun = time.monotonic()
    while system.unfinished() and time.monotonic() - begun < SETTLE_TIMEOUT:
        time.sleep(POLL)
    return time.monotonic() - begun


def burn_down(system: System, slots: int, count: int, cap: float, stamps: Stamps) -> BurnDown:
    """Queue ``count`` jobs, then time one worker working them off (at most ``cap`` seconds).

    Throughput is (started - 1) / (last start - first start): the rate at which the
    worker starts jobs once it runs, measured by the jobs themselves. A case cut
    off at ``cap`` still measures that rate, over fewer jobs.
    """
    result = BurnDown(system=system.name, slots=slots, jobs=count)
    system.reset()
    stamps.reset()
    begun = time.perf_counter()
    system.submit_many(range(1, count + 1))
    result.submit_seconds = time.perf_counter() - begun
    system.settle_after_submit()
    worker = system.worker(slots, f"burn-{system.name}-k{slots}", stamps.directory)
    try:
        _wait_worker_ready(worker, stamps, 1, time.monotonic() + 120.0)
        # Cap the worked part, not the worker's start-up.
        first = min(stamps.start_times(), default=None)
        while first is not None and stamps.count() < count:
            checkpoint()
            if time.time() - first >= cap:
                result.capped = True
                break
            if not worker.alive():
                raise RuntimeError(f"worker exited ({worker.tail()})")
            time.sleep(POLL)
        if not result.capped:
            result.settle_seconds = _settle(system)
    finally:
        worker.kill() if result.capped else worker.stop()
    times = stamps.start_times()
    keys = stamps.starts()
    result.started = len(times)
    result.duplicates = len(times) - len(keys)
    if len(times) >= 2 and times[-1] > times[0]:
        result.jobs_per_second = (len(times) - 1) / (times[-1] - times[0])
        result.startup_seconds = times[0] - worker.launched_at
    return result


@dataclass(kw_only=True)
class Latency(Case):
    """Job start minus submit call, for single submits at a steady rate to an idle worker."""

    slots: int
    target_rate: float
    seconds: float
    jobs: int = 0
    achieved_rate: float | None = None
    ms: dict[str, float] = field(default_factory=dict)
    samples_ms: list[float] = field(default_factory=list)


def latency(system: System, slots: int, rate: float, seconds: float, stamps: Stamps) -> Latency:
    result = Latency(system=system.name, slots=slots, target_rate=rate, seconds=seconds)
    system.reset()
    stamps.reset()
    worker = system.worker(slots, f"latency-{system.name}", stamps.directory)
    submitted: dict[int, float] = {}
    try:
        system.submit_one(0)  # proves the worker runs jobs before we time anything
        _wait_worker_ready(worker, stamps, 1, time.monotonic() + 120.0)
        time.sleep(1.0)  # let it settle into its idle wait
        count = max(1, round(rate * seconds))
        begun = time.perf_counter()
        for i in range(count):
            checkpoint()
            delay = begun + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            submitted[i + 1] = time.time()
            system.submit_one(i + 1)
        result.achieved_rate = count / (time.perf_counter() - begun)
        _wait_worker_ready(worker, stamps, count + 1, time.monotonic() + SETTLE_TIMEOUT)
    finally:
        worker.stop()
    starts = stamps.starts()
    samples = [(starts[k] - t) * 1000 for k, t in submitted.items() if k in starts]
    result.jobs = len(samples)
    if len(samples) < len(submitted):
        result.note = f"{len(submitted) - len(samples)} job(s) had not started"
    result.samples_ms = [round(v, 3) for v in samples]
    result.ms = summary_ms(samples)
    return result


@dataclass(kw_only=True)
class Submission(Case):
    """Jobs queued per second: one call per job, and the batch API (from the burn-downs)."""

    single_jobs: int
    single_per_second: float | None = None
    bulk_api: str | None = None
    bulk_per_second: float | None = None


def submission(system: System, single: int) -> Submission:
    """No worker runs: the submitting side alone (validation, round trips, commit)."""
    result = Submission(system=system.name, single_jobs=single, bulk_api=system.bulk_api)
    system.reset()
    begun = time.perf_counter()
    for i in range(single):
        if i % 100 == 0:
            checkpoint()
        system.submit_one(i + 1)
    result.single_per_second = single / (time.perf_counter() - begun)
    return result


@dataclass(kw_only=True)
class Cancel(Case):
    """From the cancel request to the job really stopped and recorded final."""

    kind: str
    mechanism: str
    stopped: bool = False
    seconds: float | None = None
    final_state: str | None = None
    state_seconds: float | None = None


#: A stopped job's last beat is at least this old (its beats come every 50 ms).
STALE = 0.3


def cancel(system: System, kind: str, limit: float, stamps: Stamps) -> Cancel:
    """Start one long job, cancel it, and watch both its beats and its recorded state.

    A job counts as stopped once its system records a final state AND its beats
    have stopped; the time is the later of the two. Some systems record a final
    state while the job runs on: that is reported as not stopped.
    """
    result = Cancel(system=system.name, kind=kind, mechanism=system.cancel_mechanism[kind])
    system.reset()
    stamps.reset()
    key = 1
    worker = system.worker(1, f"cancel-{system.name}-{kind}", stamps.directory)
    try:
        handle = system.submit_long(kind, key, seconds=limit + 15.0)
        _wait_worker_ready(worker, stamps, 1, time.monotonic() + 120.0)
        time.sleep(0.5)
        requested = time.time()
        try:
            system.cancel(handle, kind)
        except CannotCancel as reason:
            result.note = str(reason)
            return result
        while time.time() - requested < limit:
            checkpoint()
            state = system.final_state(handle)
            now = time.time()
            if state is not None and result.final_state is None:
                result.final_state, result.state_seconds = state, now - requested
            beat = stamps.last_beat(key) or requested
            if state is not None and now - beat > STALE:
                result.stopped = True
                result.seconds = max(result.state_seconds or 0.0, beat - requested)
                break
            time.sleep(0.01)
        if not result.stopped:
            state = result.final_state
            result.note = f"still running {limit:g} s after the request" + (
                f" (though recorded {state!r})" if state else ""
            )
    finally:
        worker.kill()
    return result


@dataclass(kw_only=True)
class FairShare(Case):
    """User A queues many short jobs, then user B one: how long B's job waits.

    ``submitters`` says how the system tells A from B: JobProcessor by the
    submitting user (its fair share picks B's job for the next free slot); the
    peers have no notion of a submitter, so there A and B are a job argument.
    """

    slots: int
    a_jobs: int
    job_seconds: float
    submitters: str | None = None
    #: A's batch submission, then B's single submit.
    a_submit_seconds: float | None = None
    #: B's job start stamp minus the time just before B's submitting call.
    b_wait_seconds: float | None = None
    #: A's jobs whose start stamp is earlier than B's.
    a_before_b: int | None = None
    #: From just before A's submission to the last of the A + 1 jobs ending.
    total_seconds: float | None = None
    started: int = 0
    duplicates: int = 0


#: Keys of the fair-share case: the warm-up job is 0, A's are 1..N, B's is this.
B_KEY = 999_999_999


def fair_share(
    system: System, slots: int, a_jobs: int, seconds: float, stamps: Stamps
) -> FairShare:
    """A worker with ``slots`` slots runs; A queues ``a_jobs`` jobs, B then queues one.

    A's jobs go through the batch API where the system has one (as in the
    burn-downs), B's through the single submit (as in the latency case), right
    after A's call returned. Every job sleeps ``seconds`` between its start and
    end stamps. The best possible total is ceil((a_jobs + 1) / slots) * seconds.
    """
    result = FairShare(
        system=system.name,
        slots=slots,
        a_jobs=a_jobs,
        job_seconds=seconds,
        submitters=system.submitters,
    )
    system.reset()
    stamps.reset()
    worker = system.worker(slots, f"fair-share-{system.name}", stamps.directory)
    try:
        system.submit_one(0)  # proves the worker runs jobs before we time anything
        _wait_worker_ready(worker, stamps, 1, time.monotonic() + 120.0)
        time.sleep(1.0)  # let it settle into its idle wait
        begun = time.time()
        system.submit_sleeps("A", range(1, a_jobs + 1), seconds)
        b_submitted = time.time()
        result.a_submit_seconds = b_submitted - begun
        system.submit_sleep("B", B_KEY, seconds)
        ideal = -(-(a_jobs + 1) // slots) * seconds
        # A stalled system is abandoned after STALL_TIMEOUT; a slow one gets ten times
        # the best possible total (and at least two minutes).
        deadline = time.monotonic() + max(120.0, 10 * ideal)
        _wait_worker_ready(worker, stamps, a_jobs + 2, deadline)
        settle = time.monotonic() + seconds + SETTLE_TIMEOUT
        while stamps.ended_count() < a_jobs + 1 and time.monotonic() < settle:
            checkpoint()
            time.sleep(POLL)
    finally:
        worker.stop()
    starts, ends = stamps.starts(), stamps.ends()
    result.started = len(starts) - 1  # not the warm-up job
    result.duplicates = stamps.count() - len(starts)
    b_start = starts.get(B_KEY)
    if b_start is None:
        result.note = "B's job had not started"
    else:
        result.b_wait_seconds = b_start - b_submitted
        result.a_before_b = sum(1 for k, t in starts.items() if 0 < k < B_KEY and t < b_start)
    ended = [t for k, t in ends.items() if k > 0]
    if len(ended) == a_jobs + 1:
        result.total_seconds = max(ended) - begun
    elif b_start is not None:
        result.note = f"{a_jobs + 1 - len(ended)} job(s) had not ended"
    return result


def say_case(case: Case, text: str) -> None:
    say(f"  {case.system}: {text}" + (f" [{case.error}]" if case.error else ""))


def stamps_for(results: Path) -> Stamps:
    return Stamps(results / "stamps")
