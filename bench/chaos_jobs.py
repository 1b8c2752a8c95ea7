"""The chaos run's job types (``bench/chaos``): every run names itself and says so.

Each run of a job makes a token of its own (its process id and a random part) and
appends ``job_id token worker_pid phase time`` to a file of its process in the
directory ``CHAOS_STAMPS`` when it starts, when it has sent its files (reports; and
when it will) and when it returns (one short
``O_APPEND`` write per line: no locks, and a run killed mid-way leaves what it
wrote). The chaos run counts runs from these files, outside the database, and
matches every file, log line and result in a job's report to the run that made it.

Four types, two bodies by two retry policies: ``plain`` sleeps (0 s is a no-op);
``report`` logs that it began, writes ``result.txt`` and ``extra-<token>.txt``
halfway, logs that it finished, both naming the run, and returns the token.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from jobprocessor import JobContext, job

ENV = "CHAOS_STAMPS"
#: Phases a run stamps: it started, it will send its files at (reports), it sent them,
#: it returned.
START, DUE, FILES, END = "start", "due", "files", "end"

_fd: list[int] = []


def stamp(job_id: int, token: str, phase: str, at: float | None = None) -> None:
    """Append one line about this run to the process's stamp file (``at``: now)."""
    if not _fd:
        path = Path(os.environ[ENV]) / f"runs-{os.getpid()}.txt"
        _fd.append(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))
    line = f"{job_id} {token} {os.getppid()} {phase} {at or time.time():.6f}\n"
    os.write(_fd[0], line.encode())


def new_token() -> str:
    """This run's name: its process and a random part (a process runs many jobs)."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def _plain(ctx: JobContext, seconds: float) -> dict[str, Any]:
    token = new_token()
    stamp(ctx.job_id, token, START)
    if seconds > 0:
        time.sleep(seconds)
    stamp(ctx.job_id, token, END)
    return {"token": token}


def _report(ctx: JobContext, seconds: float) -> dict[str, Any]:
    token = new_token()
    stamp(ctx.job_id, token, START)
    # When its files will go: the chaos run pauses or cuts off a worker before that.
    stamp(ctx.job_id, token, DUE, time.time() + seconds / 2)
    ctx.log.info("run %s began", token)
    time.sleep(seconds / 2)
    ctx.add_artifact("result.txt", token, "text/plain")
    ctx.add_artifact(f"extra-{token}.txt", token, "text/plain")
    stamp(ctx.job_id, token, FILES)
    time.sleep(seconds / 2)
    ctx.log.info("run %s finished", token)
    stamp(ctx.job_id, token, END)
    return {"token": token}


@job("chaos.plain", category="diagnostics", title="Sleep {seconds} s", cancel_grace=1.0)
def plain(ctx: JobContext, seconds: float = 0.0) -> dict[str, Any]:
    """Sleeps (0: a no-op); never run twice (retries=0)."""
    return _plain(ctx, seconds)


@job(
    "chaos.plain_retry",
    category="diagnostics",
    title="Sleep {seconds} s, retried",
    cancel_grace=1.0,
    retries=2,
)
def plain_retry(ctx: JobContext, seconds: float = 0.0) -> dict[str, Any]:
    """Sleeps; re-queued (twice at most) if its worker is lost."""
    return _plain(ctx, seconds)


@job("chaos.report", category="diagnostics", title="Report in {seconds} s", cancel_grace=1.0)
def report(ctx: JobContext, seconds: float = 0.5) -> dict[str, Any]:
    """Writes two files and two log lines naming its run; never run twice."""
    return _report(ctx, seconds)


@job(
    "chaos.report_retry",
    category="diagnostics",
    title="Report in {seconds} s, retried",
    cancel_grace=1.0,
    retries=2,
)
def report_retry(ctx: JobContext, seconds: float = 0.5) -> dict[str, Any]:
    """Writes two files and two log lines naming its run; re-queued if its worker is lost."""
    return _report(ctx, seconds)


#: Every type and its retries, for the chaos run's checks.
RETRIES = {"chaos.plain": 0, "chaos.plain_retry": 2, "chaos.report": 0, "chaos.report_retry": 2}
