"""The JobProcessor console: the job list, the report page, the workers and queues views.

Pages are rendered on the server and work without JavaScript (the actions are a
plain form); ``static/console.js`` adds the select-user dialog, the delete
confirmation, enabling buttons by selection, refresh without reload and live
updates. The console starts no job: it follows those started elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import typing
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from jobprocessor.model import Actor, utcnow
from jobprocessor.service import MAX_PAGE, Page
from jobprocessor.web.api import artifact_response
from jobprocessor.web.context import WebContext, web
from jobprocessor.web.listing import ListView, list_view
from jobprocessor.web.outcomes import summarize
from jobprocessor.web.rendering import render
from jobprocessor.web.schemas import MAX_ID, PlainText
from jobprocessor.web.security import CSRF_FIELD, Caller, check_csrf, page_caller

ENTRIES_PER_PAGE = 500
Level = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LEVELS: tuple[str, ...] = typing.get_args(Level)

router = APIRouter(include_in_schema=False)
Web = Annotated[WebContext, Depends(web)]
Who = Annotated[Caller, Depends(page_caller)]
View = Annotated[ListView, Depends(list_view)]


def _list_values(
    context: WebContext, actor: Actor, view: ListView, *, with_users: bool = True
) -> dict[str, Any]:
    page: Page = context.service.list_jobs(actor, view.to_filter())
    users = context.service.visible_users(actor) if actor.is_admin and with_users else []
    queues = sorted({t.queue for t in context.service.job_types()} | {view.queue or ""} - {""})
    return {"view": view, "page": page, "users": users, "queues": queues}


@router.get("/", response_class=HTMLResponse)
def job_list(request: Request, context: Web, caller: Who, view: View) -> HTMLResponse:
    """The JobProcessor page."""
    return render(
        request,
        "jobs.html",
        message=outcome_message(request, caller),
        **_list_values(context, caller.actor, view),
    )


@router.get("/jobs/table", response_class=HTMLResponse)
def job_table(request: Request, context: Web, caller: Who, view: View) -> HTMLResponse:
    """The list alone, for Refresh and live updates without reloading the page."""
    values = _list_values(context, caller.actor, view, with_users=False)
    return render(request, "_jobs_table.html", **values)


@router.post("/jobs/actions", response_model=None)
def job_actions(
    request: Request,
    context: Web,
    caller: Who,
    action: Annotated[Literal["cancel", "restart", "delete"], Form()],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
    ids: Annotated[list[Annotated[int, Query(ge=1, le=MAX_ID)]], Form()] = [],  # noqa: B006
    confirmed: Annotated[bool, Form()] = False,
    return_to: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Restart, cancel or delete the selected jobs; say what happened to each."""
    check_csrf(caller, csrf_token)
    ids = list(dict.fromkeys(ids))[:MAX_PAGE]
    back = return_to if return_to.startswith("/") and not return_to.startswith("//") else "/"
    wants_json = "application/json" in request.headers.get("accept", "")
    if action == "delete" and ids and not confirmed and not wants_json:
        return render(request, "confirm.html", action=action, ids=ids, return_to=back)
    results = context.service.bulk(caller.actor, action, ids)
    message = summarize(action, results)
    if wants_json:
        return JSONResponse(
            {"message": message, "results": [result.to_dict() for result in results]}
        )
    return RedirectResponse(with_message(back, message, caller), status_code=303)


def with_message(url: str, message: str, caller: Caller) -> str:
    """The page to go back to, carrying the outcome (signed: no one else can plant one)."""
    message = message[:1000]
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode({'done': message, 'sig': sign(caller, message)})}"


def sign(caller: Caller, message: str) -> str:
    key = (caller.csrf_token or "").encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:32]


def outcome_message(request: Request, caller: Caller) -> str | None:
    """The outcome carried back by a plain-form action, if its signature holds."""
    message, signature = request.query_params.get("done"), request.query_params.get("sig")
    if not message or not signature or caller.csrf_token is None:
        return None
    return message if hmac.compare_digest(signature, sign(caller, message)) else None


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def report_page(
    request: Request,
    context: Web,
    caller: Who,
    job_id: int,
    level: Annotated[list[Level] | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> HTMLResponse:
    """A job's report: settings, timeline, progress, result, log, files, error."""
    if not 1 <= job_id <= MAX_ID:
        job_id = 0  # not found, as any id no job has
    report = context.service.report(caller.actor, job_id, with_entries=False)
    entries = context.service.entries(
        caller.actor, job_id, levels=level, offset=offset, limit=ENTRIES_PER_PAGE
    )
    return render(
        request,
        "job.html",
        job=report.job,
        report=report,
        entries=entries,
        levels=LEVELS,
        chosen_levels=level or [],
        per_page=ENTRIES_PER_PAGE,
        restarts=context.service.restarts_of(caller.actor, job_id),
        html_view=_html_view(report.artifacts),
    )


def _html_view(artifacts: list[Any]) -> str | None:
    """The report's own HTML page, if the job wrote one: shown framed and sandboxed."""
    pages = [a.name for a in artifacts if a.media_type.split(";")[0].strip() == "text/html"]
    return pages[0] if pages else None


@router.get("/jobs/{job_id}/files/{name:path}", response_model=None)
def report_file(
    context: Web,
    caller: Who,
    job_id: int,
    name: Annotated[str, Path(max_length=255, pattern=PlainText)],
    download: bool = False,
) -> Response:
    """A file of the report, for the page's links and frames (a session, not a token)."""
    if not 1 <= job_id <= MAX_ID:
        job_id = 0
    info, data = context.service.artifact(caller.actor, job_id, name)
    return artifact_response(info.name, info.media_type, data, download=download)


@router.get("/workers", response_class=HTMLResponse)
def workers_page(request: Request, context: Web, caller: Who) -> HTMLResponse:
    """Live workers, their slots and the jobs they run (admins)."""
    return render(request, "workers.html", workers=context.service.workers(caller.actor))


@router.get("/queues", response_class=HTMLResponse)
def queues_page(request: Request, context: Web, caller: Who) -> HTMLResponse:
    """Each queue's waiting and running jobs, oldest wait, limits and workers (admins)."""
    return render(request, "queues.html", queues=context.service.queues(caller.actor), now=utcnow())
