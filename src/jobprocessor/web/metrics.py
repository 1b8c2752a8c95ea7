"""``/metrics`` in the Prometheus text format, for admins (a bearer token in Prometheus).

The numbers come from the database at scrape time, not from counters in this
process: any web process answers for every worker on every host, and a restart
loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from jobprocessor.model import Status, utcnow
from jobprocessor.service import DURATION_BOUNDS, Metrics
from jobprocessor.web.context import WebContext, web
from jobprocessor.web.security import Caller, api_caller

router = APIRouter(include_in_schema=False)


class SnapshotCollector(Collector):
    """Turns one service snapshot into Prometheus metric families."""

    def __init__(self, snapshot: Metrics) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot
        jobs = GaugeMetricFamily(
            "jobprocessor_jobs", "Jobs in the database, by status.", labels=["status"]
        )
        for status in Status:
            jobs.add_metric([status.value], snapshot.by_status.get(status, 0))
        yield jobs
        yield GaugeMetricFamily(
            "jobprocessor_queue_depth",
            "Jobs waiting for a worker.",
            value=snapshot.by_status.get(Status.QUEUED, 0),
        )
        queued = GaugeMetricFamily(
            "jobprocessor_queue_jobs",
            "Active jobs by queue: waiting (due), delayed (run_at to come), running.",
            labels=["queue", "state"],
        )
        oldest = GaugeMetricFamily(
            "jobprocessor_queue_oldest_wait_seconds",
            "How long the oldest waiting job of each queue has waited.",
            labels=["queue"],
        )
        now = utcnow()
        for queue in snapshot.queues:
            queued.add_metric([queue.name, "waiting"], queue.waiting)
            queued.add_metric([queue.name, "delayed"], queue.delayed)
            queued.add_metric([queue.name, "running"], queue.running)
            if queue.oldest_since is not None:
                oldest.add_metric([queue.name], (now - queue.oldest_since).total_seconds())
        yield queued
        yield oldest
        yield GaugeMetricFamily(
            "jobprocessor_workers", "Live worker processes.", value=snapshot.workers
        )
        yield GaugeMetricFamily(
            "jobprocessor_worker_slots", "Job slots of the live workers.", value=snapshot.slots
        )
        minutes = snapshot.window.total_seconds() / 60
        durations = GaugeHistogramMetricFamily(
            "jobprocessor_job_duration_seconds",
            f"Run time of the jobs that finished in the last {minutes:g} minutes, by final status.",
            labels=["status"],
        )
        for status, (cumulative, count, total) in sorted(snapshot.durations.items()):
            buckets = [(f"{b:g}", n) for b, n in zip(DURATION_BOUNDS, cumulative, strict=True)]
            buckets.append(("+Inf", count))
            durations.add_metric([status.value], buckets, gsum_value=total)
        yield durations


@router.get("/metrics")
def metrics(
    context: Annotated[WebContext, Depends(web)],
    caller: Annotated[Caller, Depends(api_caller)],
) -> Response:
    """Jobs by status, queue depth, workers and slots, recent run times."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(context.service.metrics(caller.actor)))
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")
