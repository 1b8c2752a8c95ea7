"""JobProcessor: durable background jobs that really stop, with reports and a console.

Job authors need only ``job``, ``JobContext`` and ``JobCanceled``; the other parts
of an application submit and follow jobs through ``Client``.
"""

from jobprocessor.client import Client
from jobprocessor.context import JobCanceled, JobContext
from jobprocessor.errors import Conflict, InvalidInput, JobProcessorError, NotFound, WaitTimeout
from jobprocessor.model import Job, Role, Status, StatusGroup
from jobprocessor.recurring import recurring
from jobprocessor.registry import job
from jobprocessor.submission import SubmitOptions
from jobprocessor.ticks import Missed, Schedule

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
