"""JobProcessor: durable background jobs that really stop, with reports and a console.

Job authors need only ``job``, ``JobContext`` and ``JobCanceled``; the other parts
of an application submit and follow jobs through ``Client``.
"""

from typing import TYPE_CHECKING, Any

from jobprocessor.context import JobCanceled, JobContext
from jobprocessor.declarations import recurring
from jobprocessor.errors import Conflict, InvalidInput, JobProcessorError, NotFound, WaitTimeout
from jobprocessor.model import Job, Role, Status, StatusGroup
from jobprocessor.registry import job
from jobprocessor.submission import SubmitOptions
from jobprocessor.ticks import Missed, Schedule

if TYPE_CHECKING:
    from jobprocessor.client import Client

__all__ = [
    "Client",
    "Conflict",
    "InvalidInput",
    "Job",
    "JobCanceled",
    "JobContext",
    "JobProcessorError",
    "Missed",
    "NotFound",
    "Role",
    "Schedule",
    "Status",
    "StatusGroup",
    "SubmitOptions",
    "WaitTimeout",
    "job",
    "recurring",
]


def __getattr__(name: str) -> Any:
    """``Client`` on first use: job processes import this package through their app
    modules, and the client (the service, the store, SQLAlchemy) is no part of a job."""
    if name == "Client":
        from jobprocessor.client import Client

        return Client
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
