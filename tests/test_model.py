"""The job domain: statuses, status groups, the job's JSON.

As docs/reference/statuses.md and docs/reference/job-json.md describe them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from contract import CONTRACT_JOB_KEYS, ISO_Z
from jobprocessor.model import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    Actor,
    Job,
    JobError,
    Progress,
    Role,
    Status,
    StatusGroup,
    iso,
)

# -- statuses and groups --------------------------------------------------------------


def test_status_values_are_the_contracts() -> None:
    assert {s.value for s in Status} == {
        "queued",
        "running",
        "canceling",
        "succeeded",
        "failed",
        "canceled",
    }
    assert {g.value for g in StatusGroup} == {
        "active",
        "succeeded",
        "failed",
        "canceled",
        "finished",
        "all",
    }


@pytest.mark.parametrize(
    ("group", "statuses"),
    [
        (StatusGroup.ACTIVE, {"queued", "running", "canceling"}),
        (StatusGroup.SUCCEEDED, {"succeeded"}),
        (StatusGroup.FAILED, {"failed"}),
        (StatusGroup.CANCELED, {"canceled"}),
        (StatusGroup.FINISHED, {"succeeded", "failed", "canceled"}),
        (StatusGroup.ALL, {"queued", "running", "canceling", "succeeded", "failed", "canceled"}),
    ],
)
def test_status_group_statuses(group: StatusGroup, statuses: set[str]) -> None:
    assert {s.value for s in group.statuses} == statuses


@pytest.mark.parametrize(
    ("status", "group"),
    [
        (Status.QUEUED, StatusGroup.ACTIVE),
        (Status.RUNNING, StatusGroup.ACTIVE),
        (Status.CANCELING, StatusGroup.ACTIVE),
        (Status.SUCCEEDED, StatusGroup.SUCCEEDED),
        (Status.FAILED, StatusGroup.FAILED),
        (Status.CANCELED, StatusGroup.CANCELED),
    ],
)
def test_each_status_has_its_group(status: Status, group: StatusGroup) -> None:
    assert status.group is group
    assert status in group.statuses
    assert status in StatusGroup.ALL.statuses
    assert status.is_active is (group is StatusGroup.ACTIVE)
    assert status.is_finished is (group is not StatusGroup.ACTIVE)
    assert (status in StatusGroup.FINISHED.statuses) is status.is_finished


def test_active_and_finished_partition_all_statuses() -> None:
    assert ACTIVE_STATUSES.isdisjoint(FINISHED_STATUSES)
    assert frozenset(Status) == ACTIVE_STATUSES | FINISHED_STATUSES


def test_status_group_from_string_rejects_unknown() -> None:
    assert StatusGroup("finished") is StatusGroup.FINISHED
    with pytest.raises(ValueError):
        StatusGroup("done")


# -- progress -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "total", "fraction"),
    [
        (3, 10, 0.3),
        (0, 10, 0.0),
        (10, 10, 1.0),
        (15, 10, 1.0),  # over the total: clipped
        (-1, 10, 0.0),  # below zero: clipped
        (1, 3, 1 / 3),
        (None, 10, None),  # nothing done yet
        (3, None, None),  # no total known
        (3, 0, None),  # a zero total has no fraction (no division by zero)
        (None, None, None),
    ],
)
def test_progress_fraction(done: float | None, total: float | None, fraction: float | None) -> None:
    progress = Progress(done, total, "m")
    if fraction is None:
        assert progress.fraction is None
    else:
        assert progress.fraction == pytest.approx(fraction)
    assert progress.to_dict() == {
        "done": done,
        "total": total,
        "fraction": progress.fraction,
        "message": "m",
    }


# -- times ----------------------------------------------------------------------------


def test_iso_is_utc_with_z_and_milliseconds() -> None:
    assert iso(datetime(2026, 11, 24, 21, 40, 0, 123456, tzinfo=UTC)) == "2026-11-24T21:40:00.123Z"
    plus_two = timezone(timedelta(hours=2))
    assert iso(datetime(2026, 11, 24, 23, 40, tzinfo=plus_two)) == "2026-11-24T21:40:00.000Z"
    assert iso(None) is None


# -- the job's JSON -------------------------------------------------------------------


def _job(**overrides: object) -> Job:
    values: dict[str, object] = {
        "id": 42,
        "type": "diag.count",
        "category": "diagnostics",
        "title": "Count to 10",
        "status": Status.RUNNING,
        "params": {"n": 10, "delay": 0.1},
        "submitted_by": "alice",
        "created_at": datetime(2026, 11, 24, 21, 40, 0, 123000, tzinfo=UTC),
        "started_at": datetime(2026, 11, 24, 21, 40, 1, tzinfo=UTC),
        "progress": Progress(3, 10, "step 3 of 10"),
        "queue": "diagnostics",
    }
    values.update(overrides)
    return Job(**values)  # type: ignore[arg-type]


def test_job_to_dict_matches_the_contract_key_for_key() -> None:
    document = _job().to_dict()
    assert list(document) == CONTRACT_JOB_KEYS
    assert document == {
        "id": 42,
        "type": "diag.count",
        "category": "diagnostics",
        "title": "Count to 10",
        "status": "running",
        "status_group": "active",
        "params": {"n": 10, "delay": 0.1},
        "submitted_by": "alice",
        "created_at": "2026-11-24T21:40:00.123Z",
        "started_at": "2026-11-24T21:40:01.000Z",
        "finished_at": None,
        "progress": {"done": 3, "total": 10, "fraction": 0.3, "message": "step 3 of 10"},
        "restarted_from": None,
        "cancel_requested_by": None,
        "cancel_requested_at": None,
        "error": None,
        "result": None,
        "queue": "diagnostics",
        "priority": 0,
        "timeout": None,
        "run_at": None,
        "waiting_for": None,
        "schedule": None,
        "scheduled_for": None,
    }
    # Internals stay out of the documented object.
    for internal in (
        "limit_key",
        "concurrency_limit",
        "attempts",
        "max_retries",
        "cancel_grace",
        "worker_id",
    ):
        assert internal not in document
    # It is JSON as it stands.
    assert json.loads(json.dumps(document)) == document


def test_job_to_dict_of_a_failed_restarted_job() -> None:
    job = _job(
        status=Status.FAILED,
        finished_at=datetime(2026, 11, 24, 21, 41, tzinfo=timezone(timedelta(hours=-5))),
        restarted_from=7,
        cancel_requested_by="bob",
        cancel_requested_at=datetime(2026, 11, 24, 21, 40, 30, tzinfo=UTC),
        error=JobError("ValueError", "bad", "Traceback (most recent call last): ..."),
        result={"partial": True},
        progress=Progress(),
    )
    document = job.to_dict()
    assert document["status"] == "failed"
    assert document["status_group"] == "failed"
    assert document["finished_at"] == "2026-11-25T02:41:00.000Z"
    assert document["cancel_requested_at"] == "2026-11-24T21:40:30.000Z"
    for key in ("created_at", "started_at", "finished_at", "cancel_requested_at"):
        assert ISO_Z.match(document[key]), (key, document[key])
    assert document["restarted_from"] == 7
    assert document["cancel_requested_by"] == "bob"
    assert document["error"] == {
        "type": "ValueError",
        "message": "bad",
        "traceback": "Traceback (most recent call last): ...",
    }
    assert document["result"] == {"partial": True}
    assert document["progress"] == {"done": None, "total": None, "fraction": None, "message": None}


@pytest.mark.parametrize("status", list(Status))
def test_job_status_group_in_json_follows_status(status: Status) -> None:
    document = _job(status=status).to_dict()
    assert document["status"] == status.value
    assert document["status_group"] == status.group.value


# -- actors ---------------------------------------------------------------------------


def test_actor_may_see_own_jobs_admin_all() -> None:
    job = _job(submitted_by="alice")
    assert Actor("alice").may_see(job)
    assert not Actor("bob").may_see(job)
    assert Actor("root", Role.ADMIN).may_see(job)
    assert Actor("root", Role.ADMIN).is_admin
    assert not Actor("alice").is_admin
