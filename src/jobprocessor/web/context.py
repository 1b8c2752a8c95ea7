"""What every request handler needs, built once per application."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from jinja2 import Environment
from sqlalchemy import Engine

from jobprocessor.service import JobService
from jobprocessor.settings import Settings
from jobprocessor.signin import SignIn


@dataclass(frozen=True)
class WebContext:
    """The service, sign-in, settings and templates of one web application."""

    service: JobService
    #: The jobs' database, for an application's own tables (see ``jobprocessor.database``).
    database: Engine
    signin: SignIn
    settings: Settings
    templates: Environment


def web(request: Request) -> WebContext:
    """The application's context (a FastAPI dependency)."""
    context: WebContext = request.app.state.web
    return context
