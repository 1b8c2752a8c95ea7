"""How the CLI prints jobs and reports for people (``--json``: docs/reference/job-json.md)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer

from jobprocessor.model import Job, Report


def print_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def duration(job: Job) -> str:
    if job.started_at is None:
        return "-"
    end = job.finished_at or datetime.now(job.started_at.tzinfo)
    seconds = (end - job.started_at).total_seconds()
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}min"


def progress_text(job: Job) -> str:
    fraction = job.progress.fraction
    text = f"{fraction:.0%}" if fraction is not None else ""
    if job.progress.message:
        text = f"{text} {job.progress.message}".strip()
    return text or "-"


def job_table(jobs: list[Job]) -> str:
    """A plain table, one job a line, newest first."""
    headers = ["ID", "STATUS", "TYPE", "TITLE", "USER", "CREATED", "DURATION", "PROGRESS"]
    rows = [
        [
            str(j.id),
            j.status.value,
            j.type,
            _shorten(j.title, 40),
            j.submitted_by,
            _when(j.created_at),
            duration(j),
            _shorten(progress_text(j), 30),
        ]
        for j in jobs
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def job_details(job: Job) -> str:
    lines = [
        f"Job #{job.id}: {job.title}",
        f"  type:         {job.type} ({job.category})",
        f"  status:       {job.status.value} ({job.status_group.value})",
        f"  submitted by: {job.submitted_by} at {_when(job.created_at)}",
        f"  started:      {_when(job.started_at)}",
        f"  finished:     {_when(job.finished_at)}",
        f"  duration:     {duration(job)}",
        f"  progress:     {progress_text(job)}",
        f"  settings:     {json.dumps(job.params, ensure_ascii=False)}",
    ]
    if job.restarted_from is not None:
        lines.append(f"  restarted from: #{job.restarted_from}")
    if job.cancel_requested_by:
        lines.append(
            f"  cancel requested by {job.cancel_requested_by} at {_when(job.cancel_requested_at)}"
        )
    if job.error is not None:
        lines.append(f"  error:        {job.error.type}: {job.error.message}")
    if job.result is not None:
        lines.append(f"  result:       {json.dumps(job.result, ensure_ascii=False)}")
    return "\n".join(lines)


def report_text(report: Report) -> str:
    parts = [job_details(report.job), "", "Timeline:"]
    for event in report.events:
        by = f" by {event.by}" if event.by else ""
        detail = f" ({event.detail})" if event.detail else ""
        parts.append(f"  {_when(event.at)}  {event.event}{by}{detail}")
    parts += ["", f"Log ({len(report.entries)} entries):"]
    parts += [f"  {_when(e.at)}  {e.level:<8} {e.message}" for e in report.entries]
    if report.artifacts:
        parts += ["", "Files:"]
        parts += [f"  {a.name}  {a.media_type}  {a.size} bytes" for a in report.artifacts]
    if report.job.error is not None and report.job.error.traceback:
        parts += ["", "Traceback:", report.job.error.traceback.rstrip()]
    return "\n".join(parts)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
