"""procrastinate on its own PostgreSQL database: one worker process, K asyncio slots.

The no-op and the cooperative job are ``async`` (procrastinate's fastest path,
and the only kind it can abort: it cancels the asyncio task); the stuck job is a
plain function, which procrastinate runs in a thread and can only ask to look at
``context.should_abort()``, which it never does. The fair-share job is ``async``
too (it awaits its sleep); its ``user`` argument is only a label. Run as a
module, this file is the worker: ``python -m bench.peers.procrastinate_peer SLOTS``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import procrastinate
import psycopg

from bench import stamps
from bench.peers.base import Handle, System
from bench.procs import WorkerProcess, python
from bench.services import analyze, fresh_pg_database, pg_url

DATABASE = "bench_procrastinate"
QUEUE = "bench"
BULK_CHUNK = 500
FINAL = ("succeeded", "failed", "cancelled", "aborted")


def make_app(connector: Any) -> procrastinate.App:
    """The app and its three tasks, for either connector (sync to submit, async to work)."""
    app = procrastinate.App(connector=connector)

    @app.task(name="noop", queue=QUEUE)
    async def noop(k: int = 0) -> None:
        stamps.started(k)

    @app.task(name="coop", queue=QUEUE)
    async def coop(k: int = 0, seconds: float = 20.0) -> None:
        stamps.started(k)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            stamps.beat(k)
            await asyncio.sleep(stamps.BEAT)  # an abort cancels the task here

    @app.task(name="stuck", queue=QUEUE)
    def stuck(k: int = 0, seconds: float = 20.0) -> None:
        stamps.started(k)
        stamps.busy(k, seconds)

    @app.task(name="sleep", queue=QUEUE)
    async def sleep(k: int = 0, seconds: float = 0.2, user: str = "") -> None:
        stamps.started(k)
        await asyncio.sleep(seconds)
        stamps.ended(k)

    return app


class ProcrastinateSystem(System):
    """procrastinate's worker with ``concurrency=K``."""

    store = "postgresql"
    name = "procrastinate"
    slots_are = "one worker process, concurrency=K (asyncio tasks)"
    bulk_api = f"Task.batch_defer (chunks of {BULK_CHUNK})"
    cancel_mechanism: ClassVar[dict[str, str]] = {
        "cooperative": "cancel_job_by_id(abort=True): the async task is cancelled",
        "stuck": "cancel_job_by_id(abort=True): a sync task must poll should_abort()",
    }
    submitters = "a job argument `user`: procrastinate has no fair share"

    def __init__(self) -> None:
        self.url = pg_url(DATABASE)
        self._app: procrastinate.App | None = None
        self._db: psycopg.Connection[Any] | None = None

    @property
    def app(self) -> procrastinate.App:
        assert self._app is not None, "reset() first"
        return self._app

    def reset(self) -> None:
        self.close()
        fresh_pg_database(DATABASE)
        self._app = make_app(procrastinate.SyncPsycopgConnector(conninfo=self.url))
        self._app.open()
        self._app.schema_manager.apply_schema()
        self._db = psycopg.connect(self.url, autocommit=True)

    def submit_one(self, key: int) -> None:
        self.app.tasks["noop"].defer(k=key)

    def submit_many(self, keys: Sequence[int]) -> None:
        task = self.app.tasks["noop"]
        for start in range(0, len(keys), BULK_CHUNK):
            task.batch_defer(*({"k": k} for k in keys[start : start + BULK_CHUNK]))

    def submit_sleep(self, user: str, key: int, seconds: float) -> None:
        self.app.tasks["sleep"].defer(k=key, seconds=seconds, user=user)

    def submit_sleeps(self, user: str, keys: Sequence[int], seconds: float) -> None:
        task = self.app.tasks["sleep"]
        for start in range(0, len(keys), BULK_CHUNK):
            chunk = keys[start : start + BULK_CHUNK]
            task.batch_defer(*({"k": k, "seconds": seconds, "user": user} for k in chunk))

    def settle_after_submit(self) -> None:
        analyze(self.url)

    def worker(self, slots: int, name: str, stamps_dir: Path) -> WorkerProcess:
        command = [python(), "-m", __name__, str(slots), self.url]
        return WorkerProcess(command, name, stamps_dir)

    def _scalar(self, query: str, *args: Any) -> Any:
        assert self._db is not None
        row = self._db.execute(query, args).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None

    def unfinished(self) -> int:
        query = "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
        return int(self._scalar(query))

    def submit_long(self, kind: str, key: int, seconds: float) -> Handle:
        task = self.app.tasks["coop" if kind == "cooperative" else "stuck"]
        return Handle(key, task.defer(k=key, seconds=seconds))

    def cancel(self, handle: Handle, kind: str) -> None:
        self.app.job_manager.cancel_job_by_id(handle.id, abort=True)

    def final_state(self, handle: Handle) -> str | None:
        status = self._scalar("SELECT status FROM procrastinate_jobs WHERE id = %s", handle.id)
        return str(status) if status in FINAL else None

    def versions(self) -> dict[str, str]:
        return {"procrastinate": procrastinate.__version__}

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None
        if self._db is not None:
            self._db.close()
            self._db = None


def work(slots: int, url: str) -> None:
    """The worker process: fetches on NOTIFY, aborts on NOTIFY too."""
    app = make_app(procrastinate.PsycopgConnector(conninfo=url))
    app.run_worker(queues=[QUEUE], concurrency=slots, install_signal_handlers=True)


if __name__ == "__main__":
    work(int(sys.argv[1]), sys.argv[2])
