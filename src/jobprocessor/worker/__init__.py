"""The worker: a supervisor process with a warm pool of job processes.

``Worker`` is imported on first use: a job process imports ``worker.messages``
(through ``JobContext``) and need not load the supervisor with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobprocessor.worker.supervisor import Worker

__all__ = ["Worker"]


def __getattr__(name: str) -> Any:
    if name == "Worker":
        from jobprocessor.worker.supervisor import Worker

        return Worker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
