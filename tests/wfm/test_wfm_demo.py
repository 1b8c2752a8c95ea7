"""The demo set-up: deterministic data, users, demo jobs; a second call changes nothing."""

from __future__ import annotations

from wfm_data import level_content

from jobprocessor import demo
from jobprocessor.model import Actor, Role
from jobprocessor.service import ListFilter, open_service
from jobprocessor.settings import Settings
from wfm.demo import install

ADMIN = Actor("admin", Role.ADMIN)
WFM_DEMO_JOBS = 9


def test_install_sets_up_the_demo_once(engine, database_url) -> None:
    first = install(Settings(database_url=database_url))
    assert first.data.created
    assert first.data.employees == 60
    assert first.users_created == ["admin", "planner1", "planner2"]
    assert len(first.jobs) == WFM_DEMO_JOBS
    schedule = level_content(engine, 1000)
    assert len({row[0] for row in schedule}) == 60
    again = install(Settings(database_url=database_url))
    assert (again.data.created, again.users_created, again.jobs) == (False, [], [])
    assert level_content(engine, 1000) == schedule
    service = open_service(Settings(database_url=database_url))
    assert service.authenticate("planner1", "planner1") is not None
    assert len(service.list_jobs(ADMIN, ListFilter()).items) == WFM_DEMO_JOBS
    service.close()


def test_serve_demo_adds_the_wfm_data_and_jobs_beside_the_consoles(engine, settings) -> None:
    """What ``jobprocessor serve --demo --app wfm.app`` does before serving."""
    service = open_service(settings)
    try:
        lines = demo.install(service, settings, ["wfm.app"])
        assert "  planner1 / planner1 (user)" in lines
        listed = service.list_jobs(ADMIN, ListFilter(limit=100)).items
        wfm_jobs = [j for j in listed if j.type.startswith("wfm.")]
        assert len(wfm_jobs) == WFM_DEMO_JOBS
        assert {j.category for j in wfm_jobs} == {"scheduling", "report", "mass_update"}
        assert {j.submitted_by for j in wfm_jobs} == {"admin", "planner1", "planner2"}
        assert service.users.get("planner1").display_name == "Paula Planner"  # the console's
        assert len({row[0] for row in level_content(engine, 1000)}) == 60
        demo.install(service, settings, ["wfm.app"])  # again: nothing new
        assert len(service.list_jobs(ADMIN, ListFilter(limit=100)).items) == len(listed)
    finally:
        service.close()
