"""What a running job sees: its settings, progress, cancellation, log and files.

A JobContext lives in the job's own process. It tells the worker what the job
reports through a ``Reporter`` (the job process's pipe in production, see
``worker.child``; a list of messages in unit tests, ``worker.messages.Recorder``),
so that job code never needs a database connection of its own.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class Reporter(Protocol):
    """Where what a job reports goes (called from any of the job's threads)."""

    def progress(self, done: float, total: float | None, message: str | None) -> None: ...

    def log(self, at: float, level: str, message: str) -> None:
        """A log record: its time (``time.time()``), level name and text."""

    def artifact(self, name: str, media_type: str, data: bytes) -> None: ...


#: Progress is sent at most this often; the last value always reaches the worker.
PROGRESS_INTERVAL = 0.1
MAX_ARTIFACT_NAME = 255
_FORBIDDEN_NAME_CHARS = set('/\\\x00:*?"<>|')

logger = logging.getLogger(__name__)
_MESSAGE_ONLY = logging.Formatter("%(message)s")


class JobCanceled(Exception):
    """Raised by ``check_canceled`` once a cancel was requested; ends the job ``canceled``."""


class JobContext:
    """The job's handle on the engine (docs/reference/job-types.md)."""

    def __init__(
        self,
        job_id: int,
        params: dict[str, Any],
        submitted_by: str,
        reporter: Reporter,
    ) -> None:
        self.job_id = job_id
        self.params = params
        self.submitted_by = submitted_by
        self._reporter = reporter
        self._canceled = threading.Event()
        self._callbacks: list[Callable[[], object]] = []
        self._lock = threading.Lock()
        self._pending_progress: tuple[float, float | None, str | None] | None = None
        self._last_progress = 0.0

    @functools.cached_property
    def log(self) -> logging.Logger:
        """The job's logger: INFO and above go to its report.

        A logger of its own, outside logging's registry: a registered one per job
        would stay in a warm process for good, and setLevel walks every registered
        logger, so each job started slower than the one before. Made on first use:
        a logger, its handler and their locks cost a job process about a tenth of
        its time per job for jobs that never log (``bench/engine_changes.md``,
        change 48).
        """
        log = logging.Logger(f"jobprocessor.job.{self.job_id}", logging.INFO)
        log.propagate = False
        log.addHandler(_ReportHandler(self._reporter))
        return log

    @property
    def canceled(self) -> bool:
        """True once a cancel request has reached this job."""
        return self._canceled.is_set()

    def check_canceled(self) -> None:
        """Raise JobCanceled if a cancel was requested; call it between steps."""
        if self._canceled.is_set():
            raise JobCanceled(f"job {self.job_id} was canceled")

    def on_cancel(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once, from another thread, when a cancel arrives.

        Use it to stop work that cannot check ``canceled`` itself, such as a
        solver (``solver.stop_search``). Registered after the cancel, it runs at once.
        """
        with self._lock:
            if not self._canceled.is_set():
                self._callbacks.append(callback)
                return
        _call_safely(callback)

    def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Say how far the job is, e.g. ``progress(3, 10, "employee 3 of 10")``."""
        update = (float(done), None if total is None else float(total), message)
        now = time.monotonic()
        finished = total is not None and done >= total
        if finished or now - self._last_progress >= PROGRESS_INTERVAL:
            self._pending_progress = None
            self._last_progress = now
            self._reporter.progress(*update)
        else:
            self._pending_progress = update

    def add_artifact(
        self, name: str, data: bytes | str, media_type: str = "application/octet-stream"
    ) -> None:
        """Attach a file to the job's report (a second file of one name replaces the first)."""
        check_artifact_name(name)
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self._reporter.artifact(name, media_type, payload)

    # -- called by the runner -------------------------------------------------

    def flush(self) -> None:
        """Send progress that was held back by the rate limit."""
        if self._pending_progress is not None:
            self._reporter.progress(*self._pending_progress)
            self._pending_progress = None

    def request_cancel(self) -> None:
        """Mark the job canceled and run its hooks (once)."""
        with self._lock:
            if self._canceled.is_set():
                return
            self._canceled.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _call_safely(callback)


def check_artifact_name(name: str) -> None:
    """A file name, not a path: no separators, no '..', at most 255 characters."""
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > MAX_ARTIFACT_NAME
        or name in {".", ".."}
        or name.startswith(".")
        or set(name) & _FORBIDDEN_NAME_CHARS
    ):
        raise ValueError(
            f"invalid artifact name {name!r}: use a plain file name such as 'report.csv'"
        )


def _call_safely(callback: Callable[[], object]) -> None:
    try:
        callback()
    except Exception:
        logger.exception("on_cancel hook %r failed", callback)


class _ReportHandler(logging.Handler):
    """Sends INFO-and-above records to the worker, which stores them in the report."""

    def __init__(self, reporter: Reporter) -> None:
        super().__init__(level=logging.INFO)
        self._reporter = reporter
        self.setFormatter(_MESSAGE_ONLY)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._reporter.log(record.created, record.levelname, self.format(record))
        except Exception:
            self.handleError(record)
