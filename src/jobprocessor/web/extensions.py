"""How an application adds its own pages to the console's web server.

The console itself never starts a job; the application's own pages do (forms,
views of its data). An application module loaded with ``--app`` that defines

    def jobprocessor_web(app: FastAPI) -> None:
        add_pages(app, router, nav=[("Scheduling", "/wfm/scheduling")], templates=TEMPLATES)

gets its routes served beside the console, its links in the console's navigation
and its templates rendered with the console's layout (``{% extends "base.html" %}``).
Its pages use the same sign-in (``page_caller``), CSRF tokens and rendering as the
console's, so that one session covers the whole application.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from fastapi import APIRouter, FastAPI
from jinja2 import ChoiceLoader, FileSystemLoader

from jobprocessor.web.context import WebContext, web
from jobprocessor.web.rendering import render
from jobprocessor.web.security import CSRF_FIELD, Caller, check_csrf, page_caller

#: The function an application module may define to add its pages.
WEB_HOOK = "jobprocessor_web"

__all__ = [
    "CSRF_FIELD",
    "WEB_HOOK",
    "Caller",
    "WebContext",
    "add_pages",
    "check_csrf",
    "install_apps",
    "page_caller",
    "render",
    "web",
]


def add_pages(
    app: FastAPI,
    router: APIRouter,
    *,
    nav: Sequence[tuple[str, str]] = (),
    templates: Path | None = None,
) -> None:
    """Serve an application's routes, link them from the navigation, find its templates."""
    app.include_router(router)
    app.state.nav_links.extend(nav)
    if templates is not None:
        context: WebContext = app.state.web
        loader = context.templates.loader
        assert loader is not None
        context.templates.loader = ChoiceLoader([loader, FileSystemLoader(templates)])


def install_apps(app: FastAPI, modules: Iterable[str]) -> None:
    """Call the web hook of every application module that has one."""
    for name in modules:
        hook = getattr(importlib.import_module(name), WEB_HOOK, None)
        if callable(hook):
            hook(app)
