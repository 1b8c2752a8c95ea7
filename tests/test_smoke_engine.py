from __future__ import annotations

from conftest import ADMIN, wait_for_status
from jobprocessor.model import Status
from jobprocessor.service import JobService


def test_a_job_runs_to_success(service: JobService, start_worker) -> None:
    start_worker(concurrency=1)
    job = service.submit(ADMIN, "diag.count", {"n": 3, "delay": 0.01})
    done = wait_for_status(service, job.id, Status.SUCCEEDED, Status.FAILED)
    assert done.status is Status.SUCCEEDED
    assert done.result == {"counted": 3}
