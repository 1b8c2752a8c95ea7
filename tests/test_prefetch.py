"""Jobs claimed ahead (``prefetch``): they show ``queued`` until they start, no other
worker takes them, a cancel ends them unstarted, and what a worker will not run
(stopped, lost, or its slots busy too long) goes back to the queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from jobprocessor.model import Job, Status, utcnow
from jobprocessor.service import JobService
from jobprocessor.store.jobs import AheadWrites, ClaimRequest, JobStore, Outcome, RunLease
from jobprocessor.submission import SubmitOptions
from support import ADMIN, register_worker, wait_for_status
from waiting import wait_until

NOOP = "diag.noop"


def _events(service: JobService, job_id: int) -> list[str]:
    return [e.event for e in service.store.reports.events(job_id)]


def _claim(store: JobStore, worker: str, now: int, ahead: int) -> list[Job]:
    claim = ClaimRequest((NOOP,), now, {}, now + ahead, ahead=ahead)
    return store.finish_and_claim(worker, [], claim)[1]


def test_jobs_claimed_ahead_stay_queued_and_no_other_worker_takes_them(
    service: JobService,
) -> None:
    store = service.store
    register_worker(store, "w1")
    register_worker(store, "w2")
    jobs = service.submit_many(ADMIN, NOOP, [{}] * 4)

    claimed = _claim(store, "w1", now=1, ahead=2)

    assert [(j.id, j.status) for j in claimed] == [
        (jobs[0].id, Status.RUNNING),
        (jobs[1].id, Status.QUEUED),
        (jobs[2].id, Status.QUEUED),
    ]
    ahead = service.get(ADMIN, jobs[1].id)
    assert (ahead.status, ahead.worker_id, ahead.attempts, ahead.started_at) == (
        Status.QUEUED,
        "w1",
        1,
        None,
    )
    assert _events(service, jobs[1].id) == ["submitted"]
    assert [j.id for j in _claim(store, "w2", now=4, ahead=0)] == [jobs[3].id]


def test_a_start_and_an_outcome_of_jobs_claimed_ahead_are_recorded(service: JobService) -> None:
    store = service.store
    register_worker(store, "w1")
    _, first, second = _claim_three_ahead(service)
    started = utcnow() - timedelta(seconds=1)
    ended = Outcome(Status.SUCCEEDED, result=3, started_at=started)
    writes = AheadWrites(starts=[(RunLease.of(second), started)])

    held, _ = store.finish_and_claim("w1", [(RunLease.of(first), ended)], ahead=writes)

    assert held == [True]
    done, running = service.get(ADMIN, first.id), service.get(ADMIN, second.id)
    assert (done.status, done.result, done.started_at) == (Status.SUCCEEDED, 3, started)
    assert _events(service, first.id) == ["submitted", "started", "succeeded"]
    assert (running.status, running.started_at) == (Status.RUNNING, started)
    assert _events(service, second.id) == ["submitted", "started"]


def test_a_cancel_of_a_job_claimed_ahead_ends_it_unstarted_when_released(
    service: JobService,
) -> None:
    store = service.store
    register_worker(store, "w1")
    _, first, second = _claim_three_ahead(service)

    assert service.cancel(ADMIN, first.id).status is Status.CANCELING
    store.finish_and_claim("w1", [], ahead=AheadWrites(releases=[RunLease.of(first)]))
    store.finish_and_claim("w1", [], ahead=AheadWrites(releases=[RunLease.of(second)]))

    canceled, back = service.get(ADMIN, first.id), service.get(ADMIN, second.id)
    assert (canceled.status, canceled.started_at) == (Status.CANCELED, None)
    assert _events(service, first.id) == ["submitted", "cancel_requested", "canceled"]
    assert (back.status, back.worker_id, back.attempts) == (Status.QUEUED, None, 0)
    assert _events(service, second.id) == ["submitted"]


def test_a_lost_workers_jobs_claimed_ahead_go_back_to_the_queue(service: JobService) -> None:
    store = service.store
    register_worker(store, "w1")
    running, first, second = _claim_three_ahead(service)
    service.cancel(ADMIN, second.id)
    store.workers.unregister("w1")

    store.workers.rescue_lost(heartbeat_timeout=None)

    back, canceled = service.get(ADMIN, first.id), service.get(ADMIN, second.id)
    assert (back.status, back.worker_id, back.attempts) == (Status.QUEUED, None, 0)
    assert _events(service, first.id) == ["submitted", "requeued"]
    assert canceled.status is Status.CANCELED
    lost = service.get(ADMIN, running.id)
    assert lost.error is not None
    assert lost.error.type == "WorkerLost"


def _claim_three_ahead(service: JobService) -> list[Job]:
    """Three no-op jobs, the first claimed to run by "w1", the others ahead."""
    service.submit_many(ADMIN, NOOP, [{}] * 3)
    claimed = _claim(service.store, "w1", now=1, ahead=2)
    assert [j.status for j in claimed] == [Status.RUNNING, Status.QUEUED, Status.QUEUED]
    return claimed


# -- a worker with prefetch ----------------------------------------------------------


def _claims_ahead(service: JobService, waiting: list[Job]) -> bool:
    """Whether a worker on this database claims ahead; SQLite's ignores ``prefetch``:
    the ``waiting`` jobs stay free for any worker while its only slot is busy."""
    if service.store.backend.rounds_wait_on_server:
        return True
    assert all(service.get(ADMIN, job.id).worker_id is None for job in waiting)
    return False


def test_workers_with_prefetch_run_each_job_once_with_its_whole_timeline(
    service: JobService, start_worker: Callable[..., Any]
) -> None:
    """Two workers race for the same jobs: a job claimed twice would show a second
    attempt and a second ``started``."""
    jobs = service.submit_many(ADMIN, NOOP, [{}] * 300)
    start_worker(concurrency=2, prefetch=4)
    start_worker(concurrency=2, prefetch=4)

    for job in jobs:
        wait_for_status(service, job.id, Status.SUCCEEDED, timeout=60)
    for job in jobs:
        done = service.get(ADMIN, job.id)
        assert done.attempts == 1
        assert done.started_at is not None
        assert done.finished_at is not None
        assert done.started_at <= done.finished_at
        assert _events(service, job.id) == ["submitted", "started", "succeeded"]


def test_a_job_waiting_ahead_of_a_busy_slot_shows_queued_and_cancels_at_once(
    service: JobService, start_worker: Callable[..., Any]
) -> None:
    """One slot runs a long job; the jobs claimed with it wait ahead, queued; one is
    canceled unstarted, the other is given back once it waited too long."""
    long = service.submit(ADMIN, "diag.sleep", {"seconds": 60})
    first, second = service.submit_many(ADMIN, NOOP, [{}, {}])
    worker = start_worker(concurrency=1, prefetch=2)
    wait_for_status(service, long.id, Status.RUNNING)
    if not _claims_ahead(service, [first, second]):
        return
    held = service.get(ADMIN, first.id)
    assert (held.status, held.started_at) == (Status.QUEUED, None)
    assert held.waiting_for is not None
    assert held.waiting_for.startswith("claimed ahead by worker")

    service.cancel(ADMIN, first.id)

    canceled = wait_for_status(service, first.id, Status.CANCELED, timeout=5)
    assert canceled.started_at is None
    assert _events(service, first.id) == ["submitted", "cancel_requested", "canceled"]
    wait_until(
        lambda: service.get(ADMIN, second.id).worker_id is None,
        timeout=10,
        what="the job claimed ahead to be given back",
    )
    assert service.get(ADMIN, second.id).status is Status.QUEUED
    worker.stop(immediate=True)


def test_a_stopping_worker_gives_back_its_jobs_claimed_ahead(
    service: JobService, start_worker: Callable[..., Any]
) -> None:
    long = service.submit(ADMIN, "diag.sleep", {"seconds": 60})
    waiting = service.submit_many(ADMIN, NOOP, [{}, {}])
    worker = start_worker(concurrency=1, prefetch=2)
    wait_for_status(service, long.id, Status.RUNNING)
    if not _claims_ahead(service, waiting):
        return
    assert all(service.get(ADMIN, j.id).worker_id is not None for j in waiting)

    worker.stop(immediate=True)

    for job in waiting:
        back = service.get(ADMIN, job.id)
        assert (back.status, back.worker_id, back.attempts) == (Status.QUEUED, None, 0)
    assert service.get(ADMIN, long.id).status is Status.CANCELED


def test_a_killed_workers_jobs_claimed_ahead_run_on_another_worker(
    service: JobService, spawn_worker: Callable[..., Any]
) -> None:
    long = service.submit(ADMIN, "diag.sleep", {"seconds": 60})
    waiting = service.submit_many(ADMIN, NOOP, [{}, {}, {}])
    doomed = spawn_worker(concurrency=1, prefetch=4)
    wait_for_status(service, long.id, Status.RUNNING)
    claimed_ahead = _claims_ahead(service, waiting)
    if claimed_ahead:
        wait_until(
            lambda: all(service.get(ADMIN, j.id).worker_id is not None for j in waiting),
            what="the worker to claim the no-op jobs ahead",
        )

    doomed.kill()
    spawn_worker(concurrency=2)

    for job in waiting:
        done = wait_for_status(service, job.id, Status.SUCCEEDED, timeout=60)
        assert done.attempts == 1
        requeued = ["requeued"] if claimed_ahead else []
        assert _events(service, job.id) == ["submitted", *requeued, "started", "succeeded"]
    lost = wait_for_status(service, long.id, Status.FAILED, timeout=60)
    assert lost.error is not None
    assert lost.error.type == "WorkerLost"


def test_jobs_claimed_ahead_start_the_more_urgent_first(
    service: JobService, start_worker: Callable[..., Any]
) -> None:
    """One round claims the long job to run and two more ahead; the urgent one, though
    submitted last, starts before the other once the slot is free."""
    long = service.submit(
        ADMIN, "diag.count", {"n": 100_000, "delay": 0.01}, SubmitOptions(priority=10)
    )
    later = service.submit(ADMIN, NOOP, {})
    urgent = service.submit(ADMIN, NOOP, {}, SubmitOptions(priority=5))
    start_worker(concurrency=1, prefetch=2)
    wait_for_status(service, long.id, Status.RUNNING)

    service.cancel(ADMIN, long.id)

    ran_later = wait_for_status(service, later.id, Status.SUCCEEDED)
    ran_urgent = wait_for_status(service, urgent.id, Status.SUCCEEDED)
    assert ran_urgent.started_at is not None
    assert ran_later.started_at is not None
    assert ran_urgent.started_at < ran_later.started_at
