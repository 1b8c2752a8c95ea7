"""Who held a job when: its attempts, read from its timeline, and which run was which.

An attempt begins with a ``started`` event (``worker <id>``: the claim) and ends with
the first ``worker_lost`` or final event after it: from then on its run may change
nothing of the job (fencing). A run (a stamp of ``bench/chaos_jobs.py``) belongs to
the latest attempt claimed by its worker's process before the run began.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench.chaos.collect import JobRecord, Run

FINAL = ("succeeded", "failed", "canceled")
_WORKER = re.compile(r"worker (\S+)")
#: A run's token names its file and log lines: ``run <token> began``, ``extra-<token>.txt``.
_LINE = re.compile(r"^run (\S+) (began|finished)$")
_EXTRA = re.compile(r"^extra-(\S+)\.txt$")


@dataclass
class Attempt:
    number: int
    worker_id: str
    began: float
    ended: float | None = None
    #: The event that ended it: worker_lost, or the final status.
    ended_by: str | None = None
    run: Run | None = None


def worker_of(detail: str | None) -> str | None:
    """The worker id an event's detail names (``worker <id> …``)."""
    match = _WORKER.search(detail or "")
    return match[1] if match else None


def worker_pid(worker_id: str) -> int | None:
    """The pid in a worker id (``<host>-<pid>-<random>``)."""
    parts = worker_id.rsplit("-", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def attempts(job: JobRecord) -> list[Attempt]:
    """The job's attempts, in order, from its timeline."""
    found: list[Attempt] = []
    for event in job.events:
        if event.event == "started":
            found.append(Attempt(len(found) + 1, worker_of(event.detail) or "?", event.at))
        elif event.event in ("worker_lost", *FINAL) and found and found[-1].ended is None:
            found[-1].ended, found[-1].ended_by = event.at, event.event
    return found


def match_runs(job: JobRecord, held: list[Attempt]) -> list[Run]:
    """Give each attempt its run; the runs that fit no attempt are returned."""
    unmatched = []
    for run in job.runs:
        fits = [
            a
            for a in held
            if a.run is None and worker_pid(a.worker_id) == run.worker_pid and a.began <= run.start
        ]
        if fits:
            fits[-1].run = run
        else:
            unmatched.append(run)
    return unmatched


def writer(text: str, what: str) -> str | None:
    """The token of the run that wrote a file (its name or content) or a log line."""
    if what == "log":
        match = _LINE.match(text)
        return match[1] if match else None
    extra = _EXTRA.match(what)
    if extra:
        return extra[1]
    return text.strip() or None
