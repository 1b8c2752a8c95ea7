"""Fault tests of issue 13: a worker declared lost can change nothing, and no worker
waits on another. Real ``jobprocessor worker`` processes are paused (SIGSTOP of their
process group, as a long GC pause or a frozen host would), their database sessions
held up, and their database taken away at start.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from jobprocessor.model import Status
from jobprocessor.service import JobService
from processes import job_processes, process_alive, worker_id_of
from support import ADMIN, DIAG, FAST, TESTS, cli_env, wait_for_status
from waiting import wait_until

FENCING = "fencing_jobs"


@pytest.fixture
def fencing_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test process knows the fence.* types too (it submits them)."""
    monkeypatch.syspath_prepend(str(TESTS / "apps"))
    import fencing_jobs  # noqa: F401


POSTGRESQL_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _files(service: JobService, job_id: int) -> dict[str, bytes]:
    report = service.report(ADMIN, job_id)
    return {a.name: service.artifact(ADMIN, job_id, a.name)[1] for a in report.artifacts}


@pytest.mark.usefixtures("fencing_jobs")
def test_a_paused_worker_cannot_write_into_its_rescued_job(
    service: JobService, spawn_worker: Any, tmp_path: Path
) -> None:
    """Fault 1: the paused worker's run wakes after another run finished the job; its
    files and log lines must not reach the job (they did: result.txt was overwritten)."""
    gate = tmp_path / "gate"
    paused = spawn_worker(concurrency=1, apps=[FENCING])
    job = service.submit(ADMIN, "fence.gated", {"gate": str(gate)})
    wait_until(
        lambda: any("began" in e.message for e in service.report(ADMIN, job.id).entries),
        timeout=30,
        what="the first run to begin",
    )
    first_runs = job_processes(paused.pid)
    paused.pause()
    try:
        spawn_worker(concurrency=1, apps=[FENCING])
        wait_until(
            lambda: (
                service.get(ADMIN, job.id).attempts == 2
                and service.get(ADMIN, job.id).status is Status.RUNNING
            ),
            timeout=30,
            what="the job to be rescued and run again",
        )
        gate.touch()
        done = wait_for_status(service, job.id, Status.SUCCEEDED, timeout=30)
    finally:
        paused.resume()
    # The paused worker's run sees the gate at once and tries to write; the worker
    # learns it was declared lost and ends that run's process.
    wait_until(
        lambda: not any(process_alive(pid, start) for pid, start in first_runs.items()),
        timeout=30,
        what="the paused worker's run to be stopped",
    )
    wait_until(
        lambda: "declared lost" in paused.output() or "no longer holds" in paused.output(),
        timeout=30,
        what="the paused worker to notice",
    )

    winner = done.result
    assert isinstance(winner, str)
    assert winner.startswith("run ")
    pid = winner.split()[1]
    assert _files(service, job.id) == {
        "result.txt": winner.encode(),
        f"extra-{pid}.txt": winner.encode(),
    }
    report = service.report(ADMIN, job.id)
    finished = [e.message for e in report.entries if "finished" in e.message]
    assert finished == [f"{winner} finished"]
    assert report.events[-1].event == "succeeded"


@POSTGRESQL_ONLY
def test_a_session_stuck_on_a_workers_row_stalls_no_other_worker(
    service: JobService, spawn_worker: Any, database_url: str
) -> None:
    """Fault 2: a frozen worker's session holds its heartbeat row locked (as a
    partition leaves it on the server). The others must go on: forward cancels, beat,
    claim; and a worker that joins meanwhile must not take them for lost."""
    frozen = spawn_worker(concurrency=1)
    stuck = service.submit(ADMIN, "diag.sleep", {"seconds": 120})
    wait_for_status(service, stuck.id, Status.RUNNING)
    frozen_id = worker_id_of(service, frozen.pid)
    healthy = spawn_worker(concurrency=1)
    healthy_id = worker_id_of(service, healthy.pid)

    with psycopg.connect(_dsn(database_url)) as lock_holder:
        lock_holder.execute(
            "UPDATE jobprocessor_workers SET heartbeat_at = heartbeat_at WHERE id = %s",
            (frozen_id,),
        )  # and the transaction stays open, as the frozen worker's would
        frozen.pause()
        try:
            job = service.submit(ADMIN, "diag.count", {"n": 100_000, "delay": 0.01})
            running = wait_for_status(service, job.id, Status.RUNNING)
            assert running.worker_id == healthy_id
            # Long enough for every worker's rescue to have looked several times.
            wait_until(
                lambda: _heartbeat_age(service, frozen_id) > 2 * FAST["heartbeat_timeout"],
                timeout=60,
                what="the frozen worker's heartbeat to expire twice over",
            )
            service.cancel(ADMIN, job.id)
            assert wait_for_status(service, job.id, Status.CANCELED).status is Status.CANCELED
            joined = spawn_worker(concurrency=1)
            wait_until(
                lambda: _heartbeat_age(service, frozen_id) > 3 * FAST["heartbeat_timeout"],
                timeout=60,
                what="the new worker to have judged for a heartbeat timeout",
            )
            live = {w["id"] for w in service.store.workers.live()}
            assert {healthy_id, worker_id_of(service, joined.pid)} <= live
            after = service.submit(ADMIN, "diag.noop")
            assert wait_for_status(service, after.id, Status.SUCCEEDED).status
            # The frozen worker's row is locked: nobody could judge it yet.
            assert service.get(ADMIN, stuck.id).status is Status.RUNNING
        except BaseException:
            frozen.resume()
            raise
        finally:
            lock_holder.rollback()
    try:
        # Once its row is free, the frozen worker is found lost like any other.
        done = wait_for_status(service, stuck.id, Status.FAILED, timeout=30)
    finally:
        frozen.resume()
    assert done.error is not None
    assert done.error.type == "WorkerLost"
    assert not any(e.event == "worker_lost" for e in service.report(ADMIN, job.id).events), (
        "a job of a healthy worker was taken"
    )


def _heartbeat_age(service: JobService, worker_id: str) -> float:
    with psycopg.connect(_dsn(str(service.store.engine.url.render_as_string(False)))) as c:
        row = c.execute(
            "SELECT extract(epoch FROM now() - heartbeat_at) FROM jobprocessor_workers"
            " WHERE id = %s",
            (worker_id,),
        ).fetchone()
    return float(row[0]) if row else float("inf")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- a worker started while its database is away --------------------------------


class _LateDoor:
    """A TCP port that refuses connections until ``open()``, then forwards them to
    PostgreSQL: the database as a starting worker sees it during an outage."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._listener.close()  # closed: connections are refused, as by a down server
        self._server: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._stop = threading.Event()

    def open(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        server.settimeout(0.2)
        self._server = server
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()
        for connection in self._connections:
            connection.close()

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", 5432))
            self._connections += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, target), daemon=True).start()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


@pytest.fixture
def late_door() -> Iterator[_LateDoor]:
    door = _LateDoor()
    yield door
    door.close()


@POSTGRESQL_ONLY
def test_a_worker_started_during_an_outage_waits_for_the_database(
    service: JobService, database_url: str, late_door: _LateDoor, tmp_path: Path
) -> None:
    """It said so and retried, then ran jobs once the database answered (it exited
    with code 1 at once)."""
    import subprocess
    import sys

    url = make_url(database_url).set(host="127.0.0.1", port=late_door.port)
    log = tmp_path / "worker.log"
    env = cli_env(url.render_as_string(hide_password=False))
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "jobprocessor.cli", "worker", "--app", DIAG],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: "retrying" in log.read_text(errors="replace"),
            timeout=30,
            what="the worker to say it waits for the database",
        )
        assert worker.poll() is None, log.read_text(errors="replace")
        late_door.open()
        job = service.submit(ADMIN, "diag.noop")
        assert wait_for_status(service, job.id, Status.SUCCEEDED, timeout=60)
    finally:
        worker.kill()
        worker.wait(10)
