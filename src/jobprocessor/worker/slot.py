"""A worker slot: one warm job process and the job it runs, driven by a claim lane.

A slot has no thread of its own: its lane waits on the pipes of all its slots at
once (``lane.py``), calls ``receive`` when a job wrote, and ``tick`` when a slot's
next deadline comes. The slot hands a claimed job to its process, stores what the
job sends (progress, log entries, files), forwards a cancel, and, when the job
ignores the cancel for ``cancel_grace`` seconds, ends the process (SIGTERM, then
SIGKILL) and starts a fresh one in the background, so that the lane's other slots
go on meanwhile. Every database write retries until it succeeds, so a database
restart delays a report but never loses it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Protocol, TypeVar

from jobprocessor.model import Event, Job, JobError, Progress, ReportEntry, Status
from jobprocessor.store.jobs import JobStore, Outcome, RunLease
from jobprocessor.worker import child, messages
from jobprocessor.worker.messages import (
    Artifact,
    Broken,
    Cancel,
    Canceled,
    Done,
    Exit,
    Failed,
    FromJob,
    LogEntry,
    ProgressUpdate,
    Ready,
    Run,
    Succeeded,
)
from jobprocessor.worker.spawning import job_process_context, start_without_main

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Retry(Protocol):
    """Runs a database action until the database answers."""

    def __call__(self, action: Callable[[], T]) -> T: ...


#: How long a terminated job process gets before SIGKILL.
TERMINATE_WAIT = 0.5
#: Buffered progress and log entries are written at most this often; a running
#: job's process is also checked for life this often.
FLUSH_INTERVAL = 0.25
#: The most messages of one job taken in a row, so that a chatty job cannot hold
#: up the other slots of its lane.
MESSAGES_IN_A_ROW = 64
STARTUP_TIMEOUT = 60.0


class ChildStartupError(RuntimeError):
    """A job process could not start (e.g. an app module failed to import)."""


@dataclass
class _Cancel:
    requested_at: float
    deadline: float
    reason: str
    #: The job's time limit asked it to stop, not a person (it ends failed, TimedOut).
    timed_out: bool = False


class _Fenced(Exception):
    """The run no longer holds its job: the database refused one of its writes."""


@dataclass
class _Running:
    """One job's run in the slot: what it reported and not yet stored, its cancel."""

    job: Job
    lease: RunLease
    progress: Progress | None = None
    entries: list[ReportEntry] = field(default_factory=list)
    last_flush: float = field(default_factory=time.monotonic)
    cancel: _Cancel | None = None
    #: When its time limit is reached (``time.monotonic()``), if it has one.
    deadline: float | None = None

    def __post_init__(self) -> None:
        if self.job.timeout is not None:
            self.deadline = time.monotonic() + self.job.timeout


class Slot:
    """One job at a time, in its own process, kept warm between jobs.

    Called by its lane's thread, except ``request_cancel`` and ``abandon`` (any
    thread: they set a flag and nudge the lane) and ``start``/``stop`` (the worker,
    before and after its lanes run).
    """

    def __init__(
        self,
        index: int,
        *,
        store: JobStore,
        apps: list[str],
        retry: Retry,
        report: Callable[[Slot, Job, Outcome], None],
        wake: Callable[[], None],
        environment: dict[str, str] | None = None,
    ) -> None:
        self.index = index
        self.store = store
        self.apps = apps
        self.environment = dict(environment or {})
        self._retry = retry
        self._report = report
        self._wake = wake
        self._context = job_process_context()
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        #: Jobs (and the final "exit") go on a pipe of their own, which the job
        #: process's main thread reads itself: a job starts without a hand-over
        #: from the thread that reads cancels.
        self._runs: Connection | None = None
        #: Set while a live process waits for a job or runs one; clear while a fresh
        #: one starts in the background (``_restart_in_background``).
        self._ready = threading.Event()
        self._closing = threading.Event()
        self._starter: threading.Thread | None = None
        self._cancel_request = threading.Event()
        self._cancel_reason = ""
        self._abandon = threading.Event()
        self._run: _Running | None = None
        #: The job the slot runs; read by other threads (cancels, queue caps).
        self.job: Job | None = None

    # -- the process, before and after the lanes run --------------------------

    def start(self) -> None:
        """Start the job process; if it cannot start, keep trying in the background
        (the slot takes no job meanwhile)."""
        try:
            self._start_process()
        except ChildStartupError:
            logger.exception("slot %d: job process failed to start", self.index)
            self._restart_in_background()
            return
        self._ready.set()

    def stop(self) -> None:
        """End the process (its lane has ended: no job runs)."""
        self._closing.set()
        if self._starter is not None:
            self._starter.join(STARTUP_TIMEOUT)
        self._exit_process()

    # -- called by the lane ---------------------------------------------------

    @property
    def free(self) -> bool:
        """No job runs, and a live process waits for one."""
        return self.job is None and self._ready.is_set()

    @property
    def pipe(self) -> Connection | None:
        """What the lane waits on while a job runs: the job's pipe."""
        return self._connection if self._run is not None else None

    def assign(self, job: Job) -> None:
        """Hand ``job`` to the slot's process (the slot is ``free``)."""
        self._cancel_request.clear()
        self._abandon.clear()
        self.job = job
        if not self._send_run(job):
            # The process ended while it waited for a job: one more, at once.
            self._kill_process()
            try:
                self._start_process()
            except ChildStartupError:
                logger.exception("slot %d: job process failed to start", self.index)
            if not self._send_run(job):
                error = JobError("WorkerError", "no job process")
                self._end(job, Outcome(Status.FAILED, error=error))
                self._restart_in_background()
                return
        self._run = _Running(job, RunLease.of(job))

    def receive(self) -> None:
        """Take what the job wrote (its pipe is readable)."""
        run, connection = self._run, self._connection
        if run is None or connection is None:
            return
        try:
            for _ in range(MESSAGES_IN_A_ROW):
                try:
                    message = _from_job(connection)
                except (EOFError, OSError):
                    self._process_died(run)
                    return
                if self._handle(run, message) or not connection.poll(0):
                    return
        except _Fenced:
            self._fenced(run)
        except Exception:
            self._broke(run)

    def tick(self, now: float) -> float | None:
        """Act on what is due for the running job: a cancel, its time limit, a forced
        stop, a flush. When to be ticked next (``time.monotonic()``); None if idle."""
        run = self._run
        if run is None:
            return None
        try:
            if self._abandon.is_set():
                self._run = self.job = None
                self._restart_in_background()
                return None
            if run.cancel is None and self._cancel_request.is_set():
                run.cancel = _Cancel(now, now + run.job.cancel_grace, self._cancel_reason)
                self._send_quietly(Cancel(run.job.id))
            if run.cancel is None and run.deadline is not None and now >= run.deadline:
                self._time_out(run, now)
            if run.cancel is not None and now >= run.cancel.deadline:
                self._stop_by_force(run)
                return None
            if now - run.last_flush >= FLUSH_INTERVAL:
                if self._process is None or not self._process.is_alive():
                    self.receive()  # what it wrote before it ended, then its end
                    return None if self._run is None else now
                self._flush(run)
        except _Fenced:
            self._fenced(run)
            return None
        except Exception:
            self._broke(run)
            return None
        due = run.last_flush + FLUSH_INTERVAL
        if run.cancel is not None:
            return min(due, run.cancel.deadline)
        if run.deadline is not None:
            return min(due, run.deadline)
        return due

    # -- called by any thread -------------------------------------------------

    def request_cancel(self, job_id: int, reason: str) -> None:
        """Forward a cancel to the running job (idempotent)."""
        job = self.job
        if job is not None and job.id == job_id and not self._cancel_request.is_set():
            self._cancel_reason = reason
            self._cancel_request.set()
            self._wake()

    def abandon(self) -> None:
        """Stop the job without recording anything (another worker took it over)."""
        if self.job is not None:
            self._abandon.set()
            self._wake()

    # -- the run ----------------------------------------------------------------

    def _send_run(self, job: Job) -> bool:
        """Hand ``job`` to a live process; False if there is none.

        A process that ended while it waited has closed its end of the pipe: the
        write fails (``BrokenPipeError``). Asking ``is_alive()`` first cost a system
        call per job, and could not close the race with a process that ends just after.
        """
        runs = self._runs
        if self._process is None or runs is None:
            return False
        try:
            messages.send(runs, _run_message(job))
        except (OSError, ValueError):
            return False
        return True

    def _handle(self, run: _Running, message: FromJob) -> bool:
        """Take one of the job's messages; True once the job has ended."""
        match message:
            case ProgressUpdate(done, total, text):
                run.progress = Progress(done, total, text)
            case LogEntry(at, level, text):
                run.entries.append(ReportEntry(datetime.fromtimestamp(at, UTC), level, text))
            case Artifact(name, media_type, data):
                add = self.store.reports.add_artifact
                if not self._retry(functools.partial(add, run.lease, name, media_type, data)):
                    raise _Fenced
            case Succeeded() | Canceled() | Failed():
                self._flush(run)
                self._end(run.job, _outcome(message, run))
                return True
            case _:
                logger.warning("slot %d: unexpected message %r", self.index, message)
        return False

    def _time_out(self, run: _Running, now: float) -> None:
        """The job reached its time limit: cancel it as a person would (cooperatively,
        then by force after ``cancel_grace``), and say so in its timeline."""
        job = run.job
        reason = f"its time limit of {job.timeout:g} s"
        run.cancel = _Cancel(now, now + job.cancel_grace, reason, timed_out=True)
        self._send_quietly(Cancel(job.id))
        detail = f"ran for its time limit of {job.timeout:g} s; asked to stop"
        add = self.store.reports.add_event
        if not self._retry(functools.partial(add, run.lease, Event.TIMED_OUT, detail)):
            raise _Fenced

    def _stop_by_force(self, run: _Running) -> None:
        """The job ignored its cancel for its grace period: end its process."""
        assert run.cancel is not None
        self._flush(run)
        self._kill_process()
        detail = (
            f"did not stop within {run.job.cancel_grace:g} s of the cancel request "
            f"({run.cancel.reason}); its process was ended"
        )
        if run.cancel.timed_out:
            outcome = Outcome(Status.FAILED, error=_timed_out(run.job), forced=True, detail=detail)
        else:
            outcome = Outcome(Status.CANCELED, forced=True, detail=detail)
        self._end(run.job, outcome)
        self._restart_in_background()

    def _process_died(self, run: _Running) -> None:
        """The job's process ended without an outcome (a crash, or killed from outside)."""
        self._flush(run)
        process = self._process
        if process is not None:
            process.join(TERMINATE_WAIT)  # its pipe closed as it ended: reap it
        code = process.exitcode if process is not None else None
        error = JobError(
            "JobProcessDied", f"the job's process ended unexpectedly (exit code {code})"
        )
        if run.cancel is not None and run.cancel.timed_out:
            outcome = Outcome(Status.FAILED, error=_timed_out(run.job), detail=error.message)
        elif run.cancel is not None:
            outcome = Outcome(Status.CANCELED, detail=error.message)
        else:
            outcome = Outcome(Status.FAILED, error=error, detail=error.message)
        self._end(run.job, outcome)
        self._restart_in_background()

    def _fenced(self, run: _Running) -> None:
        """The database refused one of the run's writes: the job was taken from this
        worker. Its process ends; nothing more of this run is stored."""
        self._run = self.job = None
        self._restart_in_background()
        logger.warning(
            "job %d: this run (attempt %d) no longer holds the job, which was taken "
            "from this worker; its process was ended and what it still reported dropped",
            run.job.id,
            run.lease.attempt,
        )

    def _broke(self, run: _Running) -> None:
        """Following the job failed for a reason no retry mends (a value the database
        refuses, a bug): the job fails, its process is replaced, and the lane with
        its other slots goes on."""
        logger.exception("slot %d: unexpected error running job %d", self.index, run.job.id)
        if self._run is run:
            error = JobError("WorkerError", "the worker could not follow the job (see its log)")
            self._end(run.job, Outcome(Status.FAILED, error=error, detail=error.message))
        self._restart_in_background()

    def _flush(self, run: _Running) -> None:
        """Store what the job reported since the last flush (raises ``_Fenced`` if the
        run no longer holds the job)."""
        reports, lease = self.store.reports, run.lease
        if run.entries:
            batch, run.entries = run.entries, []
            if not self._retry(lambda: reports.add_entries(lease, batch)):
                raise _Fenced
        if run.progress is not None:
            progress, run.progress = run.progress, None
            if not self._retry(lambda: reports.record_progress(lease, progress)):
                raise _Fenced
        run.last_flush = time.monotonic()

    def _end(self, job: Job, outcome: Outcome) -> None:
        """The job ended: the slot is free, and the outcome goes to the lane, which
        writes it with its next round (before it claims another job for this slot).

        A worker that dies before that round commits leaves the job running in the
        database, to be rescued like any job of a lost worker.
        """
        self._run = self.job = None
        self._report(self, job, outcome)

    # -- the process ----------------------------------------------------------

    def _start_process(self) -> None:
        parent, child_end = self._context.Pipe(duplex=True)
        runs_end, runs = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=child.main,
            args=(child_end, runs_end, self.apps, {**os.environ, **self.environment}),
            name=f"jobprocessor-job-{self.index}",
            daemon=True,
        )
        start_without_main(process)
        child_end.close()
        runs_end.close()
        if not parent.poll(STARTUP_TIMEOUT):
            process.kill()
            raise ChildStartupError("job process did not start in time")
        try:
            hello = messages.receive(parent)
        except EOFError:
            raise ChildStartupError(f"job process exited with code {process.exitcode}") from None
        if not isinstance(hello, Ready):
            process.join(1)
            reason = hello.reason if isinstance(hello, Broken) else repr(hello)
            raise ChildStartupError(f"job process could not start: {reason}")
        self._process, self._connection, self._runs = process, parent, runs

    def _restart_in_background(self) -> None:
        """End the process, and start a fresh one in a thread of its own: the slot is
        not ``free`` until it is ready, and nudges its lane then."""
        self._kill_process()
        self._ready.clear()
        self._starter = threading.Thread(
            target=self._start_until_ready, name=f"slot-{self.index}-start", daemon=True
        )
        self._starter.start()

    def _start_until_ready(self) -> None:
        while not self._closing.is_set():
            try:
                self._start_process()
            except ChildStartupError:
                logger.exception("slot %d: job process failed to start; retrying", self.index)
                self._closing.wait(1.0)
                continue
            self._ready.set()
            self._wake()
            return

    def _kill_process(self) -> None:
        process, self._process = self._process, None
        for pipe in (self._connection, self._runs):
            if pipe is not None:
                pipe.close()
        self._connection = self._runs = None
        if process is None:
            return
        if process.is_alive():
            process.terminate()
            process.join(TERMINATE_WAIT)
        if process.is_alive():
            process.kill()
            process.join()
        process.close()

    def _exit_process(self) -> None:
        process = self._process
        if process is not None and process.is_alive() and self._runs is not None:
            with contextlib.suppress(OSError, ValueError):
                messages.send(self._runs, Exit())
            process.join(2.0)
        self._kill_process()

    def _send_quietly(self, message: Cancel) -> None:
        try:
            if self._connection is not None:
                messages.send(self._connection, message)
        except (OSError, ValueError):
            pass


def _from_job(connection: Connection) -> FromJob:
    message = messages.receive(connection)
    assert not isinstance(message, Run | Exit | Cancel), message
    return message


def _run_message(job: Job) -> Run:
    return Run(job.id, job.type, job.params, job.submitted_by)


def _timed_out(job: Job) -> JobError:
    return JobError("TimedOut", f"stopped: it ran longer than its time limit of {job.timeout:g} s")


def _outcome(message: Done, run: _Running) -> Outcome:
    """The outcome to record for how the job said it ended."""
    cancel = run.cancel
    match message:
        case Succeeded(result):
            detail = None
            if cancel is not None:
                asked = "its time limit" if cancel.timed_out else "the cancel"
                detail = f"finished before {asked} took effect"
            return Outcome(Status.SUCCEEDED, result=result, detail=detail)
        case Canceled(reason):
            if cancel is not None and cancel.timed_out:
                return Outcome(Status.FAILED, error=_timed_out(run.job))
            return Outcome(Status.CANCELED, detail="stopped on request" if cancel else reason)
        case Failed(error_type, text, traceback):
            return Outcome(Status.FAILED, error=JobError(error_type, text, traceback))
