"""A PostgreSQL restart under a running worker loses nothing (PostgreSQL only).

Both a plain restart and an outage longer than the heartbeat timeout: a worker
that could not reach the database is not lost, and must not declare itself or
others lost when the database comes back.

The server restarted is one of this module's own (``private_postgres.py``), so the
tests run beside the others: restarting the machine's shared server would drop
their connections.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from jobprocessor.model import Status
from jobprocessor.service import JobService
from private_postgres import PrivateServer
from support import ADMIN, FAST
from waiting import wait_until


@pytest.fixture(scope="module")
def server() -> Iterator[PrivateServer]:
    with PrivateServer.running() as private:
        yield private


@pytest.fixture
def database_url(server: PrivateServer) -> Iterator[str]:
    """An empty database on the private server (the service migrates it)."""
    name = f"restart_{uuid.uuid4().hex[:8]}"
    server.create_database(name)
    yield server.url(name)
    server.drop_database(name)


def restart_postgres(server: PrivateServer, *, down_for: float = 0.0) -> float:
    """Restart the server and wait until it answers; returns how long that took.

    With ``down_for``, the server is stopped, kept down that long, then started.
    """
    began = time.monotonic()
    if down_for:
        server.stop()
        time.sleep(down_for)  # the length of the outage, not a wait for a state
        server.start()
    else:
        server.restart()
    wait_until(server.ready, timeout=60, what="PostgreSQL to accept connections again")
    return time.monotonic() - began


@pytest.mark.parametrize(
    "down_for",
    [0.0, FAST["heartbeat_timeout"] + 1.0],
    ids=["restart", "outage-longer-than-heartbeat-timeout"],
)
def test_jobs_before_and_after_a_postgresql_restart_all_succeed(
    service: JobService, server: PrivateServer, spawn_worker, down_for: float, record_property
) -> None:
    worker = spawn_worker(concurrency=2)
    before = service.submit_many(ADMIN, "diag.count", [{"n": 20, "delay": 0.1}] * 6)
    wait_until(
        lambda: sum(service.get(ADMIN, j.id).status is Status.RUNNING for j in before) == 2,
        what="two jobs to be running",
    )
    wait_until(
        lambda: any((service.get(ADMIN, j.id).progress.done or 0) >= 2 for j in before),
        what="a running job to report progress",
    )

    outage = restart_postgres(server, down_for=down_for)
    record_property("postgres_outage_s", round(outage, 2))
    print(f"postgres_outage_s = {outage:.2f}")

    # The service's pooled connections died with the server; it must reconnect.
    after = service.submit_many(ADMIN, "diag.count", [{"n": 5, "delay": 0.05}] * 4)
    ids = [j.id for j in before + after]
    wait_until(
        lambda: all(service.get(ADMIN, i).status.is_finished for i in ids),
        timeout=120,
        what="every job to finish",
    )

    for job_id in ids:
        job = service.get(ADMIN, job_id)
        names = [e.event for e in service.report(ADMIN, job_id).events]
        assert job.status is Status.SUCCEEDED, (job, names, worker.output()[-3000:])
        assert names == ["submitted", "started", "succeeded"], (job_id, names)
        expected = job.params["n"]
        assert job.result == {"counted": expected}
        assert job.progress.done == expected
        # The report written around the restart is complete too.
        report = service.report(ADMIN, job_id)
        assert [a.name for a in report.artifacts] == ["numbers.csv"]
        assert ("WARNING", "done, with a warning") in [(e.level, e.message) for e in report.entries]
    assert worker.process.poll() is None, worker.output()
    assert len(service.store.workers.live()) == 1
