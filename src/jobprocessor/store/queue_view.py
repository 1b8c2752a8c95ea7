"""The queues as people see them: waiting and running jobs, limits, the workers.

For the console's Queues page, the REST API and ``/metrics``; a few grouped queries
over active jobs, whatever the history.
"""

from __future__ import annotations

from sqlalchemy import Engine, case, func, select, type_coerce

from jobprocessor.model import QueueInfo, QueueLimit, Status, utcnow
from jobprocessor.queues import QueueSpec
from jobprocessor.store._sql import HELD
from jobprocessor.store.engine import reading
from jobprocessor.store.tables import UTCDateTime, jobs, workers

_ACTIVE = [Status.QUEUED.value, *HELD]


def queues(engine: Engine) -> list[QueueInfo]:
    """Every queue that has active jobs or that a live worker names, by name."""
    now = utcnow()
    queued = jobs.c.status == Status.QUEUED.value
    held = jobs.c.status.in_(HELD)
    delayed = queued & jobs.c.run_at.is_not(None) & (jobs.c.run_at > now)
    with reading(engine) as connection:
        counts = connection.execute(
            select(
                jobs.c.queue,
                func.sum(case((queued & ~delayed.self_group(), 1), else_=0)),
                func.sum(case((delayed, 1), else_=0)),
                func.sum(case((held, 1), else_=0)),
                type_coerce(func.min(case((queued, jobs.c.created_at), else_=None)), UTCDateTime),
            )
            .where(jobs.c.status.in_(_ACTIVE))
            .group_by(jobs.c.queue)
        ).all()
        limits = connection.execute(
            select(
                jobs.c.queue,
                jobs.c.limit_key,
                func.max(jobs.c.concurrency_limit),
                func.sum(case((held, 1), else_=0)),
                func.sum(case((queued, 1), else_=0)),
            )
            .where(jobs.c.status.in_(_ACTIVE), jobs.c.limit_key.is_not(None))
            .group_by(jobs.c.queue, jobs.c.limit_key)
            .order_by(jobs.c.limit_key)
        ).all()
        live = connection.execute(
            select(workers.c.id, workers.c.queues).order_by(workers.c.started_at)
        ).all()
    specs = [(row.id, QueueSpec.recorded(row.queues)) for row in live]
    by_queue = {row[0]: row for row in counts}
    names = set(by_queue) | {name for _, spec in specs for name in spec.caps}
    found = []
    for name in sorted(names):
        row = by_queue.get(name)
        found.append(
            QueueInfo(
                name=name,
                waiting=int(row[1] or 0) if row else 0,
                delayed=int(row[2] or 0) if row else 0,
                running=int(row[3] or 0) if row else 0,
                oldest_since=row[4] if row else None,
                limits=[
                    QueueLimit(key, int(places or 0), int(n_held or 0), int(n_waiting or 0))
                    for queue, key, places, n_held, n_waiting in limits
                    if queue == name
                ],
                served_by=[
                    (worker, spec.caps.get(name, spec.others))
                    for worker, spec in specs
                    if spec.serves(name)
                ],
            )
        )
    return found
