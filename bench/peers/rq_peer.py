"""RQ on its own Redis database: K ``rq worker`` processes.

Two variants: ``rq`` with RQ's default worker, which forks a work horse per job
(so a job can be stopped: ``send_stop_job_command`` kills its horse), and
``rq-simple`` with ``SimpleWorker``, which runs jobs in the worker process itself
(faster, but a running job cannot be stopped at all). RQ has no cooperative
cancel: a running job is killed, with no clean-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import redis
import rq
from rq.command import send_stop_job_command
from rq.job import Job
from rq.registry import StartedJobRegistry

from bench import stamps
from bench.peers.base import CannotCancel, Handle, System
from bench.procs import WorkerGroup, WorkerProcess, script
from bench.services import redis_url

QUEUE = "bench"
BULK_CHUNK = 500
FINAL = ("finished", "failed", "stopped", "canceled")


def noop(k: int = 0) -> None:
    stamps.started(k)


def long_job(k: int = 0, seconds: float = 20.0) -> None:
    """RQ cannot tell a job to stop, so both long jobs are this one."""
    stamps.started(k)
    stamps.busy(k, seconds)


class RqSystem(System):
    """RQ workers, one job at a time each."""

    store = "redis"
    bulk_api = f"Queue.enqueue_many in a pipeline (chunks of {BULK_CHUNK})"

    def __init__(self, *, simple: bool = False) -> None:
        self.simple = simple
        self.name = "rq-simple" if simple else "rq"
        self.worker_class = "rq.worker.SimpleWorker" if simple else "rq.worker.Worker"
        self.slots_are = f"K `rq worker` processes ({self.worker_class.rsplit('.', 1)[1]})"
        if simple:
            self.cancel_mechanism = {
                "cooperative": "none: SimpleWorker runs the job in the worker process",
                "stuck": "none: SimpleWorker runs the job in the worker process",
            }
        else:
            self.cancel_mechanism = {
                kind: "send_stop_job_command: the work horse is killed"
                for kind in ("cooperative", "stuck")
            }
        self.url = redis_url("rq")
        self.redis = redis.Redis.from_url(self.url)
        self.queue = rq.Queue(QUEUE, connection=self.redis)

    cancel_mechanism: ClassVar[dict[str, str]]  # set per instance above

    def reset(self) -> None:
        self.redis.flushdb()

    def submit_one(self, key: int) -> None:
        self.queue.enqueue(noop, key)

    def submit_many(self, keys: Sequence[int]) -> None:
        for start in range(0, len(keys), BULK_CHUNK):
            with self.redis.pipeline() as pipe:
                self.queue.enqueue_many(
                    [rq.Queue.prepare_data(noop, (k,)) for k in keys[start : start + BULK_CHUNK]],
                    pipeline=pipe,
                )
                pipe.execute()

    def worker(self, slots: int, name: str, stamps_dir: Path) -> WorkerGroup:
        command = [
            script("rq"),
            "worker",
            "--url",
            self.url,
            "--worker-class",
            self.worker_class,
            "--logging_level",
            "WARNING",
            QUEUE,
        ]
        return WorkerGroup(
            [WorkerProcess(command, f"{name}-{i}", stamps_dir) for i in range(slots)]
        )

    def unfinished(self) -> int:
        return len(self.queue) + StartedJobRegistry(queue=self.queue).count

    def submit_long(self, kind: str, key: int, seconds: float) -> Handle:
        job = self.queue.enqueue(long_job, key, seconds, job_timeout=600)
        return Handle(key, job.id)

    def cancel(self, handle: Handle, kind: str) -> None:
        if self.simple:
            raise CannotCancel(self.cancel_mechanism[kind])
        send_stop_job_command(self.redis, handle.id)

    def final_state(self, handle: Handle) -> str | None:
        status = Job.fetch(handle.id, connection=self.redis).get_status(refresh=True)
        value = getattr(status, "value", status)
        return str(value) if value in FINAL else None

    def versions(self) -> dict[str, str]:
        return {"rq": rq.__version__, "redis-py": redis.__version__}

    def close(self) -> None:
        self.redis.close()
