"""Schedules in the console and the REST API, on both databases (admins only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from jobprocessor.recurring_jobs import submit_due
from jobprocessor.service import JobService
from jobprocessor.ticks import Missed, Schedule
from support import ADMIN
from web_support import People, sign_in

#: Far ahead of the real clock: the app's own ticker submits due ticks at the real
#: time, and must never find one of these tests' schedules due.
START = datetime(2099, 11, 30, 5, 0, tzinfo=UTC)
NIGHTLY = Schedule("nightly", "0 2 * * *", "diag.noop", {}, "Europe/Berlin", "alice", Missed.SKIP)


def test_admins_see_schedules_and_pause_and_resume_them(
    client: TestClient, people: People, service: JobService
) -> None:
    service.schedules.add(ADMIN, NIGHTLY, now=START)
    token = sign_in(client, "admin")
    page = client.get("/schedules").text
    assert "nightly" in page
    assert "At 02:00 AM" in page
    assert "Europe/Berlin" in page
    assert 'action="/schedules/nightly/pause"' in page

    refused = client.post("/schedules/nightly/pause", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert not service.schedules.get(ADMIN, "nightly").stored.paused

    paused = client.post("/schedules/nightly/pause", data={"csrf_token": token})
    assert paused.status_code == 303
    assert service.schedules.get(ADMIN, "nightly").stored.paused
    after = client.get(paused.headers["location"]).text
    assert "Schedule nightly paused" in after
    assert 'action="/schedules/nightly/resume"' in after
    client.post("/schedules/nightly/resume", data={"csrf_token": token})
    assert not service.schedules.get(ADMIN, "nightly").stored.paused


def test_users_may_not_see_schedules(
    client: TestClient, people: People, service: JobService
) -> None:
    service.schedules.add(ADMIN, NIGHTLY, now=START)
    sign_in(client, "alice")
    assert client.get("/schedules").status_code == 403
    assert client.get("/api/v1/schedules", headers=people.auth("alice")).status_code == 403


def test_the_rest_api_lists_pauses_and_resumes(
    client: TestClient, people: People, service: JobService
) -> None:
    service.schedules.add(ADMIN, NIGHTLY, now=START)
    admin = people.auth("admin")
    (listed,) = client.get("/api/v1/schedules", headers=admin).json()
    assert listed["name"] == "nightly"
    assert listed["next_run_at"] == "2099-12-01T01:00:00.000Z"  # 02:00 CET
    paused = client.post("/api/v1/schedules/nightly/pause", headers=admin).json()
    assert paused["paused"] is True
    assert client.post("/api/v1/schedules/nightly/resume", headers=admin).json()["paused"] is False
    assert client.post("/api/v1/schedules/nope/pause", headers=admin).status_code == 404


def test_a_scheduled_job_shows_its_schedule(
    client: TestClient, people: People, service: JobService
) -> None:
    service.schedules.add(ADMIN, NIGHTLY, now=START)
    (job,) = submit_due(service.store, service.types, now=START + timedelta(hours=20, seconds=5))
    document = client.get(f"/api/v1/jobs/{job.id}", headers=people.auth("alice")).json()
    assert (document["schedule"], document["scheduled_for"]) == (
        "nightly",
        "2099-12-01T01:00:00.000Z",
    )
    sign_in(client, "admin")
    report = client.get(f"/jobs/{job.id}").text
    assert 'href="/schedules#nightly"' in report
