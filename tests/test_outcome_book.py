"""The supervisor's outcome bookkeeping, without a database or a worker."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from jobprocessor.model import Job, Progress, Status
from jobprocessor.store.jobs import Outcome
from jobprocessor.worker.outcome_book import OutcomeBook

DONE = Outcome(Status.SUCCEEDED)


def job(job_id: int) -> Job:
    return Job(
        id=job_id,
        type="diag.noop",
        category="diagnostics",
        title="No-op",
        status=Status.RUNNING,
        params={},
        submitted_by="alice",
        created_at=datetime(2026, 11, 30, tzinfo=UTC),
        started_at=None,
        finished_at=None,
        progress=Progress(None, None, None),
    )


def test_a_round_takes_the_outcomes_and_the_idle_slots() -> None:
    book = OutcomeBook()
    book.report(0, job(1), DONE)

    outcomes, free = book.begin_round([0, 1], claim=True, outcomes_only=False, at_most=10)

    assert [(j.id, o) for j, o in outcomes] == [(1, DONE)]
    assert free == [0, 1]  # slot 0's outcome is written by this very round
    assert not book.has_waiting()


def test_a_slot_whose_outcome_another_round_writes_is_not_free() -> None:
    book = OutcomeBook()
    book.report(0, job(1), DONE)
    first, _ = book.begin_round([], claim=True, outcomes_only=False, at_most=10)

    _, free = book.begin_round([0, 1], claim=True, outcomes_only=False, at_most=10)

    assert free == [1]
    assert book.end_round(first, [])
    _, free = book.begin_round([0], claim=True, outcomes_only=False, at_most=10)
    assert free == [0]


def test_reserved_slots_are_not_claimed_for_twice() -> None:
    book = OutcomeBook()
    _, first = book.begin_round([0, 1, 2], claim=True, outcomes_only=False, at_most=2)
    _, second = book.begin_round([0, 1, 2], claim=True, outcomes_only=False, at_most=2)

    assert (first, second) == ([0, 1], [2])
    book.end_round([], first)
    _, third = book.begin_round([0, 1], claim=True, outcomes_only=False, at_most=2)
    assert third == [0, 1]


def test_other_lanes_claim_only_alongside_outcomes() -> None:
    book = OutcomeBook()
    assert book.begin_round([0], claim=True, outcomes_only=True, at_most=1) == ([], [])
    book.report(1, job(7), DONE)
    outcomes, free = book.begin_round([0], claim=True, outcomes_only=True, at_most=1)
    assert ([j.id for j, _ in outcomes], free) == ([7], [0])


def test_a_round_without_claim_reserves_nothing() -> None:
    book = OutcomeBook()
    book.report(0, job(1), DONE)
    outcomes, free = book.begin_round([1], claim=False, outcomes_only=False, at_most=1)
    assert (len(outcomes), free) == (1, [])


def test_outcomes_put_back_stay_unsettled_and_go_first() -> None:
    book = OutcomeBook()
    book.report(0, job(1), DONE)
    outcomes, free = book.begin_round([1], claim=True, outcomes_only=False, at_most=1)
    book.report(1, job(2), DONE)

    book.put_back(outcomes)

    assert not book.end_round(outcomes, free), "an outcome put back is not settled"
    assert [j.id for j, _ in book.take()] == [1, 2]
    _, free = book.begin_round([0, 1], claim=True, outcomes_only=False, at_most=2)
    assert free == [], "both slots wait for their outcomes to be written"


def test_waiting_ids_and_take() -> None:
    book = OutcomeBook()
    book.report(0, job(3), DONE)
    book.report(1, job(4), DONE)
    assert book.waiting_ids() == {3, 4}
    assert [j.id for j, _ in book.take()] == [3, 4]
    assert book.waiting_ids() == set()


def test_concurrent_reports_are_all_kept() -> None:
    book = OutcomeBook()

    def report(slot: int) -> None:
        for n in range(500):
            book.report(slot, job(slot * 1000 + n), DONE)

    threads = [threading.Thread(target=report, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(book.take()) == 2000
