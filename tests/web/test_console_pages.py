"""The console's pages as a browser without JavaScript sees them, on both databases:
sign-in, sessions, CSRF, escaping, the plain-form actions, paging and the workers view.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobprocessor.model import ReportEntry, Status, utcnow
from jobprocessor.service import JobService
from jobprocessor.web.security import SESSION_COOKIE
from support import ADMIN, ALICE, BOB, seed_report, wait_for_status
from web_support import People, sign_in, sign_in_response

XSS = "<script>alert('x')</script>"


def test_pages_send_strangers_to_sign_in(client: TestClient) -> None:
    for path in ["/", "/jobs/1", "/workers", "/jobs/table?status_group=failed"]:
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    assert client.get("/jobs/table?status_group=failed").headers["location"] == (
        "/login?next=%2Fjobs%2Ftable%3Fstatus_group%3Dfailed"
    )


def test_sign_in_sets_a_protected_session_cookie(client: TestClient, people: People) -> None:
    response = sign_in_response(client, "alice")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back
    assert client.get("/").status_code == 200


def test_sign_in_over_https_marks_the_cookie_secure(app: Any, people: People) -> None:
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as https:
        response = sign_in_response(https, "alice")
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]


def test_wrong_password_is_refused_with_a_message(client: TestClient, people: People) -> None:
    response = sign_in_response(client, "alice", "wrong")
    assert response.status_code == 401
    assert "Wrong user name or password" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert client.get("/").status_code == 303


def test_unreadable_names_are_refused_not_crashed_on(client: TestClient, people: People) -> None:
    assert sign_in_response(client, "alice", "x").status_code == 401
    token = client.cookies.get("jobprocessor_login_csrf")
    response = client.post(
        "/login", data={"name": "ali\x00ce", "password": "x", "csrf_token": token}
    )
    assert response.status_code == 422


def test_sign_in_form_needs_its_csrf_cookie(client: TestClient, people: People) -> None:
    response = client.post(
        "/login", data={"name": "alice", "password": "alice-secret", "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_guessing_is_limited(client: TestClient, people: People, settings: Any) -> None:
    for _ in range(settings.login_max_failures):
        assert sign_in_response(client, "bob", "guess").status_code == 401
    blocked = sign_in_response(client, "bob")  # even the right password, for now
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "too many failed sign-ins" in blocked.text.lower()
    assert sign_in_response(client, "alice").status_code == 303  # others are not locked out


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_sign_in_never_sends_people_to_another_site(
    client: TestClient, people: People, target: str
) -> None:
    form = client.get("/login", params={"next": target})
    assert 'value="/"' in form.text
    token = client.cookies.get("jobprocessor_login_csrf")
    response = client.post(
        "/login",
        data={"name": "alice", "password": "alice-secret", "csrf_token": token, "next": target},
    )
    assert response.headers["location"] == "/"


def test_sign_out_ends_the_session_everywhere(
    client: TestClient, people: People, service: JobService
) -> None:
    csrf = sign_in(client, "alice")
    session = client.cookies.get(SESSION_COOKIE)
    assert session
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    client.cookies.set(SESSION_COOKIE, session)  # a copy of the old cookie opens nothing
    assert client.get("/").status_code == 303
    assert client.get("/api/v1/jobs").status_code == 401


def test_an_expired_session_opens_nothing(
    client: TestClient, people: People, service: JobService, app: Any
) -> None:
    sign_in(client, "alice")
    signin = app.state.web.signin
    signin.lifetime = timedelta(seconds=-1)
    client.cookies.clear()
    assert sign_in_response(client, "bob").status_code == 303  # a new session, born expired
    assert client.get("/").status_code == 303


def test_the_list_shows_jobs_and_the_filters(
    client: TestClient, people: People, service: JobService
) -> None:
    service.submit(ALICE, "diag.count", {"n": 3}, title="Alice's count")
    service.submit(BOB, "diag.count", {"n": 4}, title="Bob's count")
    sign_in(client, "admin")
    page = client.get("/").text
    assert "Alice&#39;s count" in page
    assert "Bob&#39;s count" in page
    assert 'id="user-dialog"' in page
    assert re.search(r'<input type="radio" name="picked-user" value="alice"', page)
    filtered = client.get("/", params={"user": "bob", "status_group": "active"}).text
    assert "Bob&#39;s count" in filtered
    assert "Alice&#39;s count" not in filtered
    assert re.search(r'<option value="active" selected>', filtered)


def test_a_user_sees_only_their_jobs_and_no_user_dialog(
    client: TestClient, people: People, service: JobService
) -> None:
    service.submit(ALICE, "diag.count", {"n": 3}, title="Alice's count")
    bobs = service.submit(BOB, "diag.count", {"n": 4}, title="Bob's count")
    sign_in(client, "alice")
    page = client.get("/").text
    assert "Alice&#39;s count" in page
    assert "Bob&#39;s count" not in page
    assert "user-dialog" not in page
    assert "Workers" not in page
    assert client.get(f"/jobs/{bobs.id}").status_code == 404
    assert client.get("/workers").status_code == 403


def test_empty_states_say_why(client: TestClient, people: People, service: JobService) -> None:
    sign_in(client, "admin")
    assert "No jobs yet." in client.get("/").text
    service.submit(ALICE, "diag.count", {"n": 3})
    page = client.get("/", params={"status_group": "failed", "user": "alice"}).text
    assert "No jobs match" in page
    assert "status Failed, started by alice" in page


def test_bad_filters_are_a_readable_422(client: TestClient, people: People) -> None:
    sign_in(client, "admin")
    response = client.get("/", params={"status_group": "everything"})
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]
    assert "finished" in response.text  # the allowed values are named


def test_titles_params_and_log_lines_are_shown_as_text(
    client: TestClient, people: People, service: JobService, start_worker: Callable[..., Any]
) -> None:
    job = service.submit(ALICE, "diag.fail", {"message": XSS}, title=XSS)
    seed_report(service, job.id, [ReportEntry(utcnow(), "WARNING", XSS)])
    start_worker(concurrency=1)
    wait_for_status(service, job.id, Status.FAILED)
    sign_in(client, "alice")
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    listing = client.get("/").text
    report = client.get(f"/jobs/{job.id}").text
    for page in (listing, report):
        assert XSS not in page
        assert escaped in page
    assert report.count(escaped) >= 4  # title, setting, log line, error message
    assert "script-src 'self'" in client.get("/").headers["content-security-policy"]


def test_actions_from_the_plain_form(
    client: TestClient, people: People, service: JobService
) -> None:
    queued = service.submit(ALICE, "diag.count", {"n": 3})
    other = service.submit(ALICE, "diag.count", {"n": 4})
    csrf = sign_in(client, "alice")
    refused = client.post("/jobs/actions", data={"action": "cancel", "ids": [queued.id]})
    assert refused.status_code == 403
    assert service.get(ADMIN, queued.id).status is Status.QUEUED

    done = client.post(
        "/jobs/actions",
        data={"action": "cancel", "ids": [queued.id], "csrf_token": csrf, "return_to": "/"},
    )
    assert done.status_code == 303
    assert service.get(ADMIN, queued.id).status is Status.CANCELED
    page = client.get(done.headers["location"]).text
    assert f"1 canceled (#{queued.id})." in page

    restarted = client.post(
        "/jobs/actions",
        data={"action": "restart", "ids": [queued.id, other.id], "csrf_token": csrf},
        headers={"Accept": "application/json"},
    ).json()
    new_id = restarted["results"][0]["job"]["id"]
    assert restarted["message"] == (
        f"1 restarted (as #{new_id}). Not restarted: job {other.id} is still queued; "
        "only finished jobs restart."
    )


def test_delete_without_javascript_asks_first(
    client: TestClient, people: People, service: JobService
) -> None:
    jobs = [service.submit(ALICE, "diag.count", {"n": n}) for n in (1, 2)]
    for job in jobs:
        service.cancel(ALICE, job.id)
    csrf = sign_in(client, "alice")
    ids = [job.id for job in jobs]
    question = client.post(
        "/jobs/actions", data={"action": "delete", "ids": ids, "csrf_token": csrf}
    )
    assert question.status_code == 200
    assert "Delete 2 jobs?" in question.text
    assert "cannot be undone" in question.text
    assert service.store.count_by_status() == {Status.CANCELED: 2}
    client.post(
        "/jobs/actions",
        data={"action": "delete", "ids": ids, "csrf_token": csrf, "confirmed": "true"},
    )
    assert service.store.count_by_status() == {}


def test_an_outcome_message_cannot_be_planted_by_a_link(client: TestClient, people: People) -> None:
    sign_in(client, "alice")
    page = client.get("/", params={"done": "Your session expired: go to evil.example"}).text
    assert "evil.example" not in page
    forged = client.get("/", params={"done": "Hello", "sig": "0" * 32}).text
    assert "Hello" not in forged


def test_the_report_page(
    client: TestClient, people: People, service: JobService, start_worker: Callable[..., Any]
) -> None:
    job = service.submit(ALICE, "diag.count", {"n": 2, "delay": 0}, title="Two")
    start_worker(concurrency=1)
    wait_for_status(service, job.id, Status.SUCCEEDED)
    restart = service.restart(ALICE, job.id)
    sign_in(client, "alice")
    page = client.get(f"/jobs/{job.id}").text
    for text in [
        "#" + str(job.id),
        "Succeeded",
        '<th scope="row">n</th><td>2</td>',
        "Submitted</strong> by alice",
        "numbers.csv",
        "done, with a warning",
        f'href="/jobs/{restart.id}"',
        "&#34;counted&#34;: 2",
    ]:
        assert text in page, text
    assert f'href="/jobs/{job.id}"' in client.get(f"/jobs/{restart.id}").text
    download = client.get(f"/jobs/{job.id}/files/numbers.csv", params={"download": 1})
    assert download.content == b"i\n1\n2\n"
    assert download.headers["content-disposition"].startswith("attachment")


def test_long_logs_are_paged_and_filtered_by_level(
    client: TestClient, people: People, service: JobService
) -> None:
    job = service.submit(ALICE, "diag.count", {"n": 1})
    now = utcnow()
    entries = [
        ReportEntry(now, "WARNING" if i % 100 == 0 else "INFO", f"line {i}") for i in range(1200)
    ]
    seed_report(service, job.id, entries)
    sign_in(client, "alice")
    first = client.get(f"/jobs/{job.id}").text
    assert "Entries 1\u2013500 of 1200" in first
    assert "line 499<" in first
    assert "line 500<" not in first
    assert "offset=500" in first
    later = client.get(f"/jobs/{job.id}", params={"offset": 1000}).text
    assert "Entries 1001\u20131200 of 1200" in later
    warnings = client.get(f"/jobs/{job.id}", params={"level": "WARNING"}).text
    assert "Entries 1\u201312 of 12" in warnings
    assert "line 1100<" in warnings
    assert "line 1101<" not in warnings
    assert client.get(f"/jobs/{job.id}", params={"level": "LOUD"}).status_code == 422


def test_workers_view_lists_the_running_jobs(
    client: TestClient, people: People, service: JobService, start_worker: Callable[..., Any]
) -> None:
    sign_in(client, "admin")
    assert "No worker is running" in client.get("/workers").text
    job = service.submit(ALICE, "diag.hook", {"seconds": 30}, title="Hook job")
    worker = start_worker(concurrency=3)
    wait_for_status(service, job.id, Status.RUNNING)
    page = client.get("/workers").text
    assert worker.worker.id in page
    assert "1 / 3" in page
    assert f'href="/jobs/{job.id}">#{job.id} Hook job' in page
    service.cancel(ADMIN, job.id)


def test_live_updates_stream_a_change_event(
    client: TestClient, people: People, service: JobService
) -> None:
    service.submit(ALICE, "diag.count", {"n": 1})
    sign_in(client, "alice")
    with client.stream("GET", "/events", params={"status_group": "active"}) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "event: change"
        assert next(lines).startswith("data: ")
