"""Setting the demo up: schema, data, users and jobs to look at.

``jobprocessor serve --demo --app wfm.app`` calls ``install_demo`` through
``wfm.app.jobprocessor_demo``, after the console has created its demo users.
Without the console, ``install()`` does it all on the configured database
(``JOBPROCESSOR_DATABASE_URL``), creating the same users as the console's demo
(``jobprocessor.demo.DEMO_USERS``: admin, planner1, planner2; passwords = names).

The demo jobs are submitted once, on a job list that holds no WFM demo job yet:
reports that finish within seconds, scheduling jobs on the Customer Service
planning unit (which run one after another: they share its lock), a mass update,
and a three-week optimization that keeps running for a few minutes, to follow
and to cancel. They need a worker that knows the wfm job types.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from jobprocessor import Conflict, Missed, Role, Schedule, SubmitOptions
from jobprocessor.demo import DEMO_USERS
from jobprocessor.model import Actor
from jobprocessor.service import JobService, ListFilter, open_service
from jobprocessor.settings import Settings
from wfm.db import open_engine, read_session
from wfm.demo.generate import DEFAULT_SEED, DemoData, seed
from wfm.model import Employee, LevelNumber, Skill

ADMIN = Actor("admin", Role.ADMIN)
#: The long demo optimization's priority: after the short demo jobs (0).
LONG_JOB_PRIORITY = -5
#: Seconds the long demo optimization may solve: it is still running a minute in.
LONG_SOLVE = 240


@dataclass
class Installed:
    """What was done: the demo data, the users created and the jobs submitted."""

    data: DemoData
    users_created: list[str] = field(default_factory=list)
    jobs: list[int] = field(default_factory=list)


def install(
    settings: Settings | None = None, *, seed_value: int = DEFAULT_SEED, submit_jobs: bool = True
) -> Installed:
    """Migrate, seed, add the console's demo users and submit the demo jobs.

    Safe to call again: existing data and users are kept, and jobs are submitted
    only while the job list has no WFM demo job.
    """
    settings = settings or Settings()
    service = open_service(settings)
    try:
        created = []
        for name, role, display_name in DEMO_USERS:
            with contextlib.suppress(Conflict):  # kept from an earlier demo
                service.add_user(name, role=role, password=name, display_name=display_name)
                created.append(name)
        done = install_demo(service, settings, seed_value=seed_value, submit_jobs=submit_jobs)
        done.users_created = created
        return done
    finally:
        service.close()


def install_demo(
    service: JobService,
    settings: Settings,
    *,
    seed_value: int = DEFAULT_SEED,
    submit_jobs: bool = True,
) -> Installed:
    """The demo's WFM data (from this week's Monday) and its jobs; users must exist."""
    import wfm.jobs  # noqa: F401 - registers the job types the demo submits

    engine = open_engine(settings.database_url)
    try:
        data = seed(engine, seed=seed_value)
        with read_session(engine) as session:
            chat = session.scalar(select(Skill.id).where(Skill.name == "Chat"))
            learners = list(
                session.scalars(select(Employee.id).order_by(Employee.number).offset(40).limit(3))
            )
    finally:
        engine.dispose()
    done = Installed(data)
    submissions = demo_jobs(data, chat, learners)
    if submit_jobs and not any(
        service.list_jobs(ADMIN, ListFilter(type=job_type, limit=1)).items
        for _, job_type, _ in submissions
    ):
        for user, job_type, params in submissions:
            # The long optimization comes after the short jobs: on two slots they
            # finish within a minute, and it then runs to be followed and canceled.
            long_one = job_type == "wfm.create_optimized_schedule" and params["weeks"] > 1
            options = SubmitOptions(priority=LONG_JOB_PRIORITY if long_one else None)
            done.jobs.append(service.submit(user, job_type, params, options).id)
    for schedule in demo_schedules(data):
        with contextlib.suppress(Conflict):  # kept from an earlier demo, perhaps paused
            service.schedules.add(ADMIN, schedule, source="demo")
    return done


def demo_schedules(data: DemoData) -> list[Schedule]:
    """Recurring jobs of the demo: planner1's coverage report every Monday at 06:00 in
    Berlin, and a nightly job optimization of Version 1, both over the demo's weeks."""
    span = {"start": str(data.start), "end": str(data.end), "planning_unit": data.planning_unit_id}
    first_week = {**span, "end": str(data.start + timedelta(days=6))}
    return [
        Schedule(
            "weekly-coverage",
            "0 6 * * MON",
            "wfm.report.coverage",
            first_week,
            "Europe/Berlin",
            "planner1",
            Missed.LATEST,
        ),
        Schedule(
            "nightly-job-optimization",
            "30 2 * * *",
            "wfm.job_optimization",
            {**span, "level": LevelNumber.VERSION_1},
            "Europe/Berlin",
            "admin",
            Missed.SKIP,
        ),
    ]


def demo_jobs(
    data: DemoData, chat: int | None, learners: list[int]
) -> list[tuple[Actor, str, dict[str, Any]]]:
    """Who submits what: a little of everything the application does."""
    unit, start, end = data.planning_unit_id, str(data.start), str(data.end)
    week2 = str(data.start + timedelta(days=7))
    planner1, planner2 = Actor("planner1"), Actor("planner2")
    span = {"start": start, "end": end, "planning_unit": unit}
    jobs: list[tuple[Actor, str, dict[str, Any]]] = [
        (planner2, "wfm.report.coverage", span),
        (planner2, "wfm.report.weekly_schedule", {"week": start, "planning_unit": unit}),
        (planner2, "wfm.report.absences", span),
        (
            planner1,
            "wfm.create_optimized_schedule",
            {"start": start, "weeks": 1, "planning_unit": unit, "time_limit": 20},
        ),
        (ADMIN, "wfm.copy_level", {**span, "source": 1000, "target": LevelNumber.VERSION_1}),
        (planner1, "wfm.job_optimization", {**span, "level": LevelNumber.VERSION_1}),
        (ADMIN, "wfm.insert_shift_sequences", {**span, "level": LevelNumber.VERSION_2}),
    ]
    if chat is not None and learners:
        valid_from = str(data.start + timedelta(days=14))
        jobs.append(
            (
                ADMIN,
                "wfm.mass_update",
                {
                    "employees": learners,
                    "action": "add",
                    "kind": "skill",
                    "value": chat,
                    "valid_from": valid_from,
                    "level": 60,
                },
            )
        )
    jobs.append(
        (
            planner1,
            "wfm.create_optimized_schedule",
            {
                "start": week2,
                "weeks": 3,
                "planning_unit": unit,
                "time_limit": LONG_SOLVE,
                "threads": 1,
            },
        )
    )
    return jobs
