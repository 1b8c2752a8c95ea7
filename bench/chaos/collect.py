"""What the checks look at once the chaos is over: every job with its timeline,
files and log lines (from the database), and every run of it (from the stamps the
runs wrote themselves, outside the database)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.chaos.pg import libpq
from bench.chaos_jobs import END, FILES, START


@dataclass
class Run:
    """One run of a job, as it stamped itself: its token, its worker's pid, its times."""

    job_id: int
    token: str
    worker_pid: int
    start: float
    files: float | None = None
    end: float | None = None

    @property
    def last_sign(self) -> float:
        """The last time the run was seen alive."""
        return max(t for t in (self.start, self.files, self.end) if t is not None)


@dataclass(frozen=True)
class EventRow:
    at: float
    event: str
    detail: str | None


@dataclass(frozen=True)
class Written:
    """A file or a log line of a job's report: when, and the run it names."""

    at: float
    what: str
    text: str


@dataclass
class JobRecord:
    id: int
    type: str
    status: str
    attempts: int
    max_retries: int
    result: Any
    error_type: str | None
    events: list[EventRow] = field(default_factory=list)
    files: list[Written] = field(default_factory=list)
    lines: list[Written] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)


def _epoch(value: datetime) -> float:
    return value.timestamp()


def read_jobs(url: str) -> dict[int, JobRecord]:
    """Every job of the run's database with its timeline, files and log lines."""
    with psycopg.connect(libpq(url), row_factory=dict_row) as connection:
        jobs = {
            r["id"]: JobRecord(
                r["id"],
                r["type"],
                r["status"],
                r["attempts"],
                r["max_retries"],
                r["result"],
                r["error_type"],
            )
            for r in connection.execute(
                "SELECT id, type, status, attempts, max_retries, result, error_type"
                " FROM jobprocessor_jobs"
            )
        }
        for r in connection.execute(
            "SELECT job_id, at, event, detail FROM jobprocessor_job_events ORDER BY id"
        ):
            jobs[r["job_id"]].events.append(EventRow(_epoch(r["at"]), r["event"], r["detail"]))
        for r in connection.execute(
            "SELECT job_id, name, created_at, data FROM jobprocessor_job_artifacts ORDER BY id"
        ):
            text = bytes(r["data"]).decode(errors="replace")
            jobs[r["job_id"]].files.append(Written(_epoch(r["created_at"]), r["name"], text))
        for r in connection.execute(
            "SELECT job_id, at, message FROM jobprocessor_job_entries ORDER BY id"
        ):
            jobs[r["job_id"]].lines.append(Written(_epoch(r["at"]), "log", r["message"]))
    return jobs


def read_runs(stamps: Path) -> list[Run]:
    """Every run the stamp files tell of (``bench/chaos_jobs.py``)."""
    runs: dict[tuple[int, str], Run] = {}
    for path in sorted(stamps.glob("runs-*.txt")):
        for line in path.read_text().splitlines():
            job_id, token, worker_pid, phase, at = line.split()
            key = (int(job_id), token)
            if phase == START:
                runs[key] = Run(int(job_id), token, int(worker_pid), float(at))
            elif phase == FILES and key in runs:
                runs[key].files = float(at)
            elif phase == END and key in runs:
                runs[key].end = float(at)
    return list(runs.values())


def attach_runs(jobs: dict[int, JobRecord], runs: list[Run]) -> list[Run]:
    """Give each job its runs (by start time); the runs of unknown jobs are returned."""
    strays = []
    for run in sorted(runs, key=lambda r: r.start):
        if run.job_id in jobs:
            jobs[run.job_id].runs.append(run)
        else:
            strays.append(run)
    return strays


# -- kept beside the run, so that its checks can be run again (``--recheck``) ----------

EVIDENCE = "evidence.json"


def save(run_dir: Path, jobs: dict[int, JobRecord], facts: dict[str, Any]) -> None:
    """The jobs as read (their runs are in the stamps) and the run's facts, as JSON."""
    rows = [dataclasses.asdict(dataclasses.replace(j, runs=[])) for j in jobs.values()]
    (run_dir / EVIDENCE).write_text(json.dumps({"jobs": rows, **facts}, default=str))


def load(run_dir: Path) -> tuple[dict[int, JobRecord], dict[str, Any]]:
    """What ``save`` kept: the jobs (without their runs) and the run's facts."""
    doc = json.loads((run_dir / EVIDENCE).read_text())
    jobs = {}
    for row in doc.pop("jobs"):
        job = JobRecord(**{k: v for k, v in row.items() if k not in _LISTS})
        job.events = [EventRow(**e) for e in row["events"]]
        job.files = [Written(**w) for w in row["files"]]
        job.lines = [Written(**w) for w in row["lines"]]
        jobs[job.id] = job
    return jobs, doc


_LISTS = ("events", "files", "lines", "runs")
