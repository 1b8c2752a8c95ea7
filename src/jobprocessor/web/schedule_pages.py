"""The console's Schedules page: recurring schedules, with Pause and Resume (admins).

The console still starts no job: a schedule submits its own, as its user.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jobprocessor.web.context import WebContext, web
from jobprocessor.web.pages import outcome_message, with_message
from jobprocessor.web.rendering import render
from jobprocessor.web.schemas import PlainText
from jobprocessor.web.security import CSRF_FIELD, Caller, check_csrf, page_caller

router = APIRouter(include_in_schema=False)
Web = Annotated[WebContext, Depends(web)]
Who = Annotated[Caller, Depends(page_caller)]
ScheduleName = Annotated[str, Path(max_length=100, pattern=PlainText)]


@router.get("/schedules", response_class=HTMLResponse)
def schedules_page(request: Request, context: Web, caller: Who) -> HTMLResponse:
    """Every schedule: when it runs (in words), its zone, type and user, its next run,
    its last job with its status, and whether it is paused."""
    return render(
        request,
        "schedules.html",
        schedules=context.service.schedules.all(caller.actor),
        message=outcome_message(request, caller),
    )


@router.post("/schedules/{name}/{action}", response_model=None)
def schedule_action(
    context: Web,
    caller: Who,
    name: ScheduleName,
    action: Literal["pause", "resume"],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
) -> Response:
    """Pause or resume a schedule, then back to the page with what happened."""
    check_csrf(caller, csrf_token)
    schedules = context.service.schedules
    if action == "pause":
        schedules.pause(caller.actor, name)
        message = f"Schedule {name} paused: it submits nothing until resumed."
    else:
        info = schedules.resume(caller.actor, name)
        when = f"{info.stored.next_run_at:%Y-%m-%d %H:%M} UTC"
        message = f"Schedule {name} resumed; its next run is {when}."
    return RedirectResponse(with_message("/schedules", message, caller), status_code=303)
