"""The WFM pages that start jobs, and the schedule view (both databases).

The console with ``wfm.app`` on the tiny data: pages render for a signed-in planner,
a form queues exactly its job, bad settings come back beside their field and queue
nothing, a POST without the CSRF token is refused, and signed-out users go to /login.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jobprocessor.model import Actor, Role
from jobprocessor.service import JobService, ListFilter
from jobprocessor.settings import Settings
from jobprocessor.web import create_app
from web_support import sign_in

ADMIN = Actor("admin", Role.ADMIN)
INSTANCES = Path("/work/shared/nrp/instances")
PAGES = [
    "/wfm/scheduling",
    "/wfm/reports",
    "/wfm/employees",
    "/wfm/plan",
    "/wfm/plan?span=day",
]
OPTIMIZATION = {
    "job_type": "wfm.job_optimization",
    "start": "2026-01-05",
    "end": "2026-01-11",
    "level": "8000",
    "move_breaks": "on",
    "block_minutes": "15",
    "min_skill_level": "50",
}


@pytest.fixture
def client(settings: Settings, people, tiny) -> Iterator[TestClient]:
    """The console with the WFM pages, on the tiny data."""
    app = create_app(settings, apps=["wfm.app"], pool_size=2)
    try:
        with TestClient(app, follow_redirects=False) as test_client:
            yield test_client
    finally:
        app.state.web.service.close()


def jobs(service: JobService):
    return service.list_jobs(ADMIN, ListFilter()).items


def test_every_page_renders_for_a_signed_in_planner(client, tiny) -> None:
    sign_in(client, "alice")
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        for label, href in (("Scheduling", "/wfm/scheduling"), ("Schedule", "/wfm/plan")):
            assert f'<a href="{href}"' in page.text
            assert f">{label}</a>" in page.text
        assert '<link rel="stylesheet" href="/wfm/static/wfm.css">' in page.text
    scheduling = client.get("/wfm/scheduling").text
    for title in (
        "Insert shift sequences",
        "Create optimized schedule",
        "Job optimization",
        "Replace activities",
        "Empty levels",
        "Copy level content",
    ):
        assert f'<span class="wfm-action-title">{title}</span>' in scheduling
    assert 'name="start" type="date" value="2026-01-05" required' in scheduling
    assert f'<option value="{tiny.a}">A A Tester</option>' in scheduling
    assert '<option value="1000" selected>1000 Schedule</option>' in scheduling
    assert 'type="checkbox" id="wfm-job-optimization-move_breaks" name="move_breaks"' in scheduling
    assert 'name="employees" multiple' in scheduling
    reports = client.get("/wfm/reports").text
    assert '<span class="wfm-action-title">Coverage</span>' in reports
    employees = client.get("/wfm/employees").text
    assert "Mass update of employees" in employees
    assert "<td>Tiny 24 h</td>" in employees  # A's contract on the week shown
    assert client.get("/wfm/static/wfm.css").headers["content-type"].startswith("text/css")
    colours = client.get("/wfm/activities.css")
    assert f".act-{tiny.activity['PHONE']} {{ background: #888888; color: #fff; }}" in colours.text


def test_signed_out_users_are_sent_to_sign_in(client) -> None:
    for path in [*PAGES, "/wfm/started/1", "/wfm/activities.css"]:
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=%2Fwfm%2F")
    refused = client.post("/wfm/submit", data=OPTIMIZATION)
    assert refused.status_code == 303


def test_a_form_queues_exactly_its_job_and_says_it_runs_in_the_background(
    client, service, tiny
) -> None:
    token = sign_in(client, "alice")
    form = {**OPTIMIZATION, "csrf_token": token, "planning_unit": str(tiny.unit)}
    response = client.post("/wfm/submit", data={**form, "employees": [str(tiny.a), str(tiny.c)]})
    assert response.status_code == 303
    [job] = jobs(service)
    assert response.headers["location"] == f"/wfm/started/{job.id}"
    assert (job.type, job.submitted_by) == ("wfm.job_optimization", "alice")
    assert job.params == {
        "start": "2026-01-05",
        "end": "2026-01-11",
        "level": 8000,
        "planning_unit": tiny.unit,
        "employees": [tiny.a, tiny.c],
        "replace_activities": False,
        "move_breaks": True,
        "block_minutes": 15,
        "min_skill_level": 50,
    }
    started = client.get(response.headers["location"]).text
    assert "runs in the background" in started
    assert "You may close this page" in started
    assert f'<a href="/jobs/{job.id}">' in started
    assert '<a href="/">Follow it on the JobProcessor page</a>' in started

    update = {
        "csrf_token": token,
        "job_type": "wfm.mass_update",
        "employees": [str(tiny.b)],
        "action": "add",
        "kind": "contract",
        "value": "1",
        "valid_from": "2026-02-01",
    }
    assert client.post("/wfm/submit", data=update).status_code == 303
    newest = jobs(service)[0]
    assert newest.params == {
        "employees": [tiny.b],
        "action": "add",
        "kind": "contract",
        "value": 1,
        "valid_from": "2026-02-01",
        "valid_to": None,
        "new_value": None,
        "level": None,
        "row": None,
    }


def test_bad_settings_come_back_beside_their_field_and_queue_nothing(client, service, tiny) -> None:
    token = sign_in(client, "alice")
    form = {**OPTIMIZATION, "csrf_token": token, "end": "2026-01-01"}
    del form["move_breaks"]  # and replace_activities is not ticked either
    page = client.post("/wfm/submit", data=form)
    assert page.status_code == 422
    assert jobs(service) == []
    assert re.search(
        r'id="wfm-job-optimization-end-error">must not be before start \(2026-01-05\)<', page.text
    )
    assert re.search(
        r'id="wfm-job-optimization-move_breaks-error">nothing to do: choose', page.text
    )
    assert 'name="end" type="date" value="2026-01-01"' in page.text  # the answers stay
    assert '<details class="card wfm-action" id="wfm-job-optimization" open>' in page.text

    wrong_kind = {
        "csrf_token": token,
        "job_type": "wfm.mass_update",
        "employees": [str(tiny.a)],
        "action": "add",
        "kind": "skill",
        "value": "99",
        "valid_from": "2026-02-01",
    }
    page = client.post("/wfm/submit", data=wrong_kind)
    assert page.status_code == 422
    assert 'id="wfm-mass-update-value-error">99 is not one of the choices of the kind' in page.text
    assert jobs(service) == []


def test_a_post_without_the_csrf_token_is_refused(client, service, tiny) -> None:
    sign_in(client, "alice")
    for token in ("", "forged"):
        response = client.post("/wfm/submit", data={**OPTIMIZATION, "csrf_token": token})
        assert response.status_code == 403
    assert jobs(service) == []


def test_the_schedule_view_shows_a_levels_week_and_its_coverage(client, tiny, run_job) -> None:
    run_job(
        "wfm.insert_shift_sequences", planning_unit=tiny.unit, start="2026-01-05", end="2026-01-11"
    )
    sign_in(client, "alice")
    week = client.get(f"/wfm/plan?level=1000&day=2026-01-07&planning_unit={tiny.unit}").text
    assert "Mon 05.01.2026 \u2013 Sun 11.01.2026" in week
    row = re.search(
        r"<tr><th scope=\"row\"><span class=\"muted\">A</span> A Tester</th>(.*?)</tr>", week, re.S
    )
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    phone = tiny.activity["PHONE"]
    shift_cell = (
        f'<span class="chip-act act-{phone}">08:00-16:30</span><span class="detail">Phone</span>'
    )
    assert cells[:2] == [shift_cell, shift_cell]  # Monday and Tuesday
    assert "Meeting" in cells[2]
    assert "full day" in cells[2]
    assert cells[3:7] == ["", "", "", ""]
    assert cells[7] == "16.0"  # paid hours: 2 x (8.5 h less a 30-minute unpaid lunch)
    assert 'Vacation</span><span class="detail">full day' in week  # B on Thursday
    # Phone needs 2 from 09:00 to 17:00 on weekdays; only A works, Monday and Tuesday.
    assert 'title="Phone Mon 09:00: required 2, scheduled 1">1</td>' in week
    assert 'title="Phone Mon 10:30: required 2, scheduled 0">0</td>' in week  # A's break
    assert "16 h required, 6.75 h met (42 %)" in week  # Monday
    assert "16 h required, 0 h met (0 %)" in week  # Wednesday
    assert "coverage <strong>16.9 %</strong> of 80.00 required hours" in week

    day = client.get(f"/wfm/plan?level=1000&span=day&day=2026-01-05&planning_unit={tiny.unit}")
    assert 'title="Phone 08:00-10:30">Phone</td>' in day.text
    assert '<th scope="row">Required</th>' in day.text
    assert '<th scope="row">Scheduled</th>' in day.text

    missing = client.get(f"/wfm/plan?level=4242&planning_unit={tiny.unit}")
    assert missing.status_code == 404
    assert "level 4242 does not exist" in missing.text


def test_the_schedule_view_shows_wishes_granted_or_not(client, run_job) -> None:
    text = (INSTANCES / "Instance1.txt").read_text()
    unit = run_job("wfm.import_benchmark", text=text, unit_name="Instance1").result["planning_unit"]
    roster = run_job(
        "wfm.create_optimized_schedule", start="2014-01-06", planning_unit=unit, time_limit=30.0
    ).result["roster"]
    sign_in(client, "alice")
    # Without a day, the unit opens on its planning period's first week.
    week = client.get(f"/wfm/plan?level=1000&planning_unit={unit}").text
    assert "Mon 06.01.2014 \u2013 Sun 12.01.2014" in week
    # C wishes to work D Monday to Friday (weight 1); H not to work D on Wednesday (3).
    for staff, wanted, days in (("C", True, range(5)), ("H", False, [2])):
        row = re.search(
            rf"<tr><th scope=\"row\"><span class=\"muted\">{unit}\.{staff}</span>(.*?)</tr>",
            week,
            re.S,
        )
        assert row is not None
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
        for day in days:
            granted = (roster[staff][day] == "D") == wanted
            mark = re.search(r'<span class="wish (\w+)" title="([^"]*)">([^<]*)</span>', cells[day])
            assert mark is not None, (staff, day)
            assert mark.group(1) == ("granted" if granted else "missed")
            verb = "work" if wanted else "not work"
            assert mark.group(2).startswith(f"Wishes to {verb} D (weight ")
            assert mark.group(3) == f"{'wish' if wanted else 'no'} D {'✓' if granted else '✗'}"
    assert 'Day off</span><span class="detail">full day' in week
