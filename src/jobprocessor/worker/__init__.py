"""The worker: a supervisor process with a warm pool of job processes."""

from jobprocessor.worker.supervisor import Worker

__all__ = ["Worker"]
