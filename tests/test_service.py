"""The service's rules on both databases: submit, list, cancel, restart, delete, report,
bulk actions, wait, purge, and users with their tokens."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Table, func, select, update
from sqlalchemy.exc import IntegrityError

from jobprocessor.auth import PASSWORD_HASHER
from jobprocessor.context import JobContext
from jobprocessor.errors import Conflict, InvalidInput, NotFound, WaitTimeout
from jobprocessor.model import Actor, Job, ReportEntry, Role, Status, StatusGroup, utcnow
from jobprocessor.registry import job
from jobprocessor.service import JobService, ListFilter
from jobprocessor.store import listing
from jobprocessor.store._sql import job_row
from jobprocessor.store.records import NewJob
from jobprocessor.store.tables import job_artifacts, job_entries, job_events, jobs
from support import ADMIN, ALICE, BOB, seed_report, wait_for_status


@job("test_service.report", category="report", title="Monthly report {month}")
def monthly_report(ctx: JobContext, month: int = 1) -> None:
    """A report type, only ever queued here (no worker runs it)."""


# -- helpers ---------------------------------------------------------------------------


def count_rows(service: JobService, table: Table, job_id: int | None = None) -> int:
    statement = select(func.count()).select_from(table)
    if job_id is not None:
        column = table.c.id if table is jobs else table.c.job_id
        statement = statement.where(column == job_id)
    with service.store.engine.connect() as connection:
        return int(connection.execute(statement).scalar_one())


def set_state(service: JobService, job_id: int, status: Status, *, age_days: float = 0) -> Job:
    """Put a job straight into a status, as if a worker had taken it there."""
    now = utcnow()
    values: dict[str, Any] = {"status": status.value}
    if status is not Status.QUEUED:
        values.update(started_at=now - timedelta(days=age_days), worker_id="test-worker")
    if status.is_finished:
        values["finished_at"] = now - timedelta(days=age_days)
    else:
        values["finished_at"] = None
    if status is Status.FAILED:
        values.update(error_type="RuntimeError", error_message="boom")
    if status is Status.SUCCEEDED:
        values["result"] = {"ok": True}
    with service.store.engine.begin() as connection:
        connection.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
    return service.get(ADMIN, job_id)


def submit(
    service: JobService, actor: Actor = ALICE, type_name: str = "diag.count", **params: Any
) -> Job:
    return service.submit(actor, type_name, params)


def finished(service: JobService, actor: Actor = ALICE, status: Status = Status.SUCCEEDED) -> Job:
    return set_state(service, submit(service, actor, n=2).id, status)


def all_ids(service: JobService, actor: Actor = ADMIN, **filters: Any) -> list[int]:
    return [j.id for j in service.list_jobs(actor, ListFilter(limit=500, **filters)).items]


# -- submit ----------------------------------------------------------------------------


def test_submit_stores_validated_params_and_title(service: JobService) -> None:
    job = service.submit(ALICE, "diag.count", {"n": "3"})
    assert job.id > 0
    assert job.status is Status.QUEUED
    assert job.type == "diag.count"
    assert job.category == "diagnostics"
    assert job.params == {"n": 3, "delay": 0.1}  # coerced, defaults filled in
    assert job.title == "Count to 3"
    assert job.submitted_by == "alice"
    assert job.started_at is None
    assert job.finished_at is None
    assert job.restarted_from is None
    stored = service.get(ALICE, job.id)
    assert stored == dataclasses.replace(job, waiting_for="no worker is running")
    events = service.report(ALICE, job.id).events
    assert [(e.event, e.by) for e in events] == [("submitted", "alice")]


def test_submit_with_a_title_and_without_params(service: JobService) -> None:
    job = service.submit(BOB, "diag.noop", None, title="  my own title  ")
    assert job.title == "my own title"
    assert job.params == {}
    assert service.get(BOB, job.id).title == "my own title"


def test_a_long_title_from_the_template_is_clipped(service: JobService) -> None:
    job = service.submit(ALICE, "diag.fail", {"message": "x" * 600})
    assert len(job.title) == 500
    assert job.title.startswith("Fail with xxx")
    assert job.params == {"message": "x" * 600}
    assert service.get(ALICE, job.id).title == job.title


def test_submit_many_is_all_or_nothing(service: JobService) -> None:
    created = service.submit_many(ALICE, "diag.count", [{"n": 1}, {"n": 2}])
    assert [j.params["n"] for j in created] == [1, 2]
    with pytest.raises(InvalidInput, match="n"):
        service.submit_many(ALICE, "diag.count", [{"n": 3}, {"n": "three"}])
    assert count_rows(service, jobs) == 2


def test_submit_many_keeps_the_order_given_with_one_submitted_event_each(
    service: JobService,
) -> None:
    created = service.submit_many(ALICE, "diag.count", [{"n": n} for n in range(300)])
    assert [j.params["n"] for j in created] == list(range(300))
    assert [j.id for j in created] == sorted(j.id for j in created)
    stored = {j.id: j for j in service.list_jobs(ADMIN, ListFilter(limit=500)).items}
    assert all(stored[j.id].params == j.params and j.status is Status.QUEUED for j in created)
    with service.store.reading() as connection:
        events = connection.execute(
            select(job_events.c.job_id, job_events.c.event, job_events.c.by)
        ).all()
    assert sorted(events) == [(j.id, "submitted", "alice") for j in created]


def test_a_submission_the_database_refuses_stores_none_of_its_jobs(
    service: JobService,
) -> None:
    """The store writes a batch in one transaction: a row the database refuses (here a
    title of NULL, which no caller of the service can send) leaves nothing behind."""
    good = NewJob("diag.noop", "diagnostics", "fine", {}, "alice", cancel_grace=1.0)
    bad = dataclasses.replace(good, title=None)  # type: ignore[arg-type]
    now = utcnow()
    with pytest.raises(IntegrityError):
        service.store.backend.submit([job_row(good, now), job_row(bad, now)], by="alice", now=now)
    assert count_rows(service, jobs) == 0
    assert count_rows(service, job_events) == 0
    assert service.submit(ALICE, "diag.noop", None).status is Status.QUEUED


@pytest.mark.parametrize(
    ("type_name", "params", "title", "field"),
    [
        ("diag.nope", {}, None, "diag.nope"),
        ("diag.count", {"n": "many"}, None, "n"),
        ("diag.count", {"delay": [1]}, None, "delay"),
        ("diag.count", {"n": 1, "colour": "red"}, None, "colour"),
        ("diag.count", {}, "", "title"),
        ("diag.count", {}, "   ", "title"),
        ("diag.count", {}, "x" * 501, "title"),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(
    offline_service: JobService,
    type_name: str,
    params: dict[str, Any],
    title: str | None,
    field: str,
) -> None:
    # Refused before the database is reached (offline_service has none to reach).
    with pytest.raises(InvalidInput) as caught:
        offline_service.submit(ALICE, type_name, params, title=title)
    assert field in str(caught.value)
    assert caught.value.exit_code == 2


def test_params_that_are_not_an_object_are_refused(offline_service: JobService) -> None:
    with pytest.raises(InvalidInput, match="JSON object"):
        offline_service.submit(ALICE, "diag.count", [1, 2])  # type: ignore[arg-type]


# -- get -------------------------------------------------------------------------------


@pytest.mark.parametrize("job_id", [0, -1, 999_999])
def test_get_of_a_missing_job_is_not_found(service: JobService, job_id: int) -> None:
    with pytest.raises(NotFound, match=f"job {job_id} not found"):
        service.get(ADMIN, job_id)


# -- cancel ----------------------------------------------------------------------------


def test_cancel_of_a_queued_job_cancels_it_at_once(service: JobService) -> None:
    job = submit(service, n=5)
    canceled = service.cancel(ALICE, job.id)
    assert canceled.status is Status.CANCELED
    assert canceled.cancel_requested_by == "alice"
    assert canceled.cancel_requested_at is not None
    assert canceled.finished_at is not None
    assert canceled.started_at is None
    assert service.get(ALICE, job.id).status is Status.CANCELED
    events = service.report(ALICE, job.id).events
    assert [(e.event, e.by) for e in events] == [
        ("submitted", "alice"),
        ("cancel_requested", "alice"),
        ("canceled", None),
    ]


def test_admin_cancels_another_users_job_and_is_recorded(service: JobService) -> None:
    job = submit(service, ALICE)
    canceled = service.cancel(ADMIN, job.id)
    assert canceled.status is Status.CANCELED
    assert canceled.cancel_requested_by == "admin"


def test_cancel_of_a_running_job_asks_it_to_stop(
    service: JobService, start_worker: Callable[..., Any]
) -> None:
    start_worker(concurrency=1)
    job = submit(service, n=600, delay=0.05)  # 30 s unless canceled
    wait_for_status(service, job.id, Status.RUNNING, timeout=60)
    canceling = service.cancel(ALICE, job.id)
    assert canceling.status is Status.CANCELING
    assert canceling.status.group is StatusGroup.ACTIVE
    assert canceling.cancel_requested_by == "alice"
    assert canceling.finished_at is None
    # A second request while it stops changes nothing and is not refused (unless the
    # job has stopped in between: then it is finished, and a cancel is a conflict).
    try:
        again = service.cancel(ALICE, job.id)
    except Conflict:
        assert service.get(ALICE, job.id).status is Status.CANCELED
    else:
        assert again.status is Status.CANCELING
        assert again.cancel_requested_at == canceling.cancel_requested_at
    done = wait_for_status(
        service, job.id, Status.CANCELED, Status.SUCCEEDED, Status.FAILED, timeout=60
    )
    assert done.status is Status.CANCELED
    assert done.finished_at is not None
    events = [(e.event, e.by) for e in service.report(ALICE, job.id).events]
    assert events[0] == ("submitted", "alice")
    assert ("started", None) in events
    assert events.count(("cancel_requested", "alice")) == 1
    assert events[-1] == ("canceled", None)
    with pytest.raises(Conflict, match="already canceled"):
        service.cancel(ALICE, job.id)


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED, Status.CANCELED])
def test_cancel_of_a_finished_job_is_a_conflict(service: JobService, status: Status) -> None:
    job = finished(service, ALICE, status)
    with pytest.raises(Conflict, match=f"already {status.value}") as caught:
        service.cancel(ALICE, job.id)
    assert caught.value.exit_code == 1
    after = service.get(ALICE, job.id)
    assert after.status is status
    assert after.cancel_requested_by is None


# -- restart ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED, Status.CANCELED])
def test_restart_of_a_finished_job_creates_a_new_one(service: JobService, status: Status) -> None:
    old = service.submit(ALICE, "diag.count", {"n": 4, "delay": 0.5}, title="Mine")
    old = set_state(service, old.id, status)
    new = service.restart(ALICE, old.id)
    assert new.id != old.id
    assert new.id > old.id
    assert new.status is Status.QUEUED
    assert new.type == old.type
    assert new.params == {"n": 4, "delay": 0.5}
    assert new.title == "Mine"
    assert new.restarted_from == old.id
    assert new.submitted_by == "alice"
    assert new.error is None
    assert new.result is None
    assert new.finished_at is None
    # The old job and its report stay as they were.
    kept = service.get(ALICE, old.id)
    assert kept == old
    assert service.report(ALICE, old.id).job == old
    assert service.restarts_of(ALICE, old.id) == [new.id]
    events = [(e.event, e.by, e.detail) for e in service.report(ALICE, new.id).events]
    assert events == [("submitted", "alice", None), ("restarted_from", "alice", f"#{old.id}")]
    again = service.restart(ALICE, old.id)
    assert service.restarts_of(ALICE, old.id) == [new.id, again.id]


@pytest.mark.parametrize("status", [Status.QUEUED, Status.RUNNING, Status.CANCELING])
def test_restart_of_an_active_job_is_a_conflict(service: JobService, status: Status) -> None:
    job = set_state(service, submit(service).id, status)
    with pytest.raises(Conflict, match=f"still {status.value}"):
        service.restart(ALICE, job.id)
    assert count_rows(service, jobs) == 1
    assert service.restarts_of(ALICE, job.id) == []


# -- delete ----------------------------------------------------------------------------


def _with_report(service: JobService, job_id: int) -> None:
    now = utcnow()
    entries = [ReportEntry(now, "INFO", "one"), ReportEntry(now, "WARNING", "two")]
    seed_report(service, job_id, entries, [("out.csv", "text/csv", b"a,b\n")])


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED, Status.CANCELED])
def test_delete_of_a_finished_job_removes_it_and_its_report(
    service: JobService, status: Status
) -> None:
    doomed = finished(service, ALICE, status)
    kept = finished(service, ALICE, status)
    for job_id in (doomed.id, kept.id):
        _with_report(service, job_id)
    report = service.report(ALICE, doomed.id)
    assert [e.message for e in report.entries] == ["one", "two"]
    assert [a.name for a in report.artifacts] == ["out.csv"]
    assert count_rows(service, job_events, doomed.id) >= 1

    assert service.delete(ALICE, doomed.id) is None

    with pytest.raises(NotFound):
        service.get(ALICE, doomed.id)
    with pytest.raises(NotFound):
        service.report(ADMIN, doomed.id)
    for table in (jobs, job_entries, job_artifacts, job_events):
        assert count_rows(service, table, doomed.id) == 0, table.name
    # The other job keeps everything.
    assert count_rows(service, job_entries, kept.id) == 2
    assert count_rows(service, job_artifacts, kept.id) == 1
    assert count_rows(service, job_events, kept.id) >= 1
    with pytest.raises(NotFound):
        service.delete(ALICE, doomed.id)


@pytest.mark.parametrize("status", [Status.QUEUED, Status.RUNNING, Status.CANCELING])
def test_delete_of_an_active_job_is_a_conflict(service: JobService, status: Status) -> None:
    job = set_state(service, submit(service).id, status)
    with pytest.raises(Conflict, match="cancel it"):
        service.delete(ALICE, job.id)
    assert service.get(ALICE, job.id).status is status
    assert count_rows(service, jobs, job.id) == 1


# -- permissions -----------------------------------------------------------------------


def test_a_user_sees_only_their_own_jobs(service: JobService) -> None:
    alices = submit(service, ALICE)
    bobs = submit(service, BOB)
    assert all_ids(service, ALICE) == [alices.id]
    assert all_ids(service, BOB) == [bobs.id]
    assert all_ids(service, ADMIN) == [bobs.id, alices.id]
    # Asking for another user's jobs shows nothing, not theirs.
    assert all_ids(service, BOB, user="alice") == []
    assert all_ids(service, ALICE, user="alice") == [alices.id]
    assert all_ids(service, ADMIN, user="alice") == [alices.id]


def test_another_users_job_is_not_found(service: JobService) -> None:
    queued = submit(service, ALICE)
    done = finished(service, ALICE)
    _with_report(service, done.id)
    missing = 999_999
    calls: list[Callable[[int], Any]] = [
        lambda i: service.get(BOB, i),
        lambda i: service.cancel(BOB, i),
        lambda i: service.restart(BOB, i),
        lambda i: service.delete(BOB, i),
        lambda i: service.report(BOB, i),
        lambda i: service.artifact(BOB, i, "out.csv"),
        lambda i: service.restarts_of(BOB, i),
        lambda i: service.wait(BOB, i, timeout=0),
    ]
    for call in calls:
        for job_id in (queued.id, done.id):
            with pytest.raises(NotFound) as caught:
                call(job_id)
            # Reads exactly like a job that does not exist: its existence does not leak.
            assert str(caught.value) == f"job {job_id} not found"
        with pytest.raises(NotFound, match=f"job {missing} not found"):
            call(missing)
    # Nothing happened to them.
    assert service.get(ALICE, queued.id).status is Status.QUEUED
    assert service.get(ALICE, done.id).status is Status.SUCCEEDED
    assert service.restarts_of(ALICE, done.id) == []
    # Their owner and an admin may act.
    info, data = service.artifact(ALICE, done.id, "out.csv")
    assert (info.name, info.media_type, info.size, data) == ("out.csv", "text/csv", 4, b"a,b\n")
    assert service.cancel(ADMIN, queued.id).status is Status.CANCELED
    assert service.restart(ADMIN, done.id).restarted_from == done.id


def test_artifact_missing_name_is_not_found(service: JobService) -> None:
    done = finished(service, ALICE)
    with pytest.raises(NotFound, match="no file"):
        service.artifact(ALICE, done.id, "nothing.csv")


# -- list ------------------------------------------------------------------------------


@pytest.fixture
def mixed_jobs(service: JobService) -> dict[str, int]:
    """Jobs of two users in every status, of two types and two categories."""
    ids = {
        "alice_queued": submit(service, ALICE, n=1).id,
        "alice_running": set_state(service, submit(service, ALICE, n=2).id, Status.RUNNING).id,
        "bob_canceling": set_state(service, submit(service, BOB, n=3).id, Status.CANCELING).id,
        "bob_succeeded": finished(service, BOB, Status.SUCCEEDED).id,
        "alice_failed": set_state(
            service, service.submit(ALICE, "diag.fail", {}).id, Status.FAILED
        ).id,
        "bob_canceled": finished(service, BOB, Status.CANCELED).id,
        "alice_report": service.submit(ALICE, "test_service.report", {"month": 11}).id,
        "bob_report": service.submit(
            BOB, "test_service.report", {"month": 12}, title="Annual 100%_done"
        ).id,
    }
    return ids


def _ids(mixed: dict[str, int], *names: str) -> list[int]:
    return sorted((mixed[n] for n in names), reverse=True)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            {},
            [
                "alice_queued",
                "alice_running",
                "bob_canceling",
                "bob_succeeded",
                "alice_failed",
                "bob_canceled",
                "alice_report",
                "bob_report",
            ],
        ),
        (
            {"status_group": StatusGroup.ACTIVE},
            ["alice_queued", "alice_running", "bob_canceling", "alice_report", "bob_report"],
        ),
        ({"status_group": StatusGroup.SUCCEEDED}, ["bob_succeeded"]),
        ({"status_group": StatusGroup.FAILED}, ["alice_failed"]),
        ({"status_group": StatusGroup.CANCELED}, ["bob_canceled"]),
        ({"status_group": StatusGroup.FINISHED}, ["bob_succeeded", "alice_failed", "bob_canceled"]),
        ({"status": Status.RUNNING}, ["alice_running"]),
        ({"status": Status.CANCELING}, ["bob_canceling"]),
        ({"status": Status.QUEUED}, ["alice_queued", "alice_report", "bob_report"]),
        ({"status": Status.QUEUED, "status_group": StatusGroup.FINISHED}, []),
        ({"status": Status.FAILED, "status_group": StatusGroup.FINISHED}, ["alice_failed"]),
        ({"user": "alice"}, ["alice_queued", "alice_running", "alice_failed", "alice_report"]),
        ({"user": "bob", "status_group": StatusGroup.FINISHED}, ["bob_succeeded", "bob_canceled"]),
        ({"user": "carol"}, []),
        ({"type": "diag.fail"}, ["alice_failed"]),
        ({"type": "test_service.report"}, ["alice_report", "bob_report"]),
        ({"category": "report"}, ["alice_report", "bob_report"]),
        ({"category": "report", "user": "bob"}, ["bob_report"]),
        ({"q": "monthly"}, ["alice_report"]),  # case-insensitive, part of the title
        ({"q": "REPORT 11"}, ["alice_report"]),
        (
            {"q": "count to"},
            ["alice_queued", "alice_running", "bob_canceling", "bob_succeeded", "bob_canceled"],
        ),
        ({"q": "100%_"}, ["bob_report"]),  # LIKE wildcards are taken literally
        ({"q": "%"}, ["bob_report"]),
        ({"q": "_"}, ["bob_report"]),
        ({"q": "nothing like this"}, []),
        ({"q": "o'brien's"}, []),  # quoted safely where the pattern is written into SQL
        ({"q": "a\\b"}, []),
    ],
)
@pytest.mark.parametrize("title_window", [listing.TITLE_WINDOW, 1], ids=["window", "index"])
def test_list_filters(
    service: JobService,
    mixed_jobs: dict[str, int],
    filters: dict[str, Any],
    expected: list[str],
    title_window: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With a window of one job, a title search finds all but the newest through
    # the title index (pg_trgm or FTS5): both paths must give the same page.
    monkeypatch.setattr(listing, "TITLE_WINDOW", title_window)
    page = service.list_jobs(ADMIN, ListFilter(**filters))
    assert [j.id for j in page.items] == _ids(mixed_jobs, *expected)
    assert page.next_cursor is None


def test_title_search_pages_through_the_index_and_forgets_deleted_jobs(
    service: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small pages and a window of two jobs: most of every page comes from the index."""
    monkeypatch.setattr(listing, "TITLE_WINDOW", 2)
    with service.store.reading() as connection:
        assert listing.has_title_index(connection), "migration 0003 built no title index"
    reports = [
        service.submit(ALICE, "test_service.report", {"month": month}).id for month in range(1, 13)
    ]
    for _ in range(3):
        service.submit(ALICE, "diag.noop", {})

    def pages(q: str, limit: int) -> list[int]:
        seen: list[int] = []
        cursor: str | None = None
        while True:
            page = service.list_jobs(ADMIN, ListFilter(q=q, limit=limit, cursor=cursor))
            seen += [j.id for j in page.items]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor

    newest_first = sorted(reports, reverse=True)
    assert pages("monthly REPORT", 5) == newest_first
    assert pages("report 1", 2) == [reports[11], reports[10], reports[9], reports[0]]
    gone = set_state(service, reports[5], Status.SUCCEEDED).id
    service.delete(ADMIN, gone)
    assert pages("monthly report", 5) == [i for i in newest_first if i != gone]


def test_the_title_index_follows_every_way_jobs_are_stored_and_removed(
    service: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored one at a time or together, restarted, deleted, purged: a search through
    the title index (triggers on the jobs table keep it) finds the jobs there are."""
    monkeypatch.setattr(listing, "TITLE_WINDOW", 1)  # all but the newest from the index
    one = service.submit(ALICE, "test_service.report", {"month": 1}).id
    together = [j.id for j in service.submit_many(ALICE, "test_service.report", [{"month": 2}] * 3)]
    set_state(service, one, Status.FAILED)
    again = service.restart(ALICE, one).id
    service.submit(ALICE, "diag.noop", {})  # the newest: the window's

    def found() -> list[int]:
        return all_ids(service, q="monthly report")

    assert found() == sorted([one, *together, again], reverse=True)
    service.delete(ADMIN, one)
    set_state(service, together[0], Status.SUCCEEDED, age_days=30)
    assert service.purge(older_than_days=5) == 1
    assert found() == sorted([*together[1:], again], reverse=True)
    newer = service.submit(ALICE, "test_service.report", {"month": 12}).id
    bobs = service.submit(BOB, "test_service.report", {"month": 12}).id
    set_state(service, bobs, Status.SUCCEEDED)
    service.submit(ALICE, "diag.noop", {})
    assert all_ids(service, q="report 12") == [bobs, newer]
    # Narrowed in the search table (PostgreSQL) by what never changes, by a status
    # on the jobs table.
    assert all_ids(service, ALICE, q="report 12") == [newer]
    assert all_ids(service, q="report 12", user="bob") == [bobs]
    assert all_ids(service, q="report 12", category="report") == [bobs, newer]
    assert all_ids(service, q="report 12", type="diag.noop") == []
    assert all_ids(service, q="report", status_group=StatusGroup.FINISHED) == [bobs]


@pytest.mark.parametrize("tries", [listing.SEARCH_TRIES, (1,)], ids=["tries", "fallback"])
def test_type_and_queue_filters_page_through_with_and_without_a_status(
    service: JobService, monkeypatch: pytest.MonkeyPatch, tries: tuple[int, ...]
) -> None:
    """Filters by type or queue (on PostgreSQL read through the search table, and with
    a status through its newest matches first), in pages of two: every job once,
    newest first. With tries of one match per row, a status filter falls back."""
    monkeypatch.setattr(listing, "SEARCH_TRIES", tries)
    reports = []
    for month in range(1, 13):
        reports.append(service.submit(ALICE, "test_service.report", {"month": month}).id)
        service.submit(BOB, "diag.noop", {})
    failed = [reports[1], reports[4], reports[8]]
    for job_id in failed:
        set_state(service, job_id, Status.FAILED)

    def pages(**filters: Any) -> list[int]:
        seen: list[int] = []
        cursor: str | None = None
        while True:
            page = service.list_jobs(ADMIN, ListFilter(limit=2, cursor=cursor, **filters))
            seen += [j.id for j in page.items]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor

    newest_first = sorted(reports, reverse=True)
    assert pages(type="test_service.report") == newest_first
    assert pages(queue="report") == newest_first
    assert pages(type="test_service.report", status_group=StatusGroup.FAILED) == failed[::-1]
    assert pages(queue="report", status=Status.QUEUED) == [
        i for i in newest_first if i not in failed
    ]
    assert pages(type="test_service.report", user="bob") == []


def test_list_filters_for_a_plain_user(service: JobService, mixed_jobs: dict[str, int]) -> None:
    assert all_ids(service, BOB, status_group=StatusGroup.FINISHED) == _ids(
        mixed_jobs, "bob_succeeded", "bob_canceled"
    )
    assert all_ids(service, ALICE, category="report") == _ids(mixed_jobs, "alice_report")
    assert all_ids(service, ALICE, user="bob", category="report") == []


@pytest.mark.parametrize(("total", "limit"), [(7, 3), (6, 3), (5, 1), (4, 10)])
def test_keyset_pagination_has_no_gaps_or_duplicates(
    service: JobService, total: int, limit: int
) -> None:
    created = [submit(service, ALICE if i % 2 else BOB, n=i + 1).id for i in range(total)]
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = service.list_jobs(ADMIN, ListFilter(limit=limit, cursor=cursor))
        pages += 1
        assert 1 <= len(page.items) <= limit
        seen += [j.id for j in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
        assert len(page.items) == limit
        assert pages <= total, "pagination does not end"
    assert seen == sorted(created, reverse=True)  # newest first, each once
    assert pages == -(-total // limit)  # no empty page at the end


def test_pagination_with_a_filter_and_new_jobs_in_between(service: JobService) -> None:
    alices = [submit(service, ALICE).id for _ in range(5)]
    for _ in range(3):
        submit(service, BOB)
    first = service.list_jobs(ADMIN, ListFilter(user="alice", limit=2))
    assert [j.id for j in first.items] == alices[::-1][:2]
    assert first.next_cursor is not None
    newer = submit(service, ALICE).id  # arrives while paging: not on later pages
    rest: list[int] = []
    cursor = first.next_cursor
    while cursor is not None:
        page = service.list_jobs(ADMIN, ListFilter(user="alice", limit=2, cursor=cursor))
        rest += [j.id for j in page.items]
        cursor = page.next_cursor
    assert [j.id for j in first.items] + rest == alices[::-1]
    assert newer not in rest


@pytest.mark.parametrize("cursor", ["abc", "-1", "0", "1.5", " 3", "²", "٣"])
def test_an_invalid_cursor_is_invalid_input(offline_service: JobService, cursor: str) -> None:
    with pytest.raises(InvalidInput, match="cursor") as caught:
        offline_service.list_jobs(ADMIN, ListFilter(cursor=cursor))
    assert caught.value.fields == {"cursor": "invalid"}


@pytest.mark.parametrize("limit", [0, -1, 501])
def test_a_limit_out_of_range_is_invalid_input(offline_service: JobService, limit: int) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        offline_service.list_jobs(ADMIN, ListFilter(limit=limit))


def test_limits_at_the_edges_are_accepted(service: JobService) -> None:
    ids = [submit(service).id for _ in range(2)]
    assert [j.id for j in service.list_jobs(ADMIN, ListFilter(limit=500)).items] == ids[::-1]
    page = service.list_jobs(ADMIN, ListFilter(limit=1))
    assert [j.id for j in page.items] == [ids[1]]
    assert page.next_cursor == str(ids[1])


# -- bulk ------------------------------------------------------------------------------


def test_bulk_cancel_reports_each_id(service: JobService) -> None:
    queued = submit(service, ALICE)
    done = finished(service, ALICE)
    bobs = submit(service, BOB)
    results = service.bulk(ALICE, "cancel", [queued.id, done.id, bobs.id, 999_999, queued.id])
    assert [r.id for r in results] == [queued.id, done.id, bobs.id, 999_999]  # duplicates once
    assert [r.ok for r in results] == [True, False, False, False]
    assert results[0].error is None
    assert results[0].job is not None
    assert results[0].job.status is Status.CANCELED
    assert results[1].error is not None
    assert "already succeeded" in results[1].error
    assert results[1].job is None
    assert results[2].error == f"job {bobs.id} not found"
    assert results[3].error == "job 999999 not found"
    assert service.get(BOB, bobs.id).status is Status.QUEUED
    as_dict = results[0].to_dict()
    assert set(as_dict) == {"id", "ok", "error", "job"}
    assert as_dict["job"]["status"] == "canceled"
    assert results[1].to_dict() == {
        "id": done.id,
        "ok": False,
        "error": results[1].error,
        "job": None,
    }


def test_bulk_restart_and_delete_with_mixed_outcomes(service: JobService) -> None:
    done = finished(service, ALICE, Status.FAILED)
    active = submit(service, ALICE)
    restarted = service.bulk(ALICE, "restart", [done.id, active.id])
    assert [r.ok for r in restarted] == [True, False]
    assert restarted[0].job is not None
    assert restarted[0].job.restarted_from == done.id
    assert restarted[1].error is not None
    assert "still queued" in restarted[1].error

    deleted = service.bulk(ALICE, "delete", [active.id, done.id])
    assert [(r.id, r.ok) for r in deleted] == [(active.id, False), (done.id, True)]
    assert deleted[1].job is None
    assert deleted[0].error is not None
    assert "cancel it" in deleted[0].error
    assert count_rows(service, jobs, done.id) == 0
    assert count_rows(service, jobs, active.id) == 1


def test_bulk_with_an_unknown_action_is_invalid_input(service: JobService) -> None:
    job = submit(service)
    with pytest.raises(InvalidInput, match="unknown action"):
        service.bulk(ADMIN, "explode", [job.id])
    assert service.get(ADMIN, job.id).status is Status.QUEUED


# -- wait ------------------------------------------------------------------------------


def test_wait_returns_when_the_job_finishes(
    service: JobService, start_worker: Callable[..., Any]
) -> None:
    start_worker(concurrency=1)
    job = submit(service, n=3, delay=0.01)
    done = service.wait(ALICE, job.id, timeout=90, poll=0.05)
    assert done.status is Status.SUCCEEDED
    assert done.result == {"counted": 3}
    report = service.report(ALICE, job.id)
    assert [e.level for e in report.entries] == ["INFO", "WARNING"]
    assert [(a.name, a.media_type) for a in report.artifacts] == [("numbers.csv", "text/csv")]
    assert report.job.progress.fraction == 1.0


def test_wait_on_a_finished_job_returns_at_once(service: JobService) -> None:
    job = finished(service, ALICE, Status.FAILED)
    assert service.wait(ALICE, job.id, timeout=0).status is Status.FAILED


@pytest.mark.parametrize("timeout", [0, 0.3])
def test_wait_times_out_on_a_job_that_does_not_finish(service: JobService, timeout: float) -> None:
    job = submit(service)
    with pytest.raises(WaitTimeout, match="still queued") as caught:
        service.wait(ALICE, job.id, timeout=timeout, poll=0.05)
    assert caught.value.exit_code == 4


# -- purge -----------------------------------------------------------------------------


@contextlib.contextmanager
def counting_writes(service: JobService) -> Iterator[list[int]]:
    """Count the write transactions the store opens."""
    original = service.store.writing
    calls: list[int] = []

    @contextlib.contextmanager
    def writing() -> Iterator[Any]:
        calls.append(1)
        with original() as connection:
            yield connection

    service.store.writing = writing  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        service.store.writing = original  # type: ignore[method-assign]


def test_purge_deletes_only_old_finished_jobs_in_batches(service: JobService) -> None:
    old = [
        set_state(service, submit(service).id, status, age_days=10).id
        for status in (
            Status.SUCCEEDED,
            Status.FAILED,
            Status.CANCELED,
            Status.SUCCEEDED,
            Status.FAILED,
        )
    ]
    for job_id in old:
        _with_report(service, job_id)
    recent = set_state(service, submit(service).id, Status.SUCCEEDED, age_days=1).id
    old_but_active = set_state(service, submit(service).id, Status.RUNNING, age_days=10).id
    queued = submit(service).id
    _with_report(service, recent)

    with counting_writes(service) as writes:
        purged = service.purge(older_than_days=5, batch_size=2)

    assert purged == 5
    assert len(writes) == 3  # batches of 2, 2 and 1
    remaining = all_ids(service)
    assert remaining == sorted([recent, old_but_active, queued], reverse=True)
    for job_id in old:
        for table in (jobs, job_entries, job_artifacts, job_events):
            assert count_rows(service, table, job_id) == 0, table.name
    assert count_rows(service, job_entries, recent) == 2
    assert count_rows(service, job_artifacts, recent) == 1
    assert service.purge(older_than_days=5, batch_size=2) == 0


def test_purge_of_an_exact_multiple_of_the_batch(service: JobService) -> None:
    old = [
        set_state(service, submit(service).id, Status.SUCCEEDED, age_days=3).id for _ in range(4)
    ]
    assert service.purge(older_than_days=2, batch_size=2) == 4
    assert all(count_rows(service, jobs, i) == 0 for i in old)
    assert count_rows(service, jobs) == 0


# -- users and tokens ------------------------------------------------------------------


def test_add_user_and_duplicate(service: JobService) -> None:
    user = service.add_user("carol", role=Role.ADMIN, password="secret", display_name="Carol C.")
    assert (user.name, user.display_name, user.role) == ("carol", "Carol C.", Role.ADMIN)
    assert service.users.get("carol") == user
    plain = service.add_user("dave.d@example-1_x")
    assert plain.role is Role.USER
    assert plain.display_name == "dave.d@example-1_x"
    with pytest.raises(Conflict, match="carol"):
        service.add_user("carol", role=Role.USER)
    assert service.users.get("carol") == user  # unchanged
    assert [u.name for u in service.users.all()] == ["carol", "dave.d@example-1_x"]


@pytest.mark.parametrize("name", ["", "with space", "x" * 151, "ümlaut", "semi;colon", "a/b"])
def test_a_bad_user_name_is_invalid_input(offline_service: JobService, name: str) -> None:
    with pytest.raises(InvalidInput, match="user names") as caught:
        offline_service.add_user(name, password="a password")
    assert caught.value.fields == {"name": "invalid"}


def test_authenticate(service: JobService) -> None:
    service.add_user("carol", password="correct horse")
    service.add_user("nopass")
    user = service.authenticate("carol", "correct horse")
    assert user is not None
    assert user.name == "carol"
    assert service.authenticate("carol", "wrong") is None
    assert service.authenticate("carol", "") is None
    assert service.authenticate("nobody", "correct horse") is None
    assert service.authenticate("nopass", "") is None
    # The hash is the given hasher's (the tests' cheap one); a service hashes with
    # argon2's defaults unless it is given another.
    assert (service.users.password_hash("carol") or "").startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert JobService(service.store, service.users).password_hasher is PASSWORD_HASHER


def test_tokens_map_back_to_their_user(service: JobService) -> None:
    service.add_user("carol", role=Role.ADMIN)
    service.add_user("dave")
    carol_token = service.create_token("carol")
    second = service.create_token("carol")
    dave_token = service.create_token("dave")
    assert len({carol_token, second, dave_token}) == 3
    assert carol_token.startswith("jp_")
    carol = service.user_for_token(carol_token)
    assert carol is not None
    assert (carol.name, carol.role) == ("carol", Role.ADMIN)
    found = service.user_for_token(second)
    assert found is not None
    assert found.name == "carol"
    dave = service.user_for_token(dave_token)
    assert dave is not None
    assert (dave.name, dave.role) == ("dave", Role.USER)
    assert service.user_for_token("jp_unknown") is None
    assert service.user_for_token("") is None
    assert service.user_for_token(carol_token + "x") is None


def test_a_token_for_an_unknown_user_is_not_found(service: JobService) -> None:
    with pytest.raises(NotFound, match="nobody"):
        service.create_token("nobody")


def test_actor_for_uses_the_users_role(service: JobService) -> None:
    service.add_user("carol", role=Role.ADMIN)
    service.add_user("dave", role=Role.USER)
    assert service.actor_for("carol") == Actor("carol", Role.ADMIN)
    assert service.actor_for("dave") == Actor("dave", Role.USER)
    assert service.actor_for("stranger") == Actor("stranger", Role.USER)


@pytest.mark.parametrize("group", list(StatusGroup))
def test_status_groups_page_newest_first_across_their_statuses(
    service: JobService, group: StatusGroup
) -> None:
    created = [submit(service, ALICE if i % 3 else BOB, n=i + 1).id for i in range(15)]
    cycle = list(Status)
    with service.store.writing() as connection:
        for i, job_id in enumerate(created):
            connection.execute(
                update(jobs).where(jobs.c.id == job_id).values(status=cycle[i % len(cycle)].value)
            )
    expected = [
        job_id
        for i, job_id in sorted(enumerate(created), key=lambda pair: -pair[1])
        if cycle[i % len(cycle)] in group.statuses
    ]
    assert paged_ids(service, ADMIN, 2, status_group=group) == expected
    alices = [j for i, j in enumerate(created) if i % 3 and j in expected]
    assert paged_ids(service, ALICE, 3, status_group=group) == sorted(alices, reverse=True)


def paged_ids(service: JobService, actor: Actor, limit: int, **filters: Any) -> list[int]:
    """Every id of a filtered list, read page by page with the cursors."""
    ids: list[int] = []
    cursor = None
    while True:
        page = service.list_jobs(actor, ListFilter(limit=limit, cursor=cursor, **filters))
        ids += [job.id for job in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor
