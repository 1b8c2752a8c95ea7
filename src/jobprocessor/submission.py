"""A submission's choices: title, priority, queue, timeout, and when it may start.

Each defaults to the job type's (docs/reference/scheduling.md); the REST API, the
CLI and ``Client.submit`` give them as ``SubmitOptions``. Checked before anything
is stored, naming the field at fault.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jobprocessor.errors import InvalidInput
from jobprocessor.model import Actor
from jobprocessor.queues import check_priority, check_queue_name, check_timeout
from jobprocessor.registry import JobType
from jobprocessor.store.records import NewJob

MAX_TITLE = 500
#: The longest delay a submission may ask for (about ten years).
MAX_DELAY = 10 * 366 * 86400.0


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """How one submission differs from its job type's defaults (None: the type's)."""

    title: str | None = None
    priority: int | None = None
    queue: str | None = None
    timeout: float | None = None
    #: Not before this moment (a time zone is required) ...
    run_at: datetime | None = None
    #: ... or not before this many seconds from now; not both.
    delay: float | None = None

    def start_after(self, now: datetime) -> datetime | None:
        """When the job may start; None for at once."""
        if self.run_at is not None and self.delay is not None:
            raise InvalidInput(
                "give run_at or delay, not both", fields={"run_at": "with delay", "delay": "with"}
            )
        if self.run_at is not None:
            if self.run_at.tzinfo is None or self.run_at.utcoffset() is None:
                raise InvalidInput(
                    "run_at needs a time zone (e.g. 2026-12-01T06:00:00+01:00 or …Z)",
                    fields={"run_at": "no time zone"},
                )
            return self.run_at
        if self.delay is not None:
            delay = self.delay
            if isinstance(delay, bool) or not isinstance(delay, int | float):
                raise InvalidInput("delay is a number of seconds", fields={"delay": "not a number"})
            if not (math.isfinite(delay) and 0 <= delay <= MAX_DELAY):
                raise InvalidInput(
                    f"delay must be 0 to {MAX_DELAY:.0f} seconds", fields={"delay": "range"}
                )
            return now + timedelta(seconds=delay) if delay > 0 else None
        return None


def new_job(
    actor: Actor,
    job_type: JobType,
    settings: dict[str, Any],
    options: SubmitOptions,
    *,
    now: datetime,
    schedule: tuple[str, datetime] | None = None,
) -> NewJob:
    """The job to store for validated settings and the submission's choices;
    ``schedule`` names the schedule and tick that submit it, if one does."""
    title = options.title
    if title is not None:
        title = title.strip()
        if not title or len(title) > MAX_TITLE or "\x00" in title:
            raise InvalidInput(
                f"title must be 1 to {MAX_TITLE} characters, without NUL",
                fields={"title": "length"},
            )
    queue = job_type.queue if options.queue is None else check_queue_name(options.queue)
    priority = job_type.priority if options.priority is None else check_priority(options.priority)
    timeout = job_type.timeout if options.timeout is None else check_timeout(options.timeout)
    limit = job_type.limit_of(settings)
    return NewJob(
        type=job_type.name,
        category=job_type.category,
        title=title or job_type.format_title(settings)[:MAX_TITLE],
        params=settings,
        submitted_by=actor.name,
        cancel_grace=job_type.cancel_grace,
        limit_key=limit[0] if limit else None,
        concurrency_limit=limit[1] if limit else None,
        max_retries=job_type.retries,
        queue=queue,
        priority=priority,
        timeout=timeout,
        run_at=options.start_after(now),
        schedule=schedule[0] if schedule else None,
        scheduled_for=schedule[1] if schedule else None,
    )
