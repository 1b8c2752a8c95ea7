"""Celery on its own Redis database (broker and result backend): one prefork worker.

``-c K`` gives K pool processes, Celery's usual set-up; the defaults stay
(prefetch multiplier 4, acknowledgement before the task runs). The cooperative
job is an ``AbortableTask`` that polls ``is_aborted()`` (a result-backend read)
every 50 ms; the stuck job can only be stopped with ``revoke(terminate=True)``,
which kills its pool process with no clean-up. The fair-share job sleeps in its
pool process; its ``user`` argument is only a label.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import celery
import redis
from celery import Celery
from celery.contrib.abortable import AbortableAsyncResult, AbortableTask

from bench import stamps
from bench.peers.base import Handle, System
from bench.procs import WorkerProcess, script
from bench.services import redis_url

QUEUE = "bench"
URL = os.environ.get("BENCH_CELERY_URL", redis_url("celery"))
FINAL = ("SUCCESS", "FAILURE", "REVOKED")

app = Celery("bench", broker=URL, backend=URL)
app.conf.task_default_queue = QUEUE
app.conf.broker_connection_retry_on_startup = True
app.conf.worker_hijack_root_logger = False


@app.task(name="noop", ignore_result=True)
def noop(k: int = 0) -> None:
    stamps.started(k)


@app.task(name="coop", bind=True, base=AbortableTask)
def coop(self: AbortableTask, k: int = 0, seconds: float = 20.0) -> None:
    stamps.started(k)

    def check() -> None:
        if self.is_aborted():
            raise SystemExit  # leave the loop; Celery records the state it has

    try:
        stamps.busy(k, seconds, check)
    except SystemExit:
        return


@app.task(name="stuck")
def stuck(k: int = 0, seconds: float = 20.0) -> None:
    stamps.started(k)
    stamps.busy(k, seconds)


@app.task(name="sleep", ignore_result=True)
def sleep(k: int = 0, seconds: float = 0.2, user: str = "") -> None:
    stamps.sleeper(k, seconds)


class CelerySystem(System):
    """``celery worker -P prefork -c K``."""

    store = "redis"
    name = "celery"
    slots_are = "one `celery worker`, prefork pool of K processes (prefetch multiplier 4)"
    bulk_api = None
    cancel_mechanism: ClassVar[dict[str, str]] = {
        "cooperative": "AbortableAsyncResult.abort(): the task polls is_aborted()",
        "stuck": "control.revoke(terminate=True): the pool process is killed",
    }
    submitters = "a task argument `user`: Celery has no fair share"

    def __init__(self) -> None:
        self.redis = redis.Redis.from_url(URL)

    def reset(self) -> None:
        self.redis.flushdb()

    def submit_one(self, key: int) -> None:
        noop.apply_async((key,))

    def submit_sleep(self, user: str, key: int, seconds: float) -> None:
        sleep.apply_async((key, seconds, user))

    def worker(self, slots: int, name: str, stamps_dir: Path) -> WorkerProcess:
        command = [
            script("celery"),
            "-A",
            f"{__name__}:app",
            "worker",
            "-P",
            "prefork",
            "-c",
            str(slots),
            "-Q",
            QUEUE,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ]
        return WorkerProcess(command, name, stamps_dir)

    def unfinished(self) -> int:
        return int(self.redis.llen(QUEUE)) + int(self.redis.hlen("unacked"))

    def submit_long(self, kind: str, key: int, seconds: float) -> Handle:
        task: Any = coop if kind == "cooperative" else stuck
        return Handle(key, task.apply_async((key, seconds)).id)

    def cancel(self, handle: Handle, kind: str) -> None:
        if kind == "cooperative":
            AbortableAsyncResult(handle.id, app=app).abort()
        else:
            app.control.revoke(handle.id, terminate=True, signal="SIGTERM")

    def final_state(self, handle: Handle) -> str | None:
        state = app.AsyncResult(handle.id).state
        return str(state) if state in (*FINAL, "ABORTED") else None

    def versions(self) -> dict[str, str]:
        return {"celery": celery.__version__}

    def close(self) -> None:
        self.redis.close()
