"""Live updates (server-sent events), which the person switches on; off by default.

The stream carries no data, only "something you look at changed": the page then
fetches its list (or report) as it would on Refresh, so there is one way to
render a job and the stream never shows more than the page may.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from jobprocessor.errors import NotFound
from jobprocessor.model import Actor
from jobprocessor.web.context import WebContext, web
from jobprocessor.web.listing import ListView, list_view
from jobprocessor.web.schemas import MAX_ID
from jobprocessor.web.security import Caller, page_caller

#: Seconds between looks at the database for one open page.
LIVE_INTERVAL = 1.0
router = APIRouter(include_in_schema=False)


def fingerprint(context: WebContext, actor: Actor, view: ListView, job_id: int | None) -> str:
    """A digest of what the page shows: the list's jobs, or one job and its log size."""
    state: Any
    if job_id is None:
        page = context.service.list_jobs(actor, view.to_filter())
        state = [[job.to_dict() for job in page.items], page.next_cursor]
    else:
        job = context.service.get(actor, job_id)
        state = [job.to_dict(), context.service.entries(actor, job_id, limit=1).counts]
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


@router.get("/events")
async def events(
    context: Annotated[WebContext, Depends(web)],
    caller: Annotated[Caller, Depends(page_caller)],
    view: Annotated[ListView, Depends(list_view)],
    job: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> EventSourceResponse:
    """A ``change`` event whenever the list (or the job) the page shows has changed."""

    async def stream() -> AsyncIterator[dict[str, str]]:
        last = None
        while True:
            try:
                current = await run_in_threadpool(fingerprint, context, caller.actor, view, job)
            except NotFound:
                yield {"event": "gone", "data": ""}
                return
            if current != last:
                last = current
                yield {"event": "change", "data": current[:16]}
            await anyio.sleep(LIVE_INTERVAL)

    return EventSourceResponse(stream(), ping=15)
