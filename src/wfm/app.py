"""The WFM reference application in one module: ``--app wfm.app``.

Importing it registers every wfm job type; the console calls its hooks:
``jobprocessor_web`` adds the WFM pages (Scheduling, Schedule, Reports, Employees)
beside the JobProcessor page, and ``jobprocessor_demo`` (``serve --demo``) sets up
the demo data and jobs after the console's demo users exist.

    jobprocessor serve --demo --app wfm.app --workers 4
"""

from __future__ import annotations

from fastapi import FastAPI

import wfm.jobs  # noqa: F401 - registers the wfm job types
from jobprocessor.service import JobService
from jobprocessor.settings import Settings
from jobprocessor.web.extensions import WebContext, add_pages
from wfm import db
from wfm.demo.install import install_demo
from wfm.web import NAV, TEMPLATES, router


def jobprocessor_web(app: FastAPI) -> None:
    """Serve the WFM pages; their tables live in the console's database."""
    context: WebContext = app.state.web
    db.upgrade(context.database)
    add_pages(app, router, nav=list(NAV), templates=TEMPLATES)


def jobprocessor_demo(service: JobService, settings: Settings) -> None:
    """The demo's WFM data and, the first time, jobs to follow (users exist already)."""
    install_demo(service, settings)
