"""How jobs read in the console: durations, remaining time, sizes, labels.

Pure functions of a job and the current time, used as Jinja filters, so that
the list, the report page and the tests share one wording.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jobprocessor.model import Job, Status, StatusGroup, iso, utcnow

STATUS_LABELS = {
    Status.QUEUED: "Queued",
    Status.RUNNING: "Running",
    Status.CANCELING: "Canceling",
    Status.SUCCEEDED: "Succeeded",
    Status.FAILED: "Failed",
    Status.CANCELED: "Canceled",
}
GROUP_LABELS = {
    StatusGroup.ALL: "All",
    StatusGroup.ACTIVE: "Active",
    StatusGroup.SUCCEEDED: "Succeeded",
    StatusGroup.FAILED: "Failed",
    StatusGroup.CANCELED: "Canceled",
    StatusGroup.FINISHED: "Finished",
}
EVENT_LABELS = {
    "submitted": "Submitted",
    "restarted_from": "Restarted from",
    "started": "Started",
    "cancel_requested": "Cancel requested",
    "stopped_by_force": "Stopped by force",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "canceled": "Canceled",
    "worker_lost": "Worker lost",
    "requeued": "Re-queued",
}
#: A remaining time is only estimated once this much of the job is done.
MIN_FRACTION_FOR_ETA = 0.02


def seconds_text(seconds: float | None) -> str:
    """A short duration: '0.4 s', '12 s', '3 min 05 s', '2 h 07 min'."""
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def duration(job: Job, now: datetime | None = None) -> float | None:
    """Seconds the job has run (so far, if it still runs)."""
    if job.started_at is None:
        return None
    end = job.finished_at or now or utcnow()
    return (end - job.started_at).total_seconds()


def eta(job: Job, now: datetime | None = None) -> float | None:
    """Seconds left, from the progress so far, for a running job; None if unknown."""
    fraction = job.progress.fraction
    elapsed = duration(job, now)
    if (
        job.status is not Status.RUNNING
        or fraction is None
        or fraction < MIN_FRACTION_FOR_ETA
        or elapsed is None
    ):
        return None
    return elapsed * (1 - fraction) / fraction


def size_text(size: int) -> str:
    """A file size a person reads at a glance: '812 B', '14.2 kB', '3.1 MB'."""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def percent(fraction: float | None) -> str:
    return "" if fraction is None else f"{fraction * 100:.0f} %"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def param_text(value: Any) -> str:
    """A setting's value as a person writes it: strings plain, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


FILTERS = {
    "seconds": seconds_text,
    "size": size_text,
    "percent": percent,
    "pretty_json": pretty_json,
    "param_text": param_text,
    "iso": iso,
}
GLOBALS = {
    "duration": duration,
    "eta": eta,
    "STATUS_LABELS": STATUS_LABELS,
    "GROUP_LABELS": GROUP_LABELS,
    "EVENT_LABELS": EVENT_LABELS,
}
