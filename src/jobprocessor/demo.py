"""Demo content for ``jobprocessor serve --demo``: users to sign in with, and jobs.

Applications add their own demo content without the core knowing them: a module
loaded with ``--app`` that defines ``jobprocessor_demo(service, settings)`` is called
after the users exist (the WFM reference application seeds its data this way).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Iterable

from jobprocessor.errors import Conflict
from jobprocessor.model import Actor, Role
from jobprocessor.service import JobService, ListFilter
from jobprocessor.settings import Settings
from jobprocessor.submission import SubmitOptions

DIAGNOSTICS = "jobprocessor.diagnostics"
#: The demo's long-running jobs go after every other demo job (priority 0).
LONG_JOB_PRIORITY = -10
#: The hook an application module may define to add its own demo content.
DEMO_HOOK = "jobprocessor_demo"
#: Demo sign-ins: name, role, password (the password is the name; for trying only).
DEMO_USERS = (
    ("admin", Role.ADMIN, "Ada Admin"),
    ("planner1", Role.USER, "Paula Planner"),
    ("planner2", Role.USER, "Peter Planner"),
)

log = logging.getLogger(__name__)


def install(service: JobService, settings: Settings, apps: Iterable[str]) -> list[str]:
    """Create the demo users, a few diagnostic jobs on an empty list, and the apps' demos.

    Safe to run again: existing users are kept, jobs are only added to an empty list.
    Returns the lines to show the person who started the demo.
    """
    importlib.import_module(DIAGNOSTICS)
    for name, role, display_name in DEMO_USERS:
        with contextlib.suppress(Conflict):  # kept from an earlier demo
            service.add_user(name, role=role, password=name, display_name=display_name)
    admin = Actor("admin", Role.ADMIN)
    if not service.list_jobs(admin, ListFilter(limit=1)).items:
        _submit_diagnostics(service)
    for module_name in apps:
        hook = getattr(importlib.import_module(module_name), DEMO_HOOK, None)
        if callable(hook):
            log.info("demo content of %s", module_name)
            hook(service, settings)
    return [f"  {name} / {name} ({role.value})" for name, role, _ in DEMO_USERS]


def _submit_diagnostics(service: JobService) -> None:
    planner1, planner2 = Actor("planner1"), Actor("planner2")
    admin = Actor("admin", Role.ADMIN)
    service.submit(planner1, "diag.count", {"n": 5, "delay": 0.2})
    service.submit(planner2, "diag.fail", {"message": "the demo's failing job"})
    service.submit(admin, "diag.count", {"n": 20, "delay": 0.1})
    # The long ones last: on the default two slots every shorter demo job (the
    # applications' too) goes first, and none waits behind them.
    later = SubmitOptions(priority=LONG_JOB_PRIORITY)
    long_count = {"n": 900, "delay": 1.0}
    service.submit(planner1, "diag.count", long_count, later, title="A long count (15 min)")
    service.submit(planner2, "diag.hook", {"seconds": 3600}, later, title="Waits until canceled")
