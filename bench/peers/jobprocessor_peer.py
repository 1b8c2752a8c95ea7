"""JobProcessor itself, on SQLite or PostgreSQL, measured exactly like its peers.

The job types below are what ``jobprocessor worker --app bench.peers.jobprocessor_peer``
runs; submitting goes through ``JobService`` (the public API the CLI and REST
API use), so validation and the submitted event are part of every figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from sqlalchemy import func, select

from bench import stamps
from bench.common import RESULTS
from bench.peers.base import Handle, System
from bench.procs import WorkerProcess, script
from bench.services import analyze, fresh_pg_database, pg_url
from jobprocessor import JobContext, job
from jobprocessor.model import Actor, Role, Status
from jobprocessor.service import JobService, open_service
from jobprocessor.settings import Settings
from jobprocessor.store.tables import jobs

APP = "bench.peers.jobprocessor_peer"
ACTOR = Actor("bench", Role.ADMIN)
#: The fair-share case's submitters: two real users, as the console knows them.
USERS = {name: Actor(f"bench-user-{name.lower()}", Role.USER) for name in ("A", "B")}
BULK_CHUNK = 500
STUCK_GRACE = 1.0
#: The ``prefetch`` of the variant that claims jobs ahead (``jobprocessor-*-prefetch``).
PREFETCH = 32
_ACTIVE = [s.value for s in Status if not s.is_finished]


@job("bench.noop", category="diagnostics", title="No-op {k}")
def noop(ctx: JobContext, k: int = 0) -> None:
    """The burn-down and latency job: notes its start, nothing else."""
    stamps.started(k)


@job("bench.coop", category="diagnostics", title="Cooperative {k}")
def coop(ctx: JobContext, k: int = 0, seconds: float = 20.0) -> None:
    """Checks for a cancel every 50 ms."""
    stamps.started(k)
    stamps.busy(k, seconds, ctx.check_canceled)


@job("bench.stuck", category="diagnostics", title="Stuck {k}", cancel_grace=STUCK_GRACE)
def stuck(ctx: JobContext, k: int = 0, seconds: float = 20.0) -> None:
    """Never checks for a cancel: only force stops it, ``cancel_grace`` after the request."""
    stamps.started(k)
    stamps.busy(k, seconds)


@job("bench.sleep", category="diagnostics", title="Sleep {k}")
def sleep(ctx: JobContext, k: int = 0, seconds: float = 0.2) -> None:
    """The fair-share job: notes its start, sleeps, notes its end."""
    stamps.sleeper(k, seconds)


class JobProcessorSystem(System):
    """``jobprocessor worker --concurrency K``: a supervisor and K warm job processes."""

    slots_are = "K warm job processes under one supervisor process"
    bulk_api = f"JobService.submit_many (chunks of {BULK_CHUNK})"
    cancel_mechanism: ClassVar[dict[str, str]] = {
        "cooperative": "JobService.cancel; the job raises at ctx.check_canceled()",
        "stuck": f"JobService.cancel; its process is ended after cancel_grace ({STUCK_GRACE:g} s)",
    }
    submitters = "submitted_by: two users (Actors) submitting through JobService"

    def __init__(self, store: str, *, prefetch: int = 0) -> None:
        self.store = store
        self.name = f"jobprocessor-{store}"
        #: The worker's ``prefetch`` setting; the variant with it runs the burn-down only.
        self.prefetch = prefetch
        if prefetch:
            self.name += "-prefetch"
            self.workloads = ("burn-down",)
            self.slots_are = (
                f"{JobProcessorSystem.slots_are}, claiming up to {prefetch} jobs per slot "
                "ahead (the `prefetch` setting)"
            )
        self._service: JobService | None = None
        if store == "sqlite":
            self._path = RESULTS / "bench-jobprocessor.sqlite3"
            self.url = f"sqlite:///{self._path}"
        else:
            self.url = pg_url("bench_jobprocessor", "postgresql+psycopg")

    @property
    def service(self) -> JobService:
        assert self._service is not None, "reset() first"
        return self._service

    def reset(self) -> None:
        self.close()
        if self.store == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal", ".migrate.lock"):
                Path(f"{self._path}{suffix}").unlink(missing_ok=True)
        else:
            fresh_pg_database("bench_jobprocessor")
        self._service = open_service(Settings(database_url=self.url))

    def submit_one(self, key: int) -> None:
        self.service.submit(ACTOR, "bench.noop", {"k": key})

    def submit_many(self, keys: Sequence[int]) -> None:
        for start in range(0, len(keys), BULK_CHUNK):
            chunk = keys[start : start + BULK_CHUNK]
            self.service.submit_many(ACTOR, "bench.noop", [{"k": k} for k in chunk])

    def submit_sleep(self, user: str, key: int, seconds: float) -> None:
        self.service.submit(USERS[user], "bench.sleep", {"k": key, "seconds": seconds})

    def submit_sleeps(self, user: str, keys: Sequence[int], seconds: float) -> None:
        for start in range(0, len(keys), BULK_CHUNK):
            params = [{"k": k, "seconds": seconds} for k in keys[start : start + BULK_CHUNK]]
            self.service.submit_many(USERS[user], "bench.sleep", params)

    def settle_after_submit(self) -> None:
        if self.store == "postgresql":
            analyze(pg_url("bench_jobprocessor"))

    def worker(self, slots: int, name: str, stamps_dir: Path) -> WorkerProcess:
        command = [script("jobprocessor"), "worker", "--app", APP, "--concurrency", str(slots)]
        env = {"JOBPROCESSOR_DATABASE_URL": self.url, "JOBPROCESSOR_PREFETCH": str(self.prefetch)}
        return WorkerProcess(command, name, stamps_dir, env=env)

    def unfinished(self) -> int:
        statement = select(func.count()).select_from(jobs).where(jobs.c.status.in_(_ACTIVE))
        with self.service.store.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def submit_long(self, kind: str, key: int, seconds: float) -> Handle:
        type_name = "bench.coop" if kind == "cooperative" else "bench.stuck"
        submitted = self.service.submit(ACTOR, type_name, {"k": key, "seconds": seconds})
        return Handle(key, submitted.id)

    def cancel(self, handle: Handle, kind: str) -> None:
        self.service.cancel(ACTOR, handle.id)

    def final_state(self, handle: Handle) -> str | None:
        found = self.service.store.get(handle.id)
        if found is None or not found.status.is_finished:
            return None
        return found.status.value

    def close(self) -> None:
        if self._service is not None:
            self._service.close()
            self._service = None
