"""Scheduling with real workers, on both databases: limits under races between worker
processes and after a SIGKILL, timeouts that really stop, delayed jobs, ``--queues``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jobprocessor.model import Actor, Status
from jobprocessor.service import JobService
from jobprocessor.submission import SubmitOptions
from support import ADMIN, TESTS, wait_for_status
from waiting import wait_until

SCHEDULING = "scheduling_jobs"
APPS = [SCHEDULING, "jobprocessor.diagnostics"]
FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)


@pytest.fixture(autouse=True)
def scheduling_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TESTS / "apps"))
    import scheduling_jobs  # noqa: F401


def _most_at_once(stamps: Path) -> int:
    """The most runs that overlapped, from their start and end stamps."""
    moments = []
    for line in stamps.read_text().splitlines():
        kind, _, at, _ = line.split()
        moments.append((float(at), 1 if kind == "start" else -1))
    running = most = 0
    for _, change in sorted(moments, key=lambda m: (m[0], m[1])):
        running += change
        most = max(most, running)
    return most


def test_a_limit_holds_across_racing_workers(
    service: JobService, spawn_worker: Callable[..., Any], tmp_path: Path
) -> None:
    """Three workers of two slots race for jobs of a limit of 2: never more run."""
    stamps = tmp_path / "stamps"
    for _ in range(3):
        spawn_worker(concurrency=2, apps=APPS)
    jobs = service.submit_many(
        ADMIN,
        "sched.limited",
        [{"n": n, "seconds": 0.05, "stamps": str(stamps)} for n in range(40)],
    )
    for job in jobs:
        assert wait_for_status(service, job.id, Status.SUCCEEDED, timeout=120)
    assert _most_at_once(stamps) == 2


def test_a_killed_worker_does_not_leak_its_limit(
    service: JobService, spawn_worker: Callable[..., Any]
) -> None:
    """Its job of a limit of 1 per unit fails WorkerLost; the unit's next job then runs."""
    doomed = spawn_worker(concurrency=1, apps=APPS)
    held = service.submit(ADMIN, "sched.per_unit", {"unit": 7, "seconds": 120})
    wait_for_status(service, held.id, Status.RUNNING)
    waiting = service.submit(ADMIN, "sched.per_unit", {"unit": 7, "seconds": 0})
    doomed.kill()
    spawn_worker(concurrency=2, apps=APPS)

    lost = wait_for_status(service, held.id, *FINISHED, timeout=60)
    assert lost.error is not None
    assert lost.error.type == "WorkerLost"
    assert wait_for_status(service, waiting.id, Status.SUCCEEDED, timeout=60)


def test_a_timeout_stops_a_job_that_never_checks(
    service: JobService, start_worker: Callable[..., Any]
) -> None:
    """sched.stuck sleeps in C past its 1 s limit: stopped by force after its grace."""
    start_worker(concurrency=1, apps=APPS)
    job = service.submit(ADMIN, "sched.stuck")
    began = time.monotonic()

    done = wait_for_status(service, job.id, *FINISHED, timeout=30)

    assert done.status is Status.FAILED
    assert done.error is not None
    assert done.error.type == "TimedOut"
    assert time.monotonic() - began >= 1.0
    events = service.report(ADMIN, job.id).events
    assert [e.event for e in events][-3:] == ["timed_out", "stopped_by_force", "failed"]
    assert "time limit of 1 s" in (events[-3].detail or "")


def test_a_submissions_timeout_stops_a_job_cooperatively(
    service: JobService, start_worker: Callable[..., Any]
) -> None:
    start_worker(concurrency=1, apps=APPS)
    job = service.submit(
        ADMIN, "diag.count", {"n": 100_000, "delay": 0.01}, SubmitOptions(timeout=0.5)
    )

    done = wait_for_status(service, job.id, *FINISHED, timeout=30)

    assert (done.status, done.error and done.error.type) == (Status.FAILED, "TimedOut")
    names = [e.event for e in service.report(ADMIN, job.id).events]
    assert names[-2:] == ["timed_out", "failed"]
    assert "stopped_by_force" not in names


def test_a_delayed_job_starts_when_due_not_before(
    service: JobService, start_worker: Callable[..., Any]
) -> None:
    start_worker(concurrency=1, apps=APPS, poll_interval=30.0)
    job = service.submit(ADMIN, "diag.noop", options=SubmitOptions(delay=1.5))

    done = wait_for_status(service, job.id, Status.SUCCEEDED, timeout=20)

    assert done.started_at is not None
    assert done.run_at is not None
    assert done.started_at >= done.run_at
    # The worker slept until it was due, not for its 30 s poll interval.
    assert (done.started_at - done.run_at).total_seconds() < 15


def test_a_worker_serves_only_its_queues_within_their_caps(
    service: JobService, start_worker: Callable[..., Any]
) -> None:
    start_worker(concurrency=3, apps=APPS, queues="reports=1")
    reports = service.submit_many(ADMIN, "sched.report", [{"n": n, "seconds": 0.3} for n in (1, 2)])
    other = service.submit(ADMIN, "diag.noop")

    for job in reports:
        wait_for_status(service, job.id, Status.SUCCEEDED, timeout=30)
    first, second = (service.get(ADMIN, j.id) for j in reports)
    assert first.finished_at is not None
    assert second.started_at is not None
    assert second.started_at >= first.finished_at, "the cap of 1 let two reports run at once"
    shown = service.get(ADMIN, other.id)
    assert shown.status is Status.QUEUED
    assert shown.waiting_for == "no worker serves this queue"


def test_fair_share_a_second_persons_job_starts_within_a_jobs_time(
    service: JobService, start_worker: Callable[..., Any]
) -> None:
    """With 2 slots, alice queues 40 jobs of 0.2 s, then bob 1: bob's starts within about
    one job's duration, not after alice's 40 (docs/reference/scheduling.md)."""
    alice, bob = Actor("alice"), Actor("bob")
    start_worker(concurrency=2, apps=APPS)
    alices = service.submit_many(alice, "sched.per_unit", [{"unit": n} for n in range(40)])
    wait_until(
        lambda: service.get(ADMIN, alices[1].id).status is not Status.QUEUED,
        timeout=30,
        what="alice's first jobs to start",
    )
    bobs = service.submit(bob, "sched.per_unit", {"unit": 1000})

    done = wait_for_status(service, bobs.id, Status.SUCCEEDED, timeout=30)

    finished_before = sum(
        1
        for job in (service.get(ADMIN, j.id) for j in alices)
        if job.finished_at is not None and done.started_at and job.finished_at <= done.started_at
    )
    assert finished_before <= 4, f"{finished_before} of alice's jobs went before bob's"
