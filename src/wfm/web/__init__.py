"""The WFM application's own pages in the JobProcessor console's web server.

Scheduling, Reports and Employees start jobs with forms generated from the job
types' parameter schemas; the schedule view shows a level with its coverage. The
console's JobProcessor page, which never starts a job, is where they are followed.
``wfm.app`` adds these pages through the console's extension point.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from wfm.web import actions, assets, plan_page

TEMPLATES = Path(__file__).parent / "templates"
#: The console's navigation links to the pages (label, address).
NAV = (
    ("Scheduling", "/wfm/scheduling"),
    ("Schedule", "/wfm/plan"),
    ("Reports", "/wfm/reports"),
    ("Employees", "/wfm/employees"),
)

router = APIRouter(include_in_schema=False)
for module in (actions, plan_page, assets):
    router.include_router(module.router)

__all__ = ["NAV", "TEMPLATES", "router"]
