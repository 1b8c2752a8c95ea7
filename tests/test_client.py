from __future__ import annotations

import pytest

from jobprocessor import Client, Conflict, InvalidInput, NotFound, Role, Status
from jobprocessor.service import JobService
from jobprocessor.settings import Settings
from support import wait_for_status


def test_client_submits_and_follows_its_users_jobs(service: JobService, start_worker) -> None:
    alice = Client(user="alice", service=service)
    job = alice.submit("diag.count", {"n": 2, "delay": 0.01}, title="Alice counts")
    assert (job.submitted_by, job.title, job.status) == ("alice", "Alice counts", Status.QUEUED)
    start_worker(concurrency=1)
    done = alice.wait(job.id, timeout=30)
    assert done.status is Status.SUCCEEDED
    assert alice.report(job.id).job.result == {"counted": 2}
    assert [j.id for j in alice.list().items] == [job.id]


def test_client_acts_with_its_users_permissions(service: JobService) -> None:
    alice = Client(user="alice", service=service)
    bob = Client(user="bob", service=service)
    admin = Client(user="root", role=Role.ADMIN, service=service)
    job = alice.submit("diag.count", {"n": 1})
    with pytest.raises(NotFound):
        bob.cancel(job.id)
    assert bob.list().items == []
    assert admin.get(job.id).id == job.id
    assert alice.cancel(job.id).status is Status.CANCELED
    with pytest.raises(Conflict):
        alice.cancel(job.id)
    restarted = admin.restart(job.id)
    assert (restarted.restarted_from, restarted.submitted_by) == (job.id, "root")
    alice.delete(job.id)
    with pytest.raises(NotFound):
        alice.get(job.id)


def test_client_refuses_bad_settings_before_storing(service: JobService) -> None:
    alice = Client(user="alice", service=service)
    with pytest.raises(InvalidInput, match="n"):
        alice.submit("diag.count", {"n": "many"})
    assert alice.list().items == []


def test_client_opens_the_database_from_a_url(settings: Settings) -> None:
    import jobprocessor.diagnostics  # noqa: F401 - registers diag.count

    client = Client(settings.database_url, user="carol")
    job = client.submit("diag.count", {"n": 1})
    assert wait_for_status(client.service, job.id, Status.QUEUED).submitted_by == "carol"
    client.close()
