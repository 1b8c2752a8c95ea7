from __future__ import annotations

from jobprocessor.model import Status
from jobprocessor.service import JobService
from support import ADMIN, wait_for_status
from waiting import wait_until


def test_a_job_runs_to_success(service: JobService, start_worker) -> None:
    start_worker(concurrency=1)
    job = service.submit(ADMIN, "diag.count", {"n": 3, "delay": 0.01})
    done = wait_for_status(service, job.id, Status.SUCCEEDED, Status.FAILED)
    assert done.status is Status.SUCCEEDED
    assert done.result == {"counted": 3}


def test_an_idle_worker_starts_a_new_job_without_waiting_for_its_poll(
    service: JobService, start_worker
) -> None:
    """Woken by NOTIFY on PostgreSQL and by the commit watch on SQLite: a poll interval
    of ten minutes never comes into it."""
    start_worker(concurrency=1, poll_interval=600)
    first = service.submit(ADMIN, "diag.noop", {})
    assert (
        wait_for_status(service, first.id, Status.SUCCEEDED, Status.FAILED, timeout=20).status
        is Status.SUCCEEDED
    )
    later = service.submit(ADMIN, "diag.noop", {})
    assert (
        wait_for_status(service, later.id, Status.SUCCEEDED, Status.FAILED, timeout=20).status
        is Status.SUCCEEDED
    )


def test_an_error_storing_a_report_fails_that_job_and_the_worker_goes_on(
    service: JobService, start_worker
) -> None:
    """Not a database outage (retried) nor a lost job (fenced): an error no retry
    mends. The job fails with WorkerError; its slot gets a fresh process."""
    worker = start_worker(concurrency=1).worker

    def refuse(*_: object) -> bool:
        raise ValueError("a value the database refuses")

    worker.store.reports.record_progress = refuse
    broken = service.submit(ADMIN, "diag.count", {"n": 3, "delay": 0.3})
    failed = wait_for_status(service, broken.id, Status.FAILED, timeout=30)
    assert failed.error is not None
    assert failed.error.type == "WorkerError"

    del worker.store.reports.record_progress
    job = service.submit(ADMIN, "diag.noop", {})
    assert wait_for_status(service, job.id, Status.SUCCEEDED, timeout=30).status is Status.SUCCEEDED


def test_a_lane_is_starved_only_while_its_claims_find_fewer_jobs_than_free_slots(
    service: JobService, start_worker
) -> None:
    """What the SQLite commit watch asks before it looks often (``Lane.starved``): a
    worker whose slots take queued jobs as they free needs no look every millisecond."""
    jobs = service.submit_many(ADMIN, "diag.count", [{"n": 600, "delay": 0.05}] * 3)
    lanes = start_worker(concurrency=2).worker.lanes
    wait_until(lambda: not any(lane.starved for lane in lanes), what="a claim that fills")
    for job in jobs:
        service.cancel(ADMIN, job.id)
    for job in jobs:
        wait_for_status(service, job.id, Status.CANCELED)
    wait_until(lambda: all(lane.starved for lane in lanes), what="a claim that finds none")
