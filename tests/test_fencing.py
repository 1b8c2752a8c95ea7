"""Fencing by attempt: a run that no longer holds its job can change nothing of it.

Store-level, on both databases: a worker is declared lost, its job (retries left)
is re-queued and claimed again; the first run's writes (progress, log entries,
files, outcome) are refused and leave no trace, the second run's are accepted.
The same holds when the same worker claims the job again: the attempt tells the
two runs apart, not the worker.
"""

from __future__ import annotations

import pytest

from jobprocessor.model import Progress, ReportEntry, Status, utcnow
from jobprocessor.service import JobService
from jobprocessor.store.jobs import JobStore, Outcome, RunLease
from support import ADMIN, register_worker

TYPE = "diag.retry"  # retries=2


def _lose_and_reclaim(store: JobStore, job_id: int, *, by: str, then: str) -> tuple[RunLease, ...]:
    """``by`` claims the job and is lost (any heartbeat is too old for a timeout of 0);
    ``then`` (another worker, or ``by`` having rejoined) claims it again."""
    register_worker(store, by)
    (first,) = store.claim(by, [TYPE], 1)
    rescued = store.workers.rescue_lost(heartbeat_timeout=0.0)
    assert [(r.job_id, r.status) for r in rescued] == [(job_id, Status.QUEUED)]
    register_worker(store, then)
    (second,) = store.claim(then, [TYPE], 1)
    assert second.attempts == first.attempts + 1
    return RunLease.of(first), RunLease.of(second)


@pytest.fixture
def store(service: JobService) -> JobStore:
    register_worker(service.store, "w1")
    return service.store


@pytest.mark.parametrize("then", ["w2", "w1"], ids=["another-worker", "same-worker"])
def test_a_lost_run_can_write_nothing(service: JobService, store: JobStore, then: str) -> None:
    job = service.submit(ADMIN, TYPE)
    old, _ = _lose_and_reclaim(store, job.id, by="w1", then=then)
    reports = store.reports
    now = utcnow()

    refused = [
        reports.record_progress(old, Progress(9, 10, "old")),
        reports.add_entries(old, [ReportEntry(now, "INFO", "old run")]),
        reports.add_artifact(old, "result.txt", "text/plain", b"old"),
        store.finish(old, Outcome(Status.SUCCEEDED, result="old")),
    ]

    assert refused == [False, False, False, False]
    current = service.get(ADMIN, job.id)
    assert (current.status, current.progress.message, current.result) == (
        Status.RUNNING,
        None,
        None,
    )
    assert reports.entries(job.id) == []
    assert reports.artifacts(job.id) == []
    assert [e.event for e in reports.events(job.id)][-1] == "started"


def test_the_current_run_writes_and_ends_the_job(service: JobService, store: JobStore) -> None:
    job = service.submit(ADMIN, TYPE)
    old, new = _lose_and_reclaim(store, job.id, by="w1", then="w2")
    reports = store.reports

    accepted = [
        reports.record_progress(new, Progress(1, 2, "new")),
        reports.add_entries(new, [ReportEntry(utcnow(), "INFO", "new run")]),
        reports.add_artifact(new, "result.txt", "text/plain", b"new"),
        store.finish(new, Outcome(Status.SUCCEEDED, result="new")),
    ]
    late = reports.add_artifact(old, "result.txt", "text/plain", b"old")

    assert accepted == [True, True, True, True]
    assert late is False
    done = service.get(ADMIN, job.id)
    assert (done.status, done.result) == (Status.SUCCEEDED, "new")
    assert [e.message for e in reports.entries(job.id)] == ["new run"]
    assert reports.artifact(job.id, "result.txt") is not None
    assert reports.artifact(job.id, "result.txt")[1] == b"new"  # type: ignore[index]


def test_writes_after_the_job_ended_are_refused(service: JobService, store: JobStore) -> None:
    """Once the outcome is written, the run holds nothing: a late file is refused."""
    job = service.submit(ADMIN, TYPE)
    (claimed,) = store.claim("w1", [TYPE], 1)
    run = RunLease.of(claimed)
    assert store.finish(run, Outcome(Status.FAILED))

    assert not store.reports.add_artifact(run, "late.txt", "text/plain", b"late")
    assert not store.reports.add_entries(run, [ReportEntry(utcnow(), "INFO", "late")])
    assert store.reports.artifacts(job.id) == []


def test_a_canceling_job_still_takes_its_runs_writes(service: JobService, store: JobStore) -> None:
    """A cancel asks the run to stop; until it has, its report still grows."""
    job = service.submit(ADMIN, TYPE)
    (claimed,) = store.claim("w1", [TYPE], 1)
    service.cancel(ADMIN, job.id)

    run = RunLease.of(claimed)
    assert store.reports.add_entries(run, [ReportEntry(utcnow(), "INFO", "stopping")])
    assert store.finish(run, Outcome(Status.CANCELED, detail="stopped on request"))
    assert service.get(ADMIN, job.id).status is Status.CANCELED


def test_a_lease_for_an_unclaimed_job_is_refused(service: JobService, store: JobStore) -> None:
    job = service.submit(ADMIN, TYPE)
    forged = RunLease(job.id, "w1", 0)
    assert not store.reports.record_progress(forged, Progress(1, None, None))
    assert not store.reports.add_artifact(forged, "x.txt", "text/plain", b"x")
    assert service.get(ADMIN, job.id).status is Status.QUEUED
