"""What a lane does with the outcomes of ended jobs when the database fails: nothing
reported is lost, nothing is written twice, and one outcome the database refuses
does not hold up the others.

No database and no job process: the store is a stand-in that fails on demand, and
the lane is stopping, so that its rounds write outcomes and claim nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy.exc import DataError, OperationalError

from jobprocessor.model import Job, Status
from jobprocessor.queues import QueueSpec
from jobprocessor.settings import Settings
from jobprocessor.store.jobs import JobStore, Outcome, RunLease
from jobprocessor.store.records import ClaimRequest
from jobprocessor.worker.lane import Lane, Shared
from jobprocessor.worker.slot import Slot
from jobprocessor.worker.wakeups import Nudge
from support import running_job

LOST = OperationalError("round", {}, Exception("server closed the connection"))


class FlakyStore:
    """The store's round, failing as told; what it wrote, by job id, in order."""

    backend = SimpleNamespace(look_before_claim=False)

    def __init__(self) -> None:
        self.round_fails_with: Exception | None = None
        self.refused: set[int] = set()
        self.written: list[int] = []

    def finish_and_claim(
        self,
        worker_id: str,
        outcomes: Sequence[tuple[RunLease, Outcome]],
        claim: ClaimRequest | None = None,
    ) -> tuple[list[bool], list[Job]]:
        if self.round_fails_with is not None:
            raise self.round_fails_with
        self.written += [lease.job_id for lease, _ in outcomes]
        return [True] * len(outcomes), []

    def finish(self, lease: RunLease, outcome: Outcome) -> bool:
        if lease.job_id in self.refused:
            raise DataError("finish", {}, Exception("value too long"))
        self.written.append(lease.job_id)
        return True


def _stopping_lane(store: FlakyStore) -> Lane:
    # One event for stopping, stop_now and stopped: the lane claims nothing, and the
    # pause after a database error (``outages.guard``) is cut short.
    stop = threading.Event()
    stop.set()
    settings = Settings(database_url="sqlite:///unused.db")
    shared = Shared(
        "w", settings, cast(JobStore, store), ["diag.noop"], QueueSpec(), [], stop, stop, stop
    )
    return Lane(0, shared, Nudge())


def _report(lane: Lane, *job_ids: int) -> None:
    for job_id in job_ids:
        lane.report(cast(Slot, None), running_job(job_id), Outcome(Status.SUCCEEDED))


def test_outcomes_of_a_round_the_database_lost_are_written_next_round_in_order() -> None:
    store = FlakyStore()
    lane = _stopping_lane(store)
    _report(lane, 1, 2)
    store.round_fails_with = LOST

    assert lane._round_if_due(0.0, nudged=False)  # go round again: outcomes wait
    assert store.written == []

    store.round_fails_with = None
    _report(lane, 3)  # a job that ended meanwhile comes after them
    assert not lane._round_if_due(0.0, nudged=False)
    assert store.written == [1, 2, 3]
    assert not lane._round_if_due(0.0, nudged=False)  # nothing written twice
    assert store.written == [1, 2, 3]


def test_an_outcome_the_database_refuses_does_not_hold_up_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FlakyStore()
    lane = _stopping_lane(store)
    _report(lane, 1, 2, 3)
    store.round_fails_with = DataError("round", {}, Exception("value too long"))
    store.refused = {2}

    with caplog.at_level(logging.ERROR, logger="jobprocessor.worker.lane"):
        assert not lane._round_if_due(0.0, nudged=False)
    assert store.written == [1, 3]
    assert "job 2: its outcome could not be recorded" in caplog.text
    assert not lane._round_if_due(0.0, nudged=False)  # not tried again forever
    assert store.written == [1, 3]


def test_a_database_lost_while_writing_one_by_one_keeps_the_rest_for_later() -> None:
    store = FlakyStore()
    lane = _stopping_lane(store)
    _report(lane, 1, 2, 3)
    store.round_fails_with = DataError("round", {}, Exception("value too long"))

    def lost_at_2(lease: RunLease, outcome: Outcome) -> bool:
        if lease.job_id == 2:
            raise LOST
        store.written.append(lease.job_id)
        return True

    store.finish = lost_at_2  # type: ignore[method-assign]
    assert lane._round_if_due(0.0, nudged=False)
    assert store.written == [1]

    store.round_fails_with = None
    assert not lane._round_if_due(0.0, nudged=False)
    assert store.written == [1, 2, 3]
