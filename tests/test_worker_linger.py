"""A lane's round waits a moment (``round_linger``) for jobs that end together.

No database and no job process: the lane's slots here are a job and a pipe each,
and a job "ends" when a byte is written to its pipe.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from multiprocessing import Pipe
from typing import cast

from jobprocessor.model import Job, Status
from jobprocessor.queues import QueueSpec
from jobprocessor.settings import Settings
from jobprocessor.store.jobs import JobStore, Outcome
from jobprocessor.worker.lane import Lane, Shared
from jobprocessor.worker.slot import Slot
from jobprocessor.worker.wakeups import Nudge
from support import running_job

DONE = Outcome(Status.SUCCEEDED)


class _Slot:
    """What a lane's linger uses of a slot: its job, its pipe, ``receive``."""

    def __init__(self, lane: Lane, job: Job) -> None:
        self.job: Job | None = job
        self._lane = lane
        self._reader, self._writer = Pipe(duplex=False)

    @property
    def pipe(self) -> object:
        return self._reader if self.job is not None else None

    def end(self) -> None:
        """The job process writes the job's outcome."""
        self._writer.send_bytes(b"done")

    def receive(self) -> None:
        self._reader.recv_bytes()
        job, self.job = self.job, None
        assert job is not None
        self._lane.report(cast(Slot, self), job, DONE)


def _lane(linger: float, *jobs: Job) -> tuple[Lane, list[_Slot]]:
    settings = Settings(database_url="sqlite:///unused.db", round_linger=linger)
    stop = threading.Event()
    shared = Shared(
        "w", settings, cast(JobStore, None), ["diag.noop"], QueueSpec(), [], stop, stop, stop
    )
    lane = Lane(0, shared, Nudge())
    slots = [_Slot(lane, job) for job in jobs]
    lane.slots = cast(list[Slot], slots)
    return lane, slots


def _first_ends(lane: Lane, slots: list[_Slot]) -> threading.Thread:
    """The first slot's job ends; the lane lingers, in a thread."""
    slots[0].end()
    slots[0].receive()
    thread = threading.Thread(target=lane._linger)
    thread.start()
    return thread


def _waiting_ids(lane: Lane) -> list[int]:
    return [job.id for job, _ in lane._waiting]


def test_a_round_waits_for_the_other_running_job() -> None:
    lane, slots = _lane(600.0, running_job(1), running_job(2))
    lingering = _first_ends(lane, slots)
    lingering.join(0.2)
    assert lingering.is_alive(), "it went on with one of two outcomes"

    slots[1].end()

    lingering.join(10)
    assert not lingering.is_alive(), "the second outcome did not end the wait"
    assert _waiting_ids(lane) == [1, 2]


def test_a_round_does_not_wait_when_no_other_job_runs() -> None:
    lane, slots = _lane(600.0, running_job(1))
    lingering = _first_ends(lane, slots)
    lingering.join(10)
    assert not lingering.is_alive()


def test_a_round_waits_no_longer_than_round_linger() -> None:
    lane, slots = _lane(0.05, running_job(1), running_job(2))
    lingering = _first_ends(lane, slots)
    lingering.join(10)
    assert not lingering.is_alive(), "the other job never ended: the wait must"
    assert _waiting_ids(lane) == [1]


def _jobs_took(lane: Lane, took: timedelta, times: int) -> None:
    """``times`` jobs ended, each ``took`` after its claim (their outcomes are taken
    away: only the lane's running mean of the jobs' time stays)."""
    for _ in range(times):
        lane.report(cast(Slot, None), running_job(99, took=took), DONE)
    lane._waiting.clear()


def test_a_round_does_not_wait_once_the_jobs_take_long() -> None:
    """A slot whose job took long would stand idle for the whole wait: the others
    rarely end within it. Long: more than five times ``round_linger``, claim to outcome."""
    lane, slots = _lane(600.0, running_job(1), running_job(2))
    _jobs_took(lane, timedelta(hours=2), 20)  # > 5 x 600 s
    lingering = _first_ends(lane, slots)
    lingering.join(10)
    assert not lingering.is_alive(), "it waited although the jobs take long"


def test_a_round_waits_again_once_the_jobs_are_short() -> None:
    lane, slots = _lane(600.0, running_job(1), running_job(2))
    _jobs_took(lane, timedelta(hours=10), 20)  # no wait (the test above)
    _jobs_took(lane, timedelta(0), 40)
    lingering = _first_ends(lane, slots)
    lingering.join(0.2)
    assert lingering.is_alive(), "short jobs again, yet it went on with one of two"
    slots[1].end()
    lingering.join(10)
    assert not lingering.is_alive()


def test_the_first_job_took_its_time_before_the_mean_counts() -> None:
    lane, _ = _lane(600.0)
    lane.report(cast(Slot, None), running_job(1, took=None), DONE)
    assert lane._typical_run == 0.0
