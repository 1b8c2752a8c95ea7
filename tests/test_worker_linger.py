"""A worker's round waits a moment (``round_linger``) for jobs that end together."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from conftest import ADMIN
from jobprocessor.model import Job, Status, utcnow
from jobprocessor.service import JobService
from jobprocessor.settings import Settings
from jobprocessor.store.jobs import Outcome
from jobprocessor.worker.supervisor import Worker


@dataclass
class _BusySlot:
    """What ``Worker._linger`` and ``_report`` look at of a slot."""

    index: int
    job: Job | None


@pytest.fixture
def two_jobs(service: JobService) -> list[Job]:
    return service.submit_many(ADMIN, "diag.noop", [{}, {}])


@contextlib.contextmanager
def _worker(settings: Settings, linger: float, jobs: list[Job]) -> Iterator[Worker]:
    """A worker, not started, whose two slots run ``jobs``."""
    worker = Worker(settings.model_copy(update={"round_linger": linger}), concurrency=2)
    worker.slots = [_BusySlot(i, job) for i, job in enumerate(jobs)]  # type: ignore[misc]
    yield worker
    worker.engine.dispose()


def _first_ends(worker: Worker, jobs: list[Job]) -> threading.Thread:
    """The first slot's job ends; the claim loop's wait, running in a thread."""
    worker._report(worker.slots[0], jobs[0], Outcome(Status.SUCCEEDED))
    thread = threading.Thread(target=worker._linger, args=(worker._wake[0],))
    thread.start()
    return thread


def test_a_round_waits_for_the_other_running_job(settings: Settings, two_jobs: list[Job]) -> None:
    with _worker(settings, 600.0, two_jobs) as worker:
        lingering = _first_ends(worker, two_jobs)
        lingering.join(0.2)
        assert lingering.is_alive(), "it went on with one of two outcomes"

        worker._report(worker.slots[1], two_jobs[1], Outcome(Status.SUCCEEDED))

        lingering.join(10)
        assert not lingering.is_alive(), "the second outcome did not end the wait"
        assert [job.id for job, _ in worker.outcomes.take()] == [j.id for j in two_jobs]


def test_a_round_does_not_wait_when_no_other_job_runs(
    settings: Settings, two_jobs: list[Job]
) -> None:
    with _worker(settings, 600.0, two_jobs) as worker:
        worker.slots[1].job = None
        lingering = _first_ends(worker, two_jobs)
        lingering.join(10)
        assert not lingering.is_alive()


def test_a_round_waits_no_longer_than_round_linger(settings: Settings, two_jobs: list[Job]) -> None:
    with _worker(settings, 0.05, two_jobs) as worker:
        lingering = _first_ends(worker, two_jobs)
        lingering.join(10)
        assert not lingering.is_alive(), "the other job never ended: the wait must"


def _jobs_took(worker: Worker, job: Job, took: timedelta, times: int) -> None:
    """``times`` jobs of the first slot ended, each ``took`` after its claim (their
    outcomes are taken away: only the worker's running mean of the jobs' time stays)."""
    ended = dataclasses.replace(job, started_at=utcnow() - took)
    for _ in range(times):
        worker._report(worker.slots[0], ended, Outcome(Status.SUCCEEDED))
    worker.outcomes.take()


def test_a_round_does_not_wait_once_the_jobs_take_long(
    settings: Settings, two_jobs: list[Job]
) -> None:
    """A slot whose job took long would stand idle for the whole wait: the others
    rarely end within it. Long: more than five times ``round_linger``, claim to outcome."""
    with _worker(settings, 600.0, two_jobs) as worker:
        _jobs_took(worker, two_jobs[0], timedelta(hours=2), 20)  # > 5 x 600 s
        lingering = _first_ends(worker, two_jobs)
        lingering.join(10)
        assert not lingering.is_alive(), "it waited although the jobs take long"


def test_a_round_waits_again_once_the_jobs_are_short(
    settings: Settings, two_jobs: list[Job]
) -> None:
    with _worker(settings, 600.0, two_jobs) as worker:
        _jobs_took(worker, two_jobs[0], timedelta(hours=10), 20)  # no wait (the test above)
        _jobs_took(worker, two_jobs[0], timedelta(0), 40)
        lingering = _first_ends(worker, two_jobs)
        lingering.join(0.2)
        assert lingering.is_alive(), "short jobs again, yet it went on with one of two"
        worker._report(worker.slots[1], two_jobs[1], Outcome(Status.SUCCEEDED))
        lingering.join(10)
        assert not lingering.is_alive()
