"""Outcomes written together with the next claim, and fresh statistics after bursts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from jobprocessor.model import JobError, Status
from jobprocessor.service import JobService
from jobprocessor.store import sqlite_round
from jobprocessor.store.jobs import ANALYZE_AFTER_BULK, ClaimRequest, Outcome, RunLease
from jobprocessor.store.records import Round
from jobprocessor.worker.outages import is_transient
from support import ADMIN, register_worker
from waiting import wait_until


def first_run(job_id: int, worker: str = "w1") -> RunLease:
    """The run of a job claimed once, by ``worker``."""
    return RunLease(job_id, worker, 1)


def _events(service: JobService, job_id: int) -> list[str]:
    return [e.event for e in service.store.reports.events(job_id)]


@pytest.fixture(autouse=True)
def _w1_registered(request: pytest.FixtureRequest) -> None:
    """The tests here claim as worker "w1", which needs its row to claim anything."""
    if "service" in request.fixturenames:
        register_worker(request.getfixturevalue("service").store, "w1")


def test_finish_and_claim_records_outcomes_and_claims_in_one_call(service: JobService) -> None:
    store = service.store
    first, second, third = service.submit_many(ADMIN, "diag.noop", [{}, {}, {}])
    assert [j.id for j in store.claim("w1", ["diag.noop"], 1)] == [first.id]

    held, claimed = store.finish_and_claim(
        "w1",
        [(first_run(first.id), Outcome(Status.SUCCEEDED, result=7))],
        ClaimRequest.anything(["diag.noop"], 2),
    )

    assert held == [True]
    assert [j.id for j in claimed] == [second.id, third.id]
    assert all(j.status is Status.RUNNING and j.worker_id == "w1" for j in claimed)
    done = service.get(ADMIN, first.id)
    assert (done.status, done.result) == (Status.SUCCEEDED, 7)
    assert _events(service, first.id) == ["submitted", "started", "succeeded"]
    assert _events(service, second.id) == ["submitted", "started"]


RESULTS = [7, 2.5, "text", "ünïcödé \u2713", None, True, [1, "two"], {"a": {"b": [None]}}, ""]


def test_every_json_result_is_stored_as_given(service: JobService) -> None:
    """Results travel as one JSON document through the round's SQL: numbers, text
    (also text that looks like a number), null, lists and objects come back as given."""
    store = service.store
    submitted = service.submit_many(ADMIN, "diag.noop", [{} for _ in [*RESULTS, "5"]])
    store.claim("w1", ["diag.noop"], len(submitted))
    outcomes = [
        (first_run(job.id), Outcome(Status.SUCCEEDED, result=result))
        for job, result in zip(submitted, [*RESULTS, "5"], strict=True)
    ]

    held, _ = store.finish_and_claim("w1", outcomes)

    assert all(held)
    assert [service.get(ADMIN, job.id).result for job in submitted] == [*RESULTS, "5"]


def test_forced_and_failed_outcomes_close_the_timeline(service: JobService) -> None:
    store = service.store
    forced, failed = service.submit_many(ADMIN, "diag.noop", [{}, {}])
    store.claim("w1", ["diag.noop"], 2)
    error = JobError("ValueError", "bad", "Traceback …")

    store.finish_and_claim(
        "w1",
        [
            (first_run(forced.id), Outcome(Status.CANCELED, forced=True, detail="did not stop")),
            (first_run(failed.id), Outcome(Status.FAILED, error=error)),
        ],
    )

    assert _events(service, forced.id) == ["submitted", "started", "stopped_by_force", "canceled"]
    assert _events(service, failed.id) == ["submitted", "started", "failed"]
    assert service.get(ADMIN, failed.id).error == error
    assert service.get(ADMIN, forced.id).error is None


def test_an_outcome_for_a_job_no_longer_held_is_refused(service: JobService) -> None:
    store = service.store
    job = service.submit(ADMIN, "diag.noop")
    store.claim("w1", ["diag.noop"], 1)
    held, claimed = store.finish_and_claim(
        "someone-else",
        [(first_run(job.id, "someone-else"), Outcome(Status.SUCCEEDED))],
        ClaimRequest.anything(["diag.noop"], 1),
    )
    assert (held, claimed) == ([False], [])
    assert service.get(ADMIN, job.id).status is Status.RUNNING


def test_a_failed_claim_keeps_the_outcomes(
    service: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock race makes the claim raise IntegrityError: it claims nothing, outcomes stay."""
    store = service.store
    job, waiting = service.submit_many(ADMIN, "diag.noop", [{}, {}])
    store.claim("w1", ["diag.noop"], 1)
    # A stand-in for the claim losing a race on the held-lock index: any IntegrityError.
    real_round = store.backend.run_round

    def losing_round(connection: Any, round_: Round) -> Any:
        if round_.claim.wanted:
            raise IntegrityError("claim", {}, Exception("lost a race for a limit's place"))
        return real_round(connection, round_)

    monkeypatch.setattr(store.backend, "run_round", losing_round)
    held, claimed = store.finish_and_claim(
        "w1",
        [(first_run(job.id), Outcome(Status.FAILED))],
        ClaimRequest.anything(["diag.noop"], waiting.id),
    )
    assert (held, claimed) == ([True], [])
    assert service.get(ADMIN, job.id).status is Status.FAILED
    assert service.get(ADMIN, waiting.id).status is Status.QUEUED


def test_many_short_jobs_each_end_once_with_their_events(
    service: JobService, start_worker: Any
) -> None:
    """Outcomes of several slots are written in shared transactions: none lost or doubled."""
    jobs = service.submit_many(ADMIN, "diag.noop", [{}] * 60)
    worker = start_worker(concurrency=4)
    wait_until(
        lambda: service.store.count_by_status().get(Status.SUCCEEDED) == 60,
        what="60 succeeded jobs",
    )
    worker.stop()
    for job in jobs:
        assert _events(service, job.id) == ["submitted", "started", "succeeded"]


def test_outcomes_pending_at_stop_are_written(service: JobService, start_worker: Any) -> None:
    jobs = service.submit_many(ADMIN, "diag.noop", [{}] * 10)
    worker = start_worker(concurrency=2)
    wait_until(lambda: service.store.count_by_status().get(Status.QUEUED, 0) == 0)
    worker.stop()
    assert {service.get(ADMIN, j.id).status for j in jobs} == {Status.SUCCEEDED}


# PostgreSQL only: SQLite's planner needs no statistics to use the queued index.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_burst_in_small_chunks_refreshes_postgres_statistics(
    service: JobService, database_url: str
) -> None:
    chunk = ANALYZE_AFTER_BULK // 4
    for _ in range(5):
        service.submit_many(ADMIN, "diag.noop", [{}] * chunk)
    with service.store.engine.connect() as connection:
        estimate = connection.execute(
            text("SELECT reltuples FROM pg_class WHERE relname = 'jobprocessor_jobs'")
        ).scalar()
    assert estimate is not None
    assert estimate >= ANALYZE_AFTER_BULK


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_postgresql_round_on_a_dropped_connection_fails_as_transient_then_reconnects(
    service: JobService,
) -> None:
    """pg_round talks to psycopg directly: its errors must still reach the worker as
    SQLAlchemy's, marked so that the worker retries (here: the server ended the
    round's session, as a restart would), and the next round opens a new session."""
    store = service.store
    store.keep_round_connection()
    first, second = service.submit_many(ADMIN, "diag.noop", [{}, {}])
    assert [j.id for j in store.claim("w1", ["diag.noop"], 1)] == [first.id]
    with store.engine.connect() as other:
        other.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND query LIKE '%jsonb_to_recordset%'"
            )
        )
    outcome = [(first_run(first.id), Outcome(Status.SUCCEEDED))]

    with pytest.raises(DBAPIError) as raised:
        store.finish_and_claim("w1", outcome, ClaimRequest.anything(["diag.noop"], 1))

    assert is_transient(raised.value)
    held, claimed = store.finish_and_claim("w1", outcome, ClaimRequest.anything(["diag.noop"], 1))
    assert (held, [j.id for j in claimed]) == ([True], [second.id])
    assert claimed[0].started_at is not None
    assert claimed[0].started_at.utcoffset() == timedelta(0)
    store.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_failed_sqlite_round_writes_nothing_and_the_next_one_works(
    service: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sqlite_round runs its own transaction on the sqlite3 connection: an error must
    roll all of it back (the outcome too), reach the caller as SQLAlchemy's, and leave
    the kept connection usable."""
    store = service.store
    store.keep_round_connection()
    first, second = service.submit_many(ADMIN, "diag.noop", [{}, {}])
    assert [j.id for j in store.claim("w1", ["diag.noop"], 1)] == [first.id]
    outcome = [(first_run(first.id), Outcome(Status.SUCCEEDED, result=1))]
    broken = "UPDATE no_such_table SET x = 1"
    monkeypatch.setattr(sqlite_round, "CLAIM_SQL", dict.fromkeys(sqlite_round.CLAIM_SQL, broken))

    with pytest.raises(DBAPIError):
        store.finish_and_claim("w1", outcome, ClaimRequest.anything(["diag.noop"], 1))

    assert service.get(ADMIN, first.id).status is Status.RUNNING
    assert _events(service, first.id) == ["submitted", "started"]
    monkeypatch.undo()
    held, claimed = store.finish_and_claim("w1", outcome, ClaimRequest.anything(["diag.noop"], 1))
    assert (held, [j.id for j in claimed]) == ([True], [second.id])
    assert service.get(ADMIN, first.id).result == 1
    store.close()


def test_an_over_long_error_type_is_clipped_not_lost(service: JobService) -> None:
    """The error type column holds 200 characters: a longer exception name must not
    make the outcome fail to record (the job would stay running)."""
    store = service.store
    (job,) = service.submit_many(ADMIN, "diag.noop", [{}])
    store.claim("w1", ["diag.noop"], 1)
    name = "VeryLong" * 40

    held = store.finish(first_run(job.id), Outcome(Status.FAILED, error=JobError(name, "boom")))

    assert held
    failed = service.get(ADMIN, job.id)
    assert failed.status is Status.FAILED
    assert failed.error is not None
    assert failed.error.type == name[:199] + "…"
    assert failed.error.message == "boom"
