"""One call that sets the demo up: schema, data, users and a few jobs to look at.

    from wfm.demo import install
    install()                      # the configured database (JOBPROCESSOR_DATABASE_URL)

Users (demo passwords, same as the names): ``admin`` (role admin), ``planner1`` and
``planner2`` (role user). The jobs need a worker started with ``--app wfm.jobs``
on the same database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from jobprocessor import Client, Conflict, Role
from jobprocessor.service import JobService, open_service
from jobprocessor.settings import Settings
from wfm.db import open_engine
from wfm.demo.generate import DEFAULT_SEED, DemoData, seed

USERS = (("admin", Role.ADMIN), ("planner1", Role.USER), ("planner2", Role.USER))


@dataclass
class Installed:
    """What ``install`` did: the demo data and the ids of the jobs it submitted."""

    data: DemoData
    users_created: list[str] = field(default_factory=list)
    jobs: list[int] = field(default_factory=list)


def install(
    settings: Settings | None = None, *, seed_value: int = DEFAULT_SEED, submit_jobs: bool = True
) -> Installed:
    """Migrate the engine's and wfm's schemas, seed the demo, add users, submit demo jobs.

    Safe to call again: existing data and users are kept, and jobs are only
    submitted when the demo data was created by this call.
    """
    import wfm.jobs  # noqa: F401 - registers the job types the demo submits

    settings = settings or Settings()
    service = open_service(settings)
    try:
        return _install(service, settings, seed_value, submit_jobs)
    finally:
        service.store.engine.dispose()


def _install(
    service: JobService, settings: Settings, seed_value: int, submit_jobs: bool
) -> Installed:
    engine = open_engine(settings.database_url)
    try:
        data = seed(engine, seed=seed_value)
    finally:
        engine.dispose()
    done = Installed(data)
    for name, role in USERS:
        try:
            service.add_user(name, role=role, password=name)
            done.users_created.append(name)
        except Conflict:
            pass
    if not (submit_jobs and data.created):
        return done
    unit, start = data.planning_unit_id, data.start
    week2 = start + timedelta(days=7)
    planner1 = Client(user="planner1", service=service)
    planner2 = Client(user="planner2", service=service)
    admin = Client(user="admin", role=Role.ADMIN, service=service)
    submissions = [
        (
            planner2,
            "wfm.report.coverage",
            {"start": str(start), "end": str(data.end), "planning_unit": unit},
        ),
        (planner2, "wfm.report.weekly_schedule", {"week": str(start), "planning_unit": unit}),
        (
            planner2,
            "wfm.report.absences",
            {"start": str(start), "end": str(data.end), "planning_unit": unit},
        ),
        (
            planner1,
            "wfm.create_optimized_schedule",
            {"start": str(start), "weeks": 1, "planning_unit": unit, "time_limit": 20},
        ),
        (
            admin,
            "wfm.copy_level",
            {
                "source": 1000,
                "target": 8000,
                "start": str(start),
                "end": str(data.end),
                "planning_unit": unit,
            },
        ),
        (
            planner1,
            "wfm.create_optimized_schedule",
            {"start": str(week2), "weeks": 3, "planning_unit": unit, "time_limit": 600},
        ),
    ]
    for client, job_type, params in submissions:
        done.jobs.append(client.submit(job_type, params).id)
    return done
