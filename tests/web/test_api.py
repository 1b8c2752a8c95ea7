"""The REST API (docs/reference/rest.md) on both databases: every endpoint, its errors and
permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from contract import CONTRACT_JOB_KEYS
from jobprocessor.model import Status
from jobprocessor.service import JobService
from support import ADMIN, ALICE, BOB, wait_for_status
from web_support import People, sign_in

ENDPOINTS = [
    ("GET", "/api/v1/jobs"),
    ("POST", "/api/v1/jobs"),
    ("GET", "/api/v1/jobs/1"),
    ("GET", "/api/v1/jobs/1/report"),
    ("GET", "/api/v1/jobs/1/artifacts/numbers.csv"),
    ("POST", "/api/v1/jobs/1/cancel"),
    ("POST", "/api/v1/jobs/1/restart"),
    ("DELETE", "/api/v1/jobs/1"),
    ("POST", "/api/v1/jobs/bulk/cancel"),
    ("GET", "/api/v1/job-types"),
    ("GET", "/api/v1/users"),
    ("GET", "/api/v1/workers"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/metrics"),
]


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return body["error"]  # type: ignore[no-any-return]


def test_health_needs_no_sign_in(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_anonymous_callers(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path, json={"ids": [1], "type": "diag.count"})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


@pytest.mark.parametrize("header", ["Bearer nonsense", "Basic YWRtaW46YWRtaW4=", "Bearer "])
def test_a_wrong_token_is_refused(client: TestClient, people: People, header: str) -> None:
    response = client.get("/api/v1/jobs", headers={"Authorization": header})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_submit_answers_the_contracts_job(client: TestClient, people: People) -> None:
    response = client.post(
        "/api/v1/jobs",
        json={"type": "diag.count", "params": {"n": 3}, "title": "Three"},
        headers=people.auth("alice"),
    )
    assert response.status_code == 201
    job = response.json()
    assert list(job) == CONTRACT_JOB_KEYS
    assert job["params"] == {"n": 3, "delay": 0.1}
    assert (job["title"], job["status"], job["submitted_by"]) == ("Three", "queued", "alice")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "diag.count", "params": {"n": "many"}}, "n"),
        ({"type": "diag.count", "params": {"bogus": 1}}, "bogus"),
        ({"type": "no.such.type"}, "type"),
        ({"type": "diag.count", "title": ""}, "title"),
        ({"type": "diag.count", "params": {"n": 2, "delay": 0.1}, "extra": 1}, "extra"),
        ({"type": "diag.fail", "params": {"message": "nul\u0000byte"}}, "message"),
        ({"params": {}}, "type"),
    ],
)
def test_bad_submissions_name_the_field_and_store_nothing(
    client: TestClient, people: People, service: JobService, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/jobs", json=body, headers=people.auth("alice"))
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_input"
    assert field in error["message"]
    assert service.store.count_by_status() == {}


def test_body_that_is_not_json_is_a_422(client: TestClient, people: People) -> None:
    response = client.post(
        "/api/v1/jobs",
        content=b"{not json",
        headers={**people.auth("alice"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_input"


def test_a_body_over_the_limit_is_a_413(client: TestClient, people: People) -> None:
    huge = {"type": "diag.fail", "params": {"message": "x" * 2_000_000}}
    response = client.post("/api/v1/jobs", json=huge, headers=people.auth("alice"))
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"


def test_list_is_newest_first_and_pages_with_a_cursor(
    client: TestClient, people: People, service: JobService
) -> None:
    ids = [service.submit(ALICE, "diag.count", {"n": i}).id for i in range(7)]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/jobs", params=params, headers=people.auth("admin")).json()
        seen += [job["id"] for job in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)


def test_list_filters(
    client: TestClient, people: People, service: JobService, start_worker: Callable[..., Any]
) -> None:
    done = service.submit(ALICE, "diag.count", {"n": 1, "delay": 0})
    worker = start_worker(concurrency=1)
    wait_for_status(service, done.id, Status.SUCCEEDED)
    worker.stop()
    queued = service.submit(ALICE, "diag.fail", {}, title="Quarterly report")
    canceled = service.submit(BOB, "diag.count", {"n": 9})
    service.cancel(BOB, canceled.id)

    def ids(**params: Any) -> list[int]:
        response = client.get("/api/v1/jobs", params=params, headers=people.auth("admin"))
        assert response.status_code == 200, response.text
        return [job["id"] for job in response.json()["items"]]

    assert ids(status_group="finished") == [canceled.id, done.id]
    assert ids(status_group="succeeded") == [done.id]
    assert ids(status_group="canceled", user="bob") == [canceled.id]
    assert ids(status="canceled") == [canceled.id]
    assert ids(status_group="active", status="canceled") == []
    assert ids(user="alice") == [queued.id, done.id]
    assert ids(type="diag.fail") == [queued.id]
    assert ids(category="diagnostics", q="quarter") == [queued.id]
    assert ids(q="no such title") == []


@pytest.mark.parametrize(
    ("params", "field", "hint"),
    [
        ({"status_group": "bogus"}, "status_group", "finished"),
        ({"status": "done"}, "status", "succeeded"),
        ({"limit": 0}, "limit", "1"),
        ({"limit": 501}, "limit", "500"),
        ({"cursor": "abc"}, "cursor", "cursor"),
        ({"user": "a\u0000b"}, "user", "pattern"),
    ],
)
def test_unknown_filter_values_say_what_is_allowed(
    client: TestClient, people: People, params: dict[str, Any], field: str, hint: str
) -> None:
    response = client.get("/api/v1/jobs", params=params, headers=people.auth("admin"))
    assert response.status_code == 422
    error = error_of(response)
    assert field in error["message"]
    assert hint in error["message"]


def test_a_user_sees_and_acts_on_their_own_jobs_only(
    client: TestClient, people: People, service: JobService
) -> None:
    alices = service.submit(ALICE, "diag.count", {"n": 1})
    bobs = service.submit(BOB, "diag.count", {"n": 1})
    listed = client.get("/api/v1/jobs", headers=people.auth("alice")).json()["items"]
    assert [job["id"] for job in listed] == [alices.id]
    asked_for_bob = client.get("/api/v1/jobs", params={"user": "bob"}, headers=people.auth("alice"))
    assert asked_for_bob.json()["items"] == []
    for method, path in [
        ("GET", f"/api/v1/jobs/{bobs.id}"),
        ("GET", f"/api/v1/jobs/{bobs.id}/report"),
        ("POST", f"/api/v1/jobs/{bobs.id}/cancel"),
        ("POST", f"/api/v1/jobs/{bobs.id}/restart"),
        ("DELETE", f"/api/v1/jobs/{bobs.id}"),
    ]:
        response = client.request(method, path, headers=people.auth("alice"))
        assert response.status_code == 404, (method, path)
        assert error_of(response)["code"] == "not_found"
    assert service.get(ADMIN, bobs.id).status is Status.QUEUED
    admin_view = client.get(f"/api/v1/jobs/{bobs.id}", headers=people.auth("admin"))
    assert admin_view.status_code == 200
    assert admin_view.json()["submitted_by"] == "bob"


@pytest.mark.parametrize("job_id", ["0", "-3", "abc", str(2**63)])
def test_ids_that_cannot_name_a_job_are_refused(
    client: TestClient, people: People, job_id: str
) -> None:
    response = client.get(f"/api/v1/jobs/{job_id}", headers=people.auth("admin"))
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_input"


def test_a_missing_job_is_a_404(client: TestClient, people: People) -> None:
    response = client.get("/api/v1/jobs/999999", headers=people.auth("admin"))
    assert response.status_code == 404
    assert "999999" in error_of(response)["message"]


def test_cancel_restart_delete_follow_the_rules(
    client: TestClient, people: People, service: JobService
) -> None:
    auth = people.auth("alice")
    job = service.submit(ALICE, "diag.count", {"n": 4})
    canceled = client.post(f"/api/v1/jobs/{job.id}/cancel", headers=auth)
    assert canceled.status_code == 202
    assert (canceled.json()["status"], canceled.json()["cancel_requested_by"]) == (
        "canceled",
        "alice",
    )
    again = client.post(f"/api/v1/jobs/{job.id}/cancel", headers=auth)
    assert again.status_code == 409
    assert error_of(again)["code"] == "conflict"

    restarted = client.post(f"/api/v1/jobs/{job.id}/restart", headers=auth)
    assert restarted.status_code == 201
    new = restarted.json()
    assert (new["restarted_from"], new["params"], new["status"]) == (job.id, job.params, "queued")
    assert client.post(f"/api/v1/jobs/{new['id']}/restart", headers=auth).status_code == 409
    assert client.delete(f"/api/v1/jobs/{new['id']}", headers=auth).status_code == 409

    deleted = client.delete(f"/api/v1/jobs/{job.id}", headers=auth)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get(f"/api/v1/jobs/{job.id}", headers=auth).status_code == 404


def test_bulk_actions_answer_per_id(
    client: TestClient, people: People, service: JobService
) -> None:
    queued = service.submit(ALICE, "diag.count", {"n": 1})
    finished = service.submit(ALICE, "diag.count", {"n": 2})
    service.cancel(ALICE, finished.id)
    bobs = service.submit(BOB, "diag.count", {"n": 3})
    response = client.post(
        "/api/v1/jobs/bulk/cancel",
        json={"ids": [queued.id, finished.id, bobs.id, queued.id]},
        headers=people.auth("alice"),
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["id"], r["ok"]) for r in results] == [
        (queued.id, True),
        (finished.id, False),
        (bobs.id, False),
    ]
    assert results[0]["job"]["status"] == "canceled"
    assert "already canceled" in results[1]["error"]
    assert "not found" in results[2]["error"]
    assert results[1]["job"] is None

    restart = client.post(
        "/api/v1/jobs/bulk/restart", json={"ids": [finished.id]}, headers=people.auth("alice")
    ).json()["results"]
    assert restart[0]["ok"]
    assert restart[0]["job"]["restarted_from"] == finished.id
    delete = client.post(
        "/api/v1/jobs/bulk/delete",
        json={"ids": [finished.id, queued.id]},
        headers=people.auth("alice"),
    ).json()["results"]
    assert [r["ok"] for r in delete] == [True, True]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/jobs/bulk/explode", {"ids": [1]}),
        ("/api/v1/jobs/bulk/cancel", {"ids": []}),
        ("/api/v1/jobs/bulk/cancel", {"ids": ["x"]}),
        ("/api/v1/jobs/bulk/cancel", {"ids": [0]}),
        ("/api/v1/jobs/bulk/cancel", {"ids": list(range(1, 502))}),
        ("/api/v1/jobs/bulk/cancel", {}),
    ],
)
def test_bad_bulk_requests_are_refused(
    client: TestClient, people: People, path: str, body: dict[str, Any]
) -> None:
    response = client.post(path, json=body, headers=people.auth("admin"))
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_input"


def test_report_with_files_and_timeline(
    client: TestClient, people: People, service: JobService, start_worker: Callable[..., Any]
) -> None:
    job = service.submit(ALICE, "diag.count", {"n": 3, "delay": 0})
    start_worker(concurrency=1)
    wait_for_status(service, job.id, Status.SUCCEEDED)
    report = client.get(f"/api/v1/jobs/{job.id}/report", headers=people.auth("alice")).json()
    assert set(report) == {"job", "result", "entries", "artifacts", "events"}
    assert report["result"] == {"counted": 3}
    assert {"at", "level", "message"} <= set(report["entries"][0])
    assert ("WARNING", "done, with a warning") in [
        (e["level"], e["message"]) for e in report["entries"]
    ]
    assert [e["event"] for e in report["events"]] == ["submitted", "started", "succeeded"]
    assert report["events"][0]["by"] == "alice"
    (artifact,) = report["artifacts"]
    assert artifact == {
        "name": "numbers.csv",
        "media_type": "text/csv",
        "size": len("i\n1\n2\n3\n"),
        "url": f"/api/v1/jobs/{job.id}/artifacts/numbers.csv",
    }
    download = client.get(artifact["url"], headers=people.auth("alice"))
    assert download.status_code == 200
    assert download.content == b"i\n1\n2\n3\n"
    assert download.headers["content-type"].startswith("text/csv")
    assert "sandbox" in download.headers["content-security-policy"]
    attachment = client.get(artifact["url"], params={"download": 1}, headers=people.auth("alice"))
    assert attachment.headers["content-disposition"].startswith("attachment;")
    assert client.get(artifact["url"], headers=people.auth("bob")).status_code == 404


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e/%2e%2e/etc/passwd", "nope", "a%00b"],
)
def test_artifact_names_cannot_reach_other_files(
    client: TestClient, people: People, service: JobService, name: str
) -> None:
    job = service.submit(ALICE, "diag.count", {"n": 1})
    response = client.get(f"/api/v1/jobs/{job.id}/artifacts/{name}", headers=people.auth("admin"))
    assert response.status_code == (422 if "%00" in name else 404)
    assert "root:" not in response.text


def test_job_types_carry_their_parameter_schema(client: TestClient, people: People) -> None:
    types = {
        t["name"]: t for t in client.get("/api/v1/job-types", headers=people.auth("bob")).json()
    }
    count = types["diag.count"]
    assert (count["category"], count["title"]) == ("diagnostics", "Count to {n}")
    assert set(count["params_schema"]["properties"]) == {"n", "delay"}
    assert types["diag.locked"]["lock"] == "diag:{key}"


def test_users_for_the_filter(client: TestClient, people: People) -> None:
    everyone = client.get("/api/v1/users", headers=people.auth("admin")).json()
    assert [u["name"] for u in everyone] == ["admin", "alice", "bob"]
    assert everyone[1] == {"name": "alice", "display_name": "Alice A.", "role": "user"}
    only_me = client.get("/api/v1/users", headers=people.auth("bob")).json()
    assert [u["name"] for u in only_me] == ["bob"]


def test_workers_are_for_admins(
    client: TestClient, people: People, service: JobService, start_worker: Callable[..., Any]
) -> None:
    job = service.submit(ALICE, "diag.hook", {"seconds": 30})
    worker = start_worker(concurrency=2)
    wait_for_status(service, job.id, Status.RUNNING)
    listed = client.get("/api/v1/workers", headers=people.auth("admin")).json()
    (mine,) = [w for w in listed if w["id"] == worker.worker.id]
    assert mine["slots"] == 2
    assert mine["jobs"] == [{"id": job.id, "title": job.title, "status": "running"}]
    refused = client.get("/api/v1/workers", headers=people.auth("alice"))
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "forbidden"
    service.cancel(ADMIN, job.id)


def test_metrics_in_prometheus_format(
    client: TestClient, people: People, service: JobService, start_worker: Callable[..., Any]
) -> None:
    job = service.submit(ALICE, "diag.count", {"n": 1, "delay": 0})
    service.submit(ALICE, "diag.count", {"n": 1})
    start_worker(concurrency=1)
    wait_for_status(service, job.id, Status.SUCCEEDED)
    response = client.get("/metrics", headers=people.auth("admin"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'jobprocessor_jobs{status="succeeded"}' in text
    assert "jobprocessor_queue_depth" in text
    assert "jobprocessor_workers 1.0" in text
    assert 'jobprocessor_job_duration_seconds_bucket{le="+Inf",status="succeeded"}' in text
    assert client.get("/metrics", headers=people.auth("alice")).status_code == 403


def test_cookie_callers_need_the_csrf_token_to_change_anything(
    client: TestClient, people: People, service: JobService
) -> None:

    csrf = sign_in(client, "alice")
    job = service.submit(ALICE, "diag.count", {"n": 1})
    assert client.get(f"/api/v1/jobs/{job.id}").status_code == 200  # reads need no token
    refused = client.post(f"/api/v1/jobs/{job.id}/cancel")
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "csrf"
    wrong = client.post(f"/api/v1/jobs/{job.id}/cancel", headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    assert service.get(ADMIN, job.id).status is Status.QUEUED
    accepted = client.post(f"/api/v1/jobs/{job.id}/cancel", headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 202


def test_openapi_document_describes_the_api(client: TestClient, people: People) -> None:
    document = client.get("/api/v1/openapi.json", headers=people.auth("bob")).json()
    paths = document["paths"]
    assert {"/api/v1/jobs", "/api/v1/jobs/{job_id}/cancel", "/api/v1/jobs/bulk/{action}"} <= set(
        paths
    )
    assert "bearer" in str(document["components"]["securitySchemes"]).lower()
