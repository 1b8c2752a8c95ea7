"""Recurring schedules on both databases: one job per tick without a leader, missed
ticks by policy, pause and resume, checks naming the field, declared schedules.

Time is injected (``now=``), so that hours pass at once; the race between real
processes is shown by letting them all start together on ticks that fell due."""

from __future__ import annotations

import importlib
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jobprocessor import declarations
from jobprocessor.declarations import declared
from jobprocessor.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from jobprocessor.model import Status
from jobprocessor.recurring_jobs import store_declared, submit_due
from jobprocessor.service import JobService, ListFilter
from jobprocessor.service import open_service as open_another_service
from jobprocessor.settings import Settings
from jobprocessor.ticks import Missed, Schedule
from support import ADMIN, ALICE, DIAG, TESTS, cli_env
from waiting import wait_until

START = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)  # Monday 06:00 in Berlin


def hourly(missed: Missed = Missed.LATEST, name: str = "hourly") -> Schedule:
    return Schedule(name, "0 * * * *", "diag.noop", {}, "Europe/Berlin", "alice", missed)


def scheduled(service: JobService, name: str = "hourly") -> list[tuple[str, datetime]]:
    jobs = service.list_jobs(ADMIN, ListFilter(limit=500)).items
    return sorted((j.schedule, j.scheduled_for) for j in jobs if j.schedule == name)  # type: ignore[misc]


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


# -- one job per tick ----------------------------------------------------------------


def test_each_due_tick_submits_one_job_as_the_schedules_user(service: JobService) -> None:
    service.schedules.add(ADMIN, hourly(), now=START)

    first = submit_due(service.store, service.types, now=at(1) + timedelta(seconds=5))
    again = submit_due(service.store, service.types, now=at(1) + timedelta(seconds=50))

    assert again == []
    (job,) = first
    assert (job.schedule, job.scheduled_for, job.submitted_by) == ("hourly", at(1), "alice")
    assert job.to_dict()["schedule"] == "hourly"
    assert job.to_dict()["scheduled_for"] == "2026-11-30T06:00:00.000Z"
    assert service.get(ALICE, job.id).status is Status.QUEUED  # alice sees it as hers
    submitted = service.report(ADMIN, job.id).events[0]
    assert (submitted.event, submitted.by) == ("submitted", "alice")
    assert "schedule hourly" in (submitted.detail or "")
    info = service.schedules.get(ADMIN, "hourly")
    assert info.stored.last_job_id == job.id
    assert info.stored.next_run_at == at(2)


def test_racing_submitters_make_one_job_per_tick(settings: Settings, service: JobService) -> None:
    """Six threads with services of their own look at the same due ticks at once."""
    service.schedules.add(ADMIN, hourly(Missed.ALL), now=START)
    now = at(10) + timedelta(seconds=1)
    services = [open_another_service(settings) for _ in range(6)]
    barrier = threading.Barrier(len(services))
    errors: list[BaseException] = []

    def race(other: JobService) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                submit_due(other.store, service.types, now=now)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=race, args=(s,)) for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for other in services:
        other.close()

    assert errors == []
    assert scheduled(service) == [("hourly", at(h)) for h in range(1, 11)]


# -- missed ticks, pause and resume --------------------------------------------------


@pytest.mark.parametrize(
    ("missed", "hours"), [(Missed.SKIP, []), (Missed.LATEST, [5]), (Missed.ALL, [1, 2, 3, 4, 5])]
)
def test_ticks_missed_while_no_worker_ran_follow_the_policy(
    service: JobService, missed: Missed, hours: list[int]
) -> None:
    service.schedules.add(ADMIN, hourly(missed), now=START)
    # Every worker was stopped from 06:00 to 10:20 local time: five ticks were missed.
    submit_due(service.store, service.types, now=at(5) + timedelta(minutes=20))
    assert scheduled(service) == [("hourly", at(h)) for h in hours]
    # And on time again afterwards, whatever the policy.
    submit_due(service.store, service.types, now=at(6) + timedelta(seconds=2))
    assert scheduled(service)[-1] == ("hourly", at(6))


def test_a_paused_schedule_submits_nothing_and_resumes_by_its_policy(
    service: JobService,
) -> None:
    service.schedules.add(ADMIN, hourly(Missed.LATEST), now=START)
    assert service.schedules.pause(ADMIN, "hourly").stored.paused

    assert submit_due(service.store, service.types, now=at(3) + timedelta(seconds=1)) == []

    service.schedules.resume(ADMIN, "hourly")
    submit_due(service.store, service.types, now=at(3) + timedelta(minutes=30))
    assert scheduled(service) == [("hourly", at(3))]  # latest of the three missed


# -- checks and permissions ----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cron": "0 6 * *"}, "cron"),
        ({"cron": "0 24 * * *"}, "cron"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"type": "no.such.type"}, "type"),
        ({"type": "diag.count", "params": {"n": "many"}}, "n"),
        ({"user": "not a name"}, "user"),
        ({"name": "has space"}, "name"),
        ({"missed": "sometimes"}, "missed"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field_and_nothing_stored(
    service: JobService, change: dict[str, Any], field: str
) -> None:
    good = hourly()
    values = {
        "name": good.name,
        "cron": good.cron,
        "type": good.type,
        "params": good.params,
        "timezone": good.timezone,
        "user": good.user,
        "missed": good.missed,
        **change,
    }
    with pytest.raises(InvalidInput) as refused:
        service.schedules.add(ADMIN, Schedule(**values))
    assert field in refused.value.fields
    assert service.schedules.all(ADMIN) == []


def test_names_are_unique_and_missing_ones_not_found(service: JobService) -> None:
    service.schedules.add(ADMIN, hourly())
    with pytest.raises(Conflict):
        service.schedules.add(ADMIN, hourly())
    for act in (service.schedules.pause, service.schedules.resume, service.schedules.delete):
        with pytest.raises(NotFound):
            act(ADMIN, "nope")
    service.schedules.delete(ADMIN, "hourly")
    assert service.schedules.all(ADMIN) == []


def test_only_admins_see_and_change_schedules(service: JobService) -> None:
    service.schedules.add(ADMIN, hourly())
    for act in (
        lambda: service.schedules.all(ALICE),
        lambda: service.schedules.pause(ALICE, "hourly"),
        lambda: service.schedules.add(ALICE, hourly(name="mine")),
    ):
        with pytest.raises(PermissionDenied):
            act()


def test_the_schedule_json_has_the_documented_keys(service: JobService) -> None:
    info = service.schedules.add(ADMIN, hourly(), now=START)
    document = info.to_dict()
    assert {
        "name",
        "cron",
        "timezone",
        "type",
        "params",
        "user",
        "missed",
        "paused",
        "next_run_at",
        "last_job_id",
    } <= set(document)
    assert document["next_run_at"] == "2026-11-30T06:00:00.000Z"
    assert document["description"] == "Every hour"


# -- declared in an app module -------------------------------------------------------


@pytest.fixture
def schedule_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app module imported afresh, its declaration undone after the test.

    Declarations live as long as the process: left in place, every later test in this
    pytest process that opens the console (which stores what is declared) would find
    the schedule too, as the web tests' one-schedule lists did.
    """
    monkeypatch.syspath_prepend(str(TESTS / "apps"))
    monkeypatch.setattr(declarations, "_declared", dict(declarations._declared))
    monkeypatch.delitem(sys.modules, "schedule_jobs", raising=False)
    importlib.import_module("schedule_jobs")


@pytest.mark.usefixtures("schedule_jobs")
def test_declared_schedules_are_stored_and_keep_their_state(service: JobService) -> None:
    assert "declared-hourly" in [s.name for s in declared()]
    assert "declared-hourly" in store_declared(service.store, service.types, now=START)
    service.schedules.pause(ADMIN, "declared-hourly")

    store_declared(service.store, service.types, now=at(5))  # another worker starts

    info = service.schedules.get(ADMIN, "declared-hourly")
    assert info.stored.paused, "a restart must not resume what an admin paused"
    assert (info.stored.source, info.stored.schedule.user) == ("app", "alice")


# -- real processes ----------------------------------------------------------------


@pytest.mark.usefixtures("schedule_jobs")
def test_three_workers_and_a_web_process_submit_one_job_per_tick(
    service: JobService,
    database_url: str,
    spawn_worker: Callable[..., Any],
    tmp_path: Path,
) -> None:
    """Every minute, 30 ticks due when four processes start together: one job each."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    minutely = Schedule("minutely", "* * * * *", "diag.noop", {}, "UTC", "alice", Missed.ALL)
    service.schedules.add(ADMIN, minutely, now=now - timedelta(minutes=30))
    serve = ["serve", "--no-worker", "--port", "0", "--app", DIAG]
    with (tmp_path / "web.log").open("wb") as log:
        web = subprocess.Popen(
            [sys.executable, "-m", "jobprocessor.cli", *serve],
            env=cli_env(database_url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(3):
            spawn_worker(concurrency=1, apps=[DIAG])
        wait_until(
            lambda: (
                len(scheduled(service, "minutely")) >= 30
                and all(
                    j.status is Status.SUCCEEDED
                    for j in service.list_jobs(ADMIN, ListFilter(limit=500)).items
                    if j.schedule == "minutely"
                )
            ),
            timeout=120,
            what="the missed ticks' jobs to run",
        )
    finally:
        web.terminate()
        web.wait(30)
    ticks = Counter(tick for _, tick in scheduled(service, "minutely"))
    assert max(ticks.values()) == 1
    expected = {now - timedelta(minutes=m) for m in range(0, 30)}
    assert expected <= set(ticks)
