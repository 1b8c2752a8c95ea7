"""``/wfm/plan``: the schedule view of a level, for a week or a day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, select

from jobprocessor.web.extensions import Caller, WebContext, page_caller, render, web
from wfm.calendar import monday_of
from wfm.db import read_session
from wfm.errors import WfmError
from wfm.model import PlanningPeriod
from wfm.snapshot import load_snapshot
from wfm.web.actions import engine_of
from wfm.web.lookups import load_lookups
from wfm.web.plan import Span, plan_view

router = APIRouter(include_in_schema=False)
Who = Annotated[Caller, Depends(page_caller)]
Web = Annotated[WebContext, Depends(web)]


@router.get("/wfm/plan", response_class=HTMLResponse)
def plan(
    request: Request,
    context: Web,
    caller: Who,
    level: Annotated[int, Query(ge=0, le=99_999)] = 1000,
    day: Annotated[date | None, Query()] = None,
    span: Annotated[Span, Query()] = "week",
    planning_unit: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> HTMLResponse:
    """Each employee's shifts in a level, and coverage against the requirements."""
    engine = engine_of(context)
    lookups = load_lookups(engine)
    unit = planning_unit or (lookups.planning_units[0].id if lookups.planning_units else None)
    shown = day or _first_week(engine, unit) or lookups.week()
    start = monday_of(shown) if span == "week" else shown
    end = start + timedelta(days=6 if span == "week" else 0)
    step = timedelta(days=7 if span == "week" else 1)
    view, problem = None, ""
    if unit is None:
        problem = "There is no WFM data yet: start the demo or seed it first."
    else:
        try:
            with read_session(engine) as session:
                snapshot = load_snapshot(session, unit, start, end, level=level)
            view = plan_view(snapshot, span)
        except WfmError as error:
            problem = str(error)
    return render(
        request,
        "wfm/plan.html",
        status_code=200 if view is not None or unit is None else 404,
        view=view,
        problem=problem,
        lookups=lookups,
        level=level,
        unit=unit,
        span=span,
        day=shown,
        start=start,
        end=end,
        previous=start - step,
        next=start + step,
    )


def _first_week(engine: Engine, unit: int | None) -> date | None:
    """A unit planned over a period opens on the period's first week, unless it has
    the current week (an imported benchmark instance starts in 2014)."""
    if unit is None:
        return None
    with read_session(engine) as session:
        period = session.scalars(
            select(PlanningPeriod).where(PlanningPeriod.planning_unit_id == unit)
        ).one_or_none()
    if period is None:
        return None
    today = date.today()
    inside = period.start <= today < period.start + timedelta(days=period.days)
    return today if inside else period.start
