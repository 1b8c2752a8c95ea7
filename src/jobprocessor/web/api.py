"""The REST API under ``/api/v1`` (docs/reference/rest.md). Every route calls the service.

Handlers are plain ``def``: the service is synchronous and FastAPI runs them in
its thread pool. Answers are the model's own JSON (``to_dict``), sent without a
second validation; the ``response_model`` of each route documents them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response

from jobprocessor.model import Status, StatusGroup, utcnow
from jobprocessor.service import MAX_PAGE, ListFilter
from jobprocessor.web.context import WebContext, web
from jobprocessor.web.schemas import (
    MAX_ID,
    BulkIn,
    BulkOut,
    ErrorOut,
    JobOut,
    JobPage,
    JobTypeOut,
    PlainText,
    QueueOut,
    ReportOut,
    ScheduleOut,
    SubmitIn,
    UserOut,
    WorkerOut,
)
from jobprocessor.web.security import Caller, api_caller

ARTIFACT_URL = "/api/v1/jobs/{id}/artifacts/{name}"
#: A report's file may be anything a job wrote: it is shown sandboxed, never as our page.
ARTIFACT_POLICY = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_MEDIA_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(; *[\w.+-]+=[\w.+-]+)*$")

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 413, 422)
}

router = APIRouter(responses=ERRORS)
Web = Annotated[WebContext, Depends(web)]
Who = Annotated[Caller, Depends(api_caller)]
JobIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The job's id.")]
Filter = Annotated[str | None, Query(max_length=200, pattern=PlainText)]


@router.get("/jobs", response_model=JobPage, tags=["jobs"])
def list_jobs(
    context: Web,
    caller: Who,
    status_group: StatusGroup = StatusGroup.ALL,
    status: Status | None = None,
    user: Filter = None,
    type: Filter = None,
    category: Filter = None,
    queue: Filter = None,
    q: Filter = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=20, pattern=PlainText)] = None,
) -> Response:
    """Jobs, newest first, filtered; ``next_cursor`` fetches the following page."""
    page = context.service.list_jobs(
        caller.actor,
        ListFilter(
            status_group=status_group,
            status=status,
            user=user,
            type=type,
            category=category,
            queue=queue,
            q=q,
            limit=limit,
            cursor=cursor,
        ),
    )
    return JSONResponse(
        {"items": [job.to_dict() for job in page.items], "next_cursor": page.next_cursor}
    )


@router.post("/jobs", status_code=201, response_model=JobOut, tags=["jobs"])
def submit_job(body: SubmitIn, context: Web, caller: Who) -> Response:
    """Queue a job; its settings are validated first (422 names each bad field)."""
    job = context.service.submit(caller.actor, body.type, body.params, body.options())
    return JSONResponse(job.to_dict(), status_code=201)


@router.post("/jobs/bulk/{action}", response_model=BulkOut, tags=["jobs"])
def bulk_action(
    action: Literal["cancel", "restart", "delete"], body: BulkIn, context: Web, caller: Who
) -> Response:
    """One action on many jobs; each id gets its own outcome, and one refusal stops no other."""
    results = context.service.bulk(caller.actor, action, body.ids)
    return JSONResponse({"results": [result.to_dict() for result in results]})


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["jobs"])
def get_job(job_id: JobIdPath, context: Web, caller: Who) -> Response:
    """One job."""
    return JSONResponse(context.service.get(caller.actor, job_id).to_dict())


@router.get("/jobs/{job_id}/report", response_model=ReportOut, tags=["jobs"])
def get_report(job_id: JobIdPath, context: Web, caller: Who) -> Response:
    """Result, log entries, files and timeline of a job."""
    report = context.service.report(caller.actor, job_id)
    return JSONResponse(report.to_dict(artifact_url=ARTIFACT_URL))


@router.get(
    "/jobs/{job_id}/artifacts/{name:path}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
    tags=["jobs"],
)
def get_artifact(
    job_id: JobIdPath,
    name: Annotated[str, Path(max_length=255, pattern=PlainText)],
    context: Web,
    caller: Who,
    download: bool = False,
) -> Response:
    """A file of a job's report, as the job wrote it."""
    info, data = context.service.artifact(caller.actor, job_id, name)
    return artifact_response(info.name, info.media_type, data, download=download)


def artifact_response(name: str, media_type: str, data: bytes, *, download: bool) -> Response:
    """The file's bytes, sandboxed so that an HTML file cannot act as the console."""
    if not _MEDIA_TYPE.match(media_type):
        media_type = "application/octet-stream"
    disposition = "attachment" if download else "inline"
    return Response(
        content=data,
        media_type=media_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
            "Content-Security-Policy": ARTIFACT_POLICY,
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/jobs/{job_id}/cancel", status_code=202, response_model=JobOut, tags=["jobs"])
def cancel_job(job_id: JobIdPath, context: Web, caller: Who) -> Response:
    """Cancel: a queued job at once, a running one is asked to stop (then stopped by force)."""
    return JSONResponse(context.service.cancel(caller.actor, job_id).to_dict(), status_code=202)


@router.post("/jobs/{job_id}/restart", status_code=201, response_model=JobOut, tags=["jobs"])
def restart_job(job_id: JobIdPath, context: Web, caller: Who) -> Response:
    """Start a finished job again, as a new job with its original settings."""
    return JSONResponse(context.service.restart(caller.actor, job_id).to_dict(), status_code=201)


@router.delete("/jobs/{job_id}", status_code=204, response_class=Response, tags=["jobs"])
def delete_job(job_id: JobIdPath, context: Web, caller: Who) -> Response:
    """Delete a finished job with its report and files."""
    context.service.delete(caller.actor, job_id)
    return Response(status_code=204)


@router.get("/job-types", response_model=list[JobTypeOut], tags=["job types"])
def job_types(context: Web, caller: Who) -> Response:
    """The job types this server knows, with the JSON Schema of their parameters."""
    return JSONResponse(
        [
            {
                "name": t.name,
                "category": t.category,
                "title": t.title,
                "description": t.description,
                "cancel_grace": t.cancel_grace,
                "lock": t.lock,
                "retries": t.retries,
                "params_schema": t.params_schema(),
            }
            for t in context.service.job_types()
        ]
    )


@router.get("/users", response_model=list[UserOut], tags=["users"])
def list_users(context: Web, caller: Who) -> Response:
    """Users to filter by: everyone for an admin, yourself otherwise."""
    return JSONResponse([u.to_dict() for u in context.service.visible_users(caller.actor)])


@router.get("/workers", response_model=list[WorkerOut], tags=["workers"])
def list_workers(context: Web, caller: Who) -> Response:
    """Live workers and the jobs they run (admins only)."""
    return JSONResponse([w.to_dict() for w in context.service.workers(caller.actor)])


@router.get("/queues", response_model=list[QueueOut], tags=["workers"])
def list_queues(context: Web, caller: Who) -> Response:
    """Queues with their waiting and running jobs, limits and workers (admins only)."""
    now = utcnow()
    return JSONResponse([q.to_dict(now) for q in context.service.queues(caller.actor)])


@router.get("/schedules", response_model=list[ScheduleOut], tags=["schedules"])
def list_schedules(context: Web, caller: Who) -> Response:
    """Recurring schedules, with their next run and last job (admins only)."""
    return JSONResponse([s.to_dict() for s in context.service.schedules.all(caller.actor)])


ScheduleName = Annotated[str, Path(max_length=100, pattern=PlainText)]


@router.post("/schedules/{name}/pause", response_model=ScheduleOut, tags=["schedules"])
def pause_schedule(name: ScheduleName, context: Web, caller: Who) -> Response:
    """Pause a schedule: it submits nothing until resumed."""
    return JSONResponse(context.service.schedules.pause(caller.actor, name).to_dict())


@router.post("/schedules/{name}/resume", response_model=ScheduleOut, tags=["schedules"])
def resume_schedule(name: ScheduleName, context: Web, caller: Who) -> Response:
    """Resume a schedule; the ticks it missed while paused follow its policy."""
    return JSONResponse(context.service.schedules.resume(caller.actor, name).to_dict())
