"""A Python client for the application's other parts: submit and follow jobs.

client = Client(user="alice")
job = client.submit("wfm.optimize", {"planning_unit": 1, "start": "2026-12-01"})
client.wait(job.id, timeout=600)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jobprocessor.model import Actor, Job, Report, Role
from jobprocessor.service import JobService, ListFilter, Page, open_service
from jobprocessor.settings import Settings
from jobprocessor.submission import SubmitOptions


class Client:
    """Acts on behalf of one user, with that user's permissions."""

    def __init__(
        self,
        database_url: str | None = None,
        *,
        user: str,
        role: Role = Role.USER,
        service: JobService | None = None,
    ) -> None:
        if service is None:
            settings = Settings(database_url=database_url) if database_url else Settings()
            service = open_service(settings)
        self.service = service
        self.actor = Actor(user, role)

    def submit(
        self,
        type_name: str,
        params: dict[str, Any] | None = None,
        *,
        title: str | None = None,
        priority: int | None = None,
        queue: str | None = None,
        timeout: float | None = None,
        run_at: datetime | None = None,
        delay: float | None = None,
    ) -> Job:
        """Queue a job (docs/reference/client.md); choices left out are the type's."""
        options = SubmitOptions(title, priority, queue, timeout, run_at, delay)
        return self.service.submit(self.actor, type_name, params, options)

    def get(self, job_id: int) -> Job:
        return self.service.get(self.actor, job_id)

    def list(self, filters: ListFilter | None = None) -> Page:
        return self.service.list_jobs(self.actor, filters or ListFilter())

    def cancel(self, job_id: int) -> Job:
        return self.service.cancel(self.actor, job_id)

    def restart(self, job_id: int) -> Job:
        return self.service.restart(self.actor, job_id)

    def delete(self, job_id: int) -> None:
        self.service.delete(self.actor, job_id)

    def report(self, job_id: int) -> Report:
        return self.service.report(self.actor, job_id)

    def wait(self, job_id: int, *, timeout: float | None = None) -> Job:
        return self.service.wait(self.actor, job_id, timeout=timeout)

    def close(self) -> None:
        """Release the database connections; the client is not used afterwards."""
        self.service.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
