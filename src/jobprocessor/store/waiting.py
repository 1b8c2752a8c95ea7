"""Why queued jobs have not started: what the database knows, put to ``waiting_reason``.

Read when people look at jobs (a page of the list, one job, its report), never by
the claim: a few small queries per page, whatever its size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import Engine, Select, func, select

from jobprocessor.model import Job, Status, utcnow
from jobprocessor.queues import QueueSpec, ServingWorker, waiting_reason
from jobprocessor.store._sql import IS_HELD
from jobprocessor.store.engine import reading
from jobprocessor.store.tables import jobs, workers


def with_waiting_reasons(engine: Engine, listed: Sequence[Job]) -> list[Job]:
    """The jobs, each queued one with its ``waiting_for``."""
    queued = [job for job in listed if job.status is Status.QUEUED]
    if not queued:
        return list(listed)
    keys = sorted({job.limit_key for job in queued if job.limit_key is not None})
    with reading(engine) as connection:
        held_by_key: dict[str, int] = {}
        if keys:
            held_by_key = {
                key: count
                for key, count in connection.execute(
                    select(jobs.c.limit_key, func.count())
                    .where(jobs.c.limit_key.in_(keys), IS_HELD)
                    .group_by(jobs.c.limit_key)
                )
            }
        serving = connection.execute(
            select(workers.c.id, workers.c.slots, workers.c.queues).where(
                workers.c.stopping.is_(False)
            )
        ).all()
        running: dict[str, dict[str, int]] = {}
        if serving:
            held = connection.execute(held_per_worker_and_queue([w.id for w in serving]))
            for worker_id, queue, count in held:
                running.setdefault(worker_id, {})[queue] = count
        live = [
            ServingWorker(row.slots, QueueSpec.recorded(row.queues), running.get(row.id, {}))
            for row in serving
        ]
    now = utcnow()
    reasons = {
        job.id: f"claimed ahead by worker {job.worker_id}: starts when one of its slots is free"
        if job.worker_id is not None
        else waiting_reason(
            queue=job.queue,
            run_at=job.run_at,
            limit_key=job.limit_key,
            limit=job.concurrency_limit,
            held_of_limit=held_by_key.get(job.limit_key or "", 0),
            workers=live,
            now=now,
        )
        for job in queued
    }
    return [
        dataclasses.replace(job, waiting_for=reasons[job.id]) if job.id in reasons else job
        for job in listed
    ]


def held_per_worker_and_queue(worker_ids: Sequence[str]) -> Select[str, str, int]:
    """How many jobs each of these workers holds, per queue: (worker id, queue, count).

    By the workers' names, with the held statuses as literals (``IS_HELD``, as in the
    count per limit above): bound as parameters they kept SQLite from the worker
    index, and it read every held job through `(status, id)`: 23-33 ms for 10,000 of
    them, on every page of the list that showed a queued job.
    """
    return (
        select(jobs.c.worker_id, jobs.c.queue, func.count())
        .where(IS_HELD, jobs.c.worker_id.in_(list(worker_ids)))
        .group_by(jobs.c.worker_id, jobs.c.queue)
    )
