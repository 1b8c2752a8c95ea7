"""Real network partitions between a worker and PostgreSQL (issue 13).

A worker runs in a network namespace of its own (``partition``); the link to the
database is cut mid-job, so that packets vanish both ways and neither end is told
(see ``partition.py``). The worker on the host must rescue the job within the
heartbeat timeout and run it again; when the link returns, the cut-off worker's
writes must be refused, it must notice that it was declared lost and stop its run,
and no job may complete twice. Cut and healed several times in one test.

The forwarder's keepalive plays the part of the server's own TCP keepalives (the
server cannot see the cut: it talks to the forwarder over loopback).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from forwarder import Keepalive
from jobprocessor.model import Status
from jobprocessor.service import JobService
from partition import Partition
from processes import job_processes, process_alive, worker_id_of
from support import ADMIN, FAST, TESTS, wait_for_status
from waiting import wait_until

FENCING = "fencing_jobs"
ROUNDS = 3
#: The server gives a silent connection up after about 1 + 1 * 2 seconds.
SERVER_KEEPALIVE = Keepalive(idle=1, interval=1, count=2)


@pytest.fixture
def fencing_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TESTS / "apps"))
    import fencing_jobs  # noqa: F401


@pytest.mark.usefixtures("fencing_jobs")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_cut_off_worker_is_replaced_and_fenced_cut_after_cut(
    service: JobService,
    partitions: Callable[..., Partition],
    spawn_worker_in: Callable[..., Any],
    spawn_worker: Callable[..., Any],
    tmp_path: Path,
    record_property: Callable[[str, Any], None],
) -> None:
    partition = partitions(server_keepalive=SERVER_KEEPALIVE)
    cut_off = spawn_worker_in(partition, concurrency=1, apps=[FENCING])
    rescued_after = []
    for round_ in range(ROUNDS):
        gate = tmp_path / f"gate-{round_}"
        job = service.submit(ADMIN, "fence.gated", {"gate": str(gate)})
        wait_until(
            lambda job_id=job.id: any(
                "began" in e.message for e in service.report(ADMIN, job_id).entries
            ),
            timeout=60,
            what=f"round {round_}: the job to begin on the cut-off worker",
        )
        assert service.get(ADMIN, job.id).worker_id == worker_id_of(service, cut_off.pid)
        old_runs = job_processes(cut_off.pid)
        lost_before = cut_off.output().count("declared lost")
        host = spawn_worker(concurrency=1, apps=[FENCING])
        host_id = worker_id_of(service, host.pid)

        partition.cut()
        cut_at = time.monotonic()
        try:
            wait_until(
                lambda job_id=job.id, host_id=host_id: (
                    (j := service.get(ADMIN, job_id)).worker_id == host_id
                    and j.status is Status.RUNNING
                ),
                timeout=10 * FAST["heartbeat_timeout"],
                what=f"round {round_}: the job to be rescued and run on the host",
            )
            rescued_after.append(round(time.monotonic() - cut_at, 2))
            gate.touch()  # both runs may go on now; only one may count
            done = wait_for_status(service, job.id, Status.SUCCEEDED, timeout=30)
        finally:
            partition.heal()

        wait_until(
            lambda before=lost_before: cut_off.output().count("declared lost") > before,
            timeout=60,
            what=f"round {round_}: the cut-off worker to learn it was declared lost",
        )
        wait_until(
            lambda runs=old_runs: not any(process_alive(p, s) for p, s in runs.items()),
            timeout=60,
            what=f"round {round_}: the cut-off worker's run to be stopped",
        )
        _assert_one_run_counted(service, job.id, done.result)
        host.kill()
        wait_until(
            lambda: any(w["pid"] == cut_off.pid for w in service.store.workers.live()),
            timeout=60,
            what="the cut-off worker to have joined again",
        )
    record_property("rescued_after_cut_s", rescued_after)
    print(f"rescued after the cut, per round: {rescued_after} s")


def _assert_one_run_counted(service: JobService, job_id: int, winner: object) -> None:
    """The job's record, files, log and timeline are the winning run's alone."""
    assert isinstance(winner, str)
    pid = winner.split()[1]
    report = service.report(ADMIN, job_id)
    files = {a.name: service.artifact(ADMIN, job_id, a.name)[1] for a in report.artifacts}
    assert files == {"result.txt": winner.encode(), f"extra-{pid}.txt": winner.encode()}
    assert [e.message for e in report.entries if "finished" in e.message] == [f"{winner} finished"]
    events = [e.event for e in report.events]
    assert events.count("succeeded") == 1
    assert events[-1] == "succeeded"
    assert events.count("started") == 2
