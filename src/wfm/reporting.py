"""A job's report in injixo's spirit: the steps taken, warnings and errors, and progress.

Scheduling code reports through a ``Run`` so that it works the same inside a job
(where the lines land in the job's report and a cancel stops it) and outside one
(the demo seed, the benchmark, tests), where it only logs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from jobprocessor import JobContext

logger = logging.getLogger("wfm")

#: At most this many warnings or errors of one kind are written one by one.
MAX_DETAILS = 25


@dataclass
class Run:
    """The report of one piece of work, and its link to the job running it (if any)."""

    ctx: JobContext | None = None
    warnings: int = 0
    errors: int = 0
    _details: dict[str, int] = field(default_factory=dict)

    @property
    def log(self) -> logging.Logger:
        return self.ctx.log if self.ctx is not None else logger

    def step(self, message: str, *args: object) -> None:
        """A step taken, e.g. "Loaded 60 employees"."""
        self.log.info(message, *args)

    def warning(self, message: str, *args: object, kind: str = "") -> None:
        """Something the planner should look at, e.g. target hours not met."""
        self.warnings += 1
        if self._count(kind):
            self.log.warning(message, *args)

    def error(self, message: str, *args: object, kind: str = "") -> None:
        """Something that could not be done, e.g. an employee got no schedule, and why."""
        self.errors += 1
        if self._count(kind):
            self.log.error(message, *args)

    def _count(self, kind: str) -> bool:
        if not kind:
            return True
        seen = self._details.get(kind, 0) + 1
        self._details[kind] = seen
        if seen == MAX_DETAILS + 1:
            self.log.warning("… more of these (%s) are counted but not listed", kind)
        return seen <= MAX_DETAILS

    def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        if self.ctx is not None:
            self.ctx.progress(done, total, message)

    def check_canceled(self) -> None:
        """Raise JobCanceled if the job was asked to stop (nothing outside a job)."""
        if self.ctx is not None:
            self.ctx.check_canceled()

    @property
    def canceled(self) -> bool:
        return self.ctx is not None and self.ctx.canceled
