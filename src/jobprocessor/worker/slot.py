"""A worker slot: one warm job process and the thread that drives it.

The slot's thread hands a claimed job to its process, stores what the job sends
(progress, log entries, files), forwards a cancel, and, when the job ignores
the cancel for ``cancel_grace`` seconds, ends the process (SIGTERM, then SIGKILL)
and starts a fresh one. Every database write retries until it succeeds, so a
database restart delays a report but never loses it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue
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
#: Buffered progress and log entries are written at most this often.
FLUSH_INTERVAL = 0.25
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
    """One job at a time, in its own process, kept warm between jobs."""

    def __init__(
        self,
        index: int,
        *,
        worker_id: str,
        store: JobStore,
        apps: list[str],
        on_free: Callable[[Slot], None],
        retry: Retry,
        report: Callable[[Slot, Job, Outcome], None],
        environment: dict[str, str] | None = None,
    ) -> None:
        self.index = index
        self.worker_id = worker_id
        self.store = store
        self.apps = apps
        self.environment = dict(environment or {})
        self._on_free = on_free
        self._retry = retry
        self._report = report
        self._inbox: queue.Queue[tuple[Job, bool] | None] = queue.Queue()
        self._context = job_process_context()
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        #: Jobs (and the final "exit") go on a pipe of their own, which the job
        #: process's main thread reads itself: a job starts without a hand-over
        #: from the thread that reads cancels.
        self._runs: Connection | None = None
        self._cancel_request = threading.Event()
        self._cancel_reason = ""
        self._abandon = threading.Event()
        # The slot's thread waits on its job's pipe; a cancel or an abandon must
        # reach it at once, not when the wait times out (FLUSH_INTERVAL): one byte
        # written here makes that wait return.
        self._nudge_reader, self._nudge_writer = os.pipe()
        os.set_blocking(self._nudge_reader, False)
        os.set_blocking(self._nudge_writer, False)
        self._nudge_lock = threading.Lock()
        self._nudge_open = True
        self.job: Job | None = None
        self._thread = threading.Thread(target=self._loop, name=f"slot-{index}", daemon=True)

    # -- called by the supervisor ---------------------------------------------

    def start(self) -> None:
        try:
            self._start_process()
        except ChildStartupError:
            # The slot still takes jobs: its first job starts the process again.
            logger.exception("slot %d: job process failed to start", self.index)
        self._thread.start()

    @property
    def idle(self) -> bool:
        return self.job is None

    def assign(self, job: Job, *, send_now: bool = True) -> None:
        """Start ``job`` in this idle slot.

        With ``send_now`` the job goes to the warm process from the caller's thread
        (the claim loop), so that it starts while the slot's thread is still waking
        up: one thread hand-over less before the job. A claim loop with more work
        waiting leaves the sending to the slot's thread, which then does it in
        parallel. Only if the process is gone does the slot's thread start a new
        one first.
        """
        self.job = job
        self._cancel_request.clear()
        self._abandon.clear()
        self._inbox.put((job, send_now and self._send_run(job)))

    def _send_run(self, job: Job) -> bool:
        """Hand ``job`` to a live process; False leaves it to the slot's thread."""
        process, runs = self._process, self._runs
        if process is None or runs is None or not process.is_alive():
            return False
        try:
            messages.send(runs, _run_message(job))
        except (OSError, ValueError):
            return False
        return True

    def request_cancel(self, job_id: int, reason: str) -> None:
        """Forward a cancel to the running job (idempotent)."""
        job = self.job
        if job is not None and job.id == job_id and not self._cancel_request.is_set():
            self._cancel_reason = reason
            self._cancel_request.set()
            self._nudge()

    def abandon(self) -> None:
        """Stop the job without recording anything (another worker took it over)."""
        self._abandon.set()
        self._nudge()

    def _nudge(self) -> None:
        with self._nudge_lock:
            if self._nudge_open:
                with contextlib.suppress(BlockingIOError):  # a byte already waits: enough
                    os.write(self._nudge_writer, b"!")

    def stop(self) -> None:
        """End the slot's thread and process once it is idle."""
        self._inbox.put(None)
        self._thread.join()

    # -- the slot's thread ----------------------------------------------------

    def _loop(self) -> None:
        while (assigned := self._inbox.get()) is not None:
            job, sent = assigned
            try:
                self._execute(job, sent=sent)
            except Exception:
                logger.exception("slot %d: unexpected error running job %d", self.index, job.id)
                self._kill_process()
                self._restart_process_safely()
            finally:
                self.job = None
                self._on_free(self)
        self._exit_process()
        with self._nudge_lock:
            self._nudge_open = False
            os.close(self._nudge_reader)
            os.close(self._nudge_writer)

    def _execute(self, job: Job, *, sent: bool) -> None:
        """Run ``job`` in the process until it ends, is stopped, or is abandoned."""
        if not sent and (self._process is None or not self._process.is_alive()):
            self._restart_process_safely()
        connection, runs = self._connection, self._runs
        if connection is None or runs is None:
            self._record(
                job, Outcome(Status.FAILED, error=JobError("WorkerError", "no job process"))
            )
            return
        if not sent:
            messages.send(runs, _run_message(job))
        run = _Running(job, RunLease.of(job))
        try:
            self._follow(run, connection)
        except _Fenced:
            self._kill_process()
            logger.warning(
                "job %d: this run (attempt %d) no longer holds the job, which was taken "
                "from this worker; its process was ended and what it still reported dropped",
                job.id,
                run.lease.attempt,
            )
            self._restart_process_safely()

    def _follow(self, run: _Running, connection: Connection) -> None:
        """Store what the job reports until it ends, is stopped, or is abandoned;
        raises ``_Fenced`` once the database refuses one of the run's writes."""
        job = run.job
        while True:
            now = time.monotonic()
            if self._abandon.is_set():
                self._kill_process()
                self._restart_process_safely()
                return
            if run.cancel is None and self._cancel_request.is_set():
                run.cancel = _Cancel(now, now + job.cancel_grace, self._cancel_reason)
                self._send_quietly(Cancel(job.id))
            if run.cancel is None and run.deadline is not None and now >= run.deadline:
                self._time_out(run, now)
            if run.cancel is not None and now >= run.cancel.deadline:
                self._stop_by_force(run)
                return
            wait = FLUSH_INTERVAL
            if run.cancel is not None:
                wait = min(wait, run.cancel.deadline - now)
            elif run.deadline is not None:
                wait = min(wait, run.deadline - now)
            message = self._receive(connection, max(0.0, wait))
            if isinstance(message, _Died):
                self._process_died(run)
                return
            if message is not None and self._handle(run, message):
                return
            if time.monotonic() - run.last_flush >= FLUSH_INTERVAL:
                self._flush(run)

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
                self._record(run.job, _outcome(message, run))
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
        self._record(run.job, outcome)
        self._restart_process_safely()

    def _process_died(self, run: _Running) -> None:
        """The job's process ended without an outcome (a crash, or killed from outside)."""
        self._flush(run)
        code = self._process.exitcode if self._process else None
        error = JobError(
            "JobProcessDied", f"the job's process ended unexpectedly (exit code {code})"
        )
        if run.cancel is not None and run.cancel.timed_out:
            outcome = Outcome(Status.FAILED, error=_timed_out(run.job), detail=error.message)
        elif run.cancel is not None:
            outcome = Outcome(Status.CANCELED, detail=error.message)
        else:
            outcome = Outcome(Status.FAILED, error=error, detail=error.message)
        self._record(run.job, outcome)
        self._restart_process_safely()

    def _receive(self, connection: Connection, timeout: float) -> FromJob | _Died | None:
        """The job's next message, ``_DIED``, or None after ``timeout`` or a nudge."""
        try:
            ready = multiprocessing.connection.wait([connection, self._nudge_reader], timeout)
            if self._nudge_reader in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._nudge_reader, 64)
            if connection in ready:
                return _from_job(connection)
            if ready:
                return None  # nudged: the caller looks at its flags again
        except (EOFError, OSError):
            return _DIED
        if self._process is not None and not self._process.is_alive():
            try:
                if connection.poll(0):
                    return _from_job(connection)
            except (EOFError, OSError):
                pass
            return _DIED
        return None

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

    def _record(self, job: Job, outcome: Outcome) -> None:
        """Hand the outcome to the supervisor, which writes it with its next claim.

        The slot is free at once; the outcome is durable once the supervisor's
        next transaction commits (before the worker stops, and retried through
        database outages). A worker that dies in between leaves the job running
        in the database, to be rescued like any job of a lost worker.
        """
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

    def _restart_process_safely(self) -> None:
        self._kill_process()
        while True:
            try:
                self._start_process()
                return
            except ChildStartupError:
                logger.exception("slot %d: job process failed to start; retrying", self.index)
                time.sleep(1.0)

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


class _Died:
    """What ``_receive`` returns once the job's process is gone."""


_DIED = _Died()


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
