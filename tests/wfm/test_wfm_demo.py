"""The demo set-up: deterministic data, users, demo jobs; a second call changes nothing."""

from __future__ import annotations

from wfm_data import level_content

from jobprocessor.model import Actor, Role
from jobprocessor.service import ListFilter, open_service
from jobprocessor.settings import Settings
from wfm.demo import install


def test_install_sets_up_the_demo_once(engine, database_url) -> None:
    first = install(Settings(database_url=database_url))
    assert first.data.created
    assert first.data.employees == 60
    assert first.users_created == ["admin", "planner1", "planner2"]
    assert len(first.jobs) == 6
    schedule = level_content(engine, 1000)
    assert len({row[0] for row in schedule}) == 60
    again = install(Settings(database_url=database_url))
    assert (again.data.created, again.users_created, again.jobs) == (False, [], [])
    assert level_content(engine, 1000) == schedule
    service = open_service(Settings(database_url=database_url))
    assert service.authenticate("planner1", "planner1") is not None
    assert len(service.list(Actor("admin", Role.ADMIN), ListFilter()).items) == 6
    service.store.engine.dispose()
