"""pgqueuer on its own PostgreSQL database: one worker process of asyncio entrypoints.

pgqueuer runs only ``async`` entrypoints; a blocking job goes to a thread with
``asyncio.to_thread`` (its documented way). A cancel marks the job canceled and
NOTIFYs the worker, which cancels the job's ``ctx.cancellation`` scope: a job
that entered that scope stops at its next ``await``; one that did not (or that
is blocked in a thread) runs on. Run as a module, this file is the worker:
``python -m bench.peers.pgqueuer_peer URL`` (K of them for K slots).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from pgqueuer import Job, PsycopgDriver, Queries, QueueManager
from pgqueuer.models import Context

from bench import stamps
from bench.peers.base import Handle, System
from bench.procs import WorkerGroup, WorkerProcess, python
from bench.services import analyze, fresh_pg_database, pg_url

DATABASE = "bench_pgqueuer"
BULK_CHUNK = 500


def _key(job: Job) -> tuple[int, float]:
    key, _, seconds = (job.payload or b"0").decode().partition(" ")
    return int(key), float(seconds or 0)


class PgqueuerSystem(System):
    """K pgqueuer QueueManager processes with default settings."""

    store = "postgresql"
    name = "pgqueuer"
    slots_are = (
        "K worker processes with the defaults (each dequeues batches of 10 and runs "
        "them as asyncio tasks: a per-entrypoint concurrency_limit throttles to about "
        "one job per second per slot, waiting on its status buffer)"
    )
    bulk_api = f"Queries.enqueue with lists (chunks of {BULK_CHUNK})"
    cancel_mechanism: ClassVar[dict[str, str]] = {
        "cooperative": "mark_job_as_cancelled: the job's ctx.cancellation scope is cancelled",
        "stuck": "mark_job_as_cancelled: a job outside its cancellation scope runs on",
    }

    def __init__(self) -> None:
        self.url = pg_url(DATABASE)
        self._loop = asyncio.new_event_loop()
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._queries: Queries | None = None

    def _run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(coroutine)

    @property
    def queries(self) -> Queries:
        assert self._queries is not None, "reset() first"
        return self._queries

    def reset(self) -> None:
        self.close()
        fresh_pg_database(DATABASE)
        self._connection = self._run(psycopg.AsyncConnection.connect(self.url, autocommit=True))
        self._queries = Queries(PsycopgDriver(self._connection))
        self._run(self._queries.install())

    def submit_one(self, key: int) -> None:
        self._run(self.queries.enqueue("noop", str(key).encode()))

    def submit_many(self, keys: Sequence[int]) -> None:
        for start in range(0, len(keys), BULK_CHUNK):
            chunk = keys[start : start + BULK_CHUNK]
            self._run(
                self.queries.enqueue(
                    ["noop"] * len(chunk), [str(k).encode() for k in chunk], [0] * len(chunk)
                )
            )

    def settle_after_submit(self) -> None:
        analyze(self.url)

    def worker(self, slots: int, name: str, stamps_dir: Path) -> WorkerGroup:
        command = [python(), "-m", __name__, self.url]
        return WorkerGroup(
            [WorkerProcess(command, f"{name}-{i}", stamps_dir) for i in range(slots)]
        )

    def _scalar(self, query: str, *args: Any) -> Any:
        async def fetch() -> Any:
            assert self._connection is not None
            cursor = await self._connection.execute(query, args)  # type: ignore[arg-type]
            row = await cursor.fetchone()
            return row[0] if row else None

        return self._run(fetch())

    def unfinished(self) -> int:
        return int(self._scalar("SELECT count(*) FROM pgqueuer"))

    def submit_long(self, kind: str, key: int, seconds: float) -> Handle:
        entrypoint = "coop" if kind == "cooperative" else "stuck"
        ids = self._run(self.queries.enqueue(entrypoint, f"{key} {seconds}".encode()))
        return Handle(key, ids[0])

    def cancel(self, handle: Handle, kind: str) -> None:
        self._run(self.queries.mark_job_as_cancelled([handle.id]))

    def final_state(self, handle: Handle) -> str | None:
        if self._scalar("SELECT count(*) FROM pgqueuer WHERE id = %s", handle.id):
            return None
        status = self._scalar(
            "SELECT status::text FROM pgqueuer_log WHERE job_id = %s ORDER BY id DESC LIMIT 1",
            handle.id,
        )
        return str(status) if status else "gone"

    def versions(self) -> dict[str, str]:
        return {"pgqueuer": version("pgqueuer")}

    def close(self) -> None:
        if self._connection is not None:
            self._run(self._connection.close())
            self._connection = None
            self._queries = None


async def work(url: str) -> None:
    """The worker process: dequeues on NOTIFY, stops on SIGTERM."""
    connection = await psycopg.AsyncConnection.connect(url, autocommit=True)
    manager = QueueManager(Queries(PsycopgDriver(connection)))

    @manager.entrypoint("noop", accepts_context=False)
    async def noop(job: Job) -> None:
        stamps.started(_key(job)[0])

    @manager.entrypoint("coop", accepts_context=True)
    async def coop(job: Job, ctx: Context) -> None:
        key, seconds = _key(job)
        stamps.started(key)
        with ctx.cancellation:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds
            while loop.time() < deadline:
                stamps.beat(key)
                await asyncio.sleep(stamps.BEAT)

    @manager.entrypoint("stuck", accepts_context=False)
    async def stuck(job: Job) -> None:
        key, seconds = _key(job)
        stamps.started(key)
        await asyncio.to_thread(stamps.busy, key, seconds)

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, manager.shutdown.set)
    await manager.run()


if __name__ == "__main__":
    asyncio.run(work(sys.argv[1]))
