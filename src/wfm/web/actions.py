"""The pages that start jobs: Scheduling, Reports, Employees, and the page after a start.

A form posts to ``/wfm/submit``; its answers go through the job type's own
validation in the service. Refused answers come back on the same page with each
field's error beside it and nothing queued; a queued job sends the browser on to
``/wfm/started/{id}``, which says the job runs in the background and the page may
be closed, and links to its report and to the JobProcessor page.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from jobprocessor import InvalidInput, NotFound
from jobprocessor.web.extensions import (
    CSRF_FIELD,
    Caller,
    WebContext,
    check_csrf,
    page_caller,
    render,
    web,
)
from wfm.web.catalog import BY_TYPE, PAGES, Page, Submitted, page_forms
from wfm.web.forms import build_fields, choice_errors, field_errors, params_from_form
from wfm.web.hints import WfmHints
from wfm.web.lookups import load_lookups
from wfm.web.people import employee_rows

router = APIRouter(include_in_schema=False)
Who = Annotated[Caller, Depends(page_caller)]
Web = Annotated[WebContext, Depends(web)]
#: The form field naming the job type a form starts.
TYPE_FIELD = "job_type"


def engine_of(context: WebContext) -> Engine:
    """The database of the jobs, which holds the WFM tables too."""
    return context.database


@router.get("/wfm/scheduling", response_class=HTMLResponse)
def scheduling(
    request: Request, context: Web, caller: Who, action: Annotated[str, Query()] = ""
) -> HTMLResponse:
    """Insert shift sequences, optimize, job optimization, replace, empty, copy."""
    return action_page(request, context, "scheduling", open_type=action)


@router.get("/wfm/reports", response_class=HTMLResponse)
def reports(
    request: Request, context: Web, caller: Who, action: Annotated[str, Query()] = ""
) -> HTMLResponse:
    """Weekly schedule, coverage and absence statistics."""
    return action_page(request, context, "reports", open_type=action)


@router.get("/wfm/employees", response_class=HTMLResponse)
def employees(
    request: Request, context: Web, caller: Who, day: Annotated[date | None, Query()] = None
) -> HTMLResponse:
    """The mass update, and every employee's assignments on a day."""
    return action_page(request, context, "employees", day=day)


@router.post("/wfm/submit", response_model=None)
async def submit(request: Request, context: Web, caller: Who) -> Response:
    """Start the job a form describes (the form's CSRF token first)."""
    answers = await request.form()
    return await run_in_threadpool(_submit, request, context, caller, answers)


def _submit(request: Request, context: WebContext, caller: Caller, answers: Any) -> Response:
    check_csrf(caller, str(answers.get(CSRF_FIELD) or ""))
    type_name = str(answers.get(TYPE_FIELD) or "")
    action = BY_TYPE.get(type_name)
    if action is None or type_name not in context.service.types:
        raise NotFound(f"no page starts jobs of type {type_name!r}")
    job_type = context.service.types.get(type_name)
    fields = build_fields(job_type.params_schema(), WfmHints(load_lookups(engine_of(context))))
    params = params_from_form(fields, answers)
    errors = choice_errors(fields, params)
    try:
        job_type.validate(params)
    except InvalidInput as refused:
        errors = {**refused.fields, **errors}
    if not errors:
        try:
            job = context.service.submit(caller.actor, type_name, params)
        except InvalidInput as refused:
            errors = dict(refused.fields) or {"": str(refused)}
        else:
            return RedirectResponse(f"/wfm/started/{job.id}", status_code=303)
    by_field, general = field_errors(errors, [f.name for f in fields])
    again = Submitted(type_name, answers, by_field, general)
    return action_page(request, context, action.page, submitted=again, status_code=422)


@router.get("/wfm/started/{job_id}", response_class=HTMLResponse)
def started(request: Request, context: Web, caller: Who, job_id: int) -> HTMLResponse:
    """The job runs in the background: where to follow it."""
    job = context.service.get(caller.actor, job_id)
    action = BY_TYPE.get(job.type)
    page = PAGES[action.page] if action else None
    return render(request, "wfm/started.html", job=job, action=action, page=page)


def action_page(
    request: Request,
    context: WebContext,
    page: Page,
    *,
    open_type: str = "",
    submitted: Submitted | None = None,
    day: date | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page of forms (and, on Employees, the employees' assignments)."""
    lookups = load_lookups(engine_of(context))
    types = {t.name: t for t in context.service.job_types()}
    forms = page_forms(
        page, types, WfmHints(lookups), submitted=submitted, open_type=open_type or None
    )
    shown = day or lookups.week()
    people = employee_rows(engine_of(context), shown) if page == "employees" else None
    title, path, hint = PAGES[page]
    return render(
        request,
        "wfm/actions.html",
        status_code=status_code,
        title=title,
        path=path,
        hint=hint,
        forms=forms,
        people=people,
        day=shown,
        has_data=bool(lookups.planning_units),
        type_field=TYPE_FIELD,
    )
