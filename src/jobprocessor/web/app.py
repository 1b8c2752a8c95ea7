"""The web application: REST API, console pages, live updates and metrics in one ASGI app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import DBAPIError

from jobprocessor.model import utcnow
from jobprocessor.recurring_jobs import Ticker, store_declared
from jobprocessor.service import JobService
from jobprocessor.settings import Settings
from jobprocessor.signin import SignIn
from jobprocessor.store.engine import SessionGuard, create_db_engine
from jobprocessor.store.jobs import JobStore
from jobprocessor.store.schema import upgrade
from jobprocessor.store.sessions import SessionStore
from jobprocessor.store.users import UserStore
from jobprocessor.web import (
    api,
    errors,
    extensions,
    live,
    login,
    metrics,
    pages,
    schedule_pages,
    views,
)
from jobprocessor.web.context import WebContext
from jobprocessor.web.middleware import BodySizeLimit, SecurityHeaders
from jobprocessor.web.security import Caller, api_caller

HERE = Path(__file__).parent
OPENAPI_URL = "/api/v1/openapi.json"


def _version() -> str:
    try:
        return version("jobprocessor")
    except PackageNotFoundError:  # running from a source tree
        return "0"


def templates() -> Environment:
    """Jinja2 with autoescaping on: every value from a job or a user is shown as text."""
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(views.FILTERS)
    environment.globals.update(views.GLOBALS)
    return environment


def create_app(
    settings: Settings | None = None, *, apps: Sequence[str] = (), pool_size: int = 10
) -> FastAPI:
    """The console and API on the configured database (its schema brought up to date).

    ``apps`` are application modules (already imported for their job types); those
    with a ``jobprocessor_web`` hook add their own pages (see ``extensions``).
    """
    settings = settings or Settings()
    engine = create_db_engine(
        settings.database_url, pool_size=pool_size, guard=SessionGuard.of(settings)
    )
    upgrade(engine)
    users = UserStore(engine)
    service = JobService(JobStore(engine), users)
    store_declared(service.store, service.types, now=utcnow())
    ticker = Ticker(service.store, service.types, interval=settings.schedule_check_interval)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Web processes submit schedules' ticks too: any process may, one job per tick.
        ticker.start()
        try:
            yield
        finally:
            ticker.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="JobProcessor",
        version=_version(),
        description="Follow, cancel, restart and delete background jobs.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.web = WebContext(
        service=service,
        database=engine,
        signin=SignIn(users, SessionStore(engine), settings),
        settings=settings,
        templates=templates(),
    )
    app.state.nav_links = []
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)
    app.include_router(api.router, prefix="/api/v1")
    routers = (pages.router, schedule_pages.router, login.router, live.router, metrics.router)
    for router in routers:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    extensions.install_apps(app, apps)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        """Up, and the database answers (no sign-in needed: for load balancers)."""
        try:
            service.check_database()
        except DBAPIError:
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get(OPENAPI_URL, include_in_schema=False)
    def openapi(_: Annotated[Caller, Depends(api_caller)]) -> dict[str, Any]:
        """The API's OpenAPI document (for signed-in callers, like the API itself)."""
        return app.openapi()

    return app
