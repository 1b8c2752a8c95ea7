"""Keeps jobs flowing during the chaos: the seeded mix of ``bench/chaos_jobs.py``, at
an even rate over the run, held back while the queue is deep, and carried through
the database's restart (a failed submission is tried again)."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from typing import Any

from sqlalchemy.exc import DBAPIError

import bench.chaos_jobs  # noqa: F401 - registers the chaos.* types for submission
from jobprocessor.model import Actor, Role, Status
from jobprocessor.service import JobService, open_service
from jobprocessor.settings import Settings

ADMIN = Actor("admin", Role.ADMIN)
TICK = 0.5
CHUNK = 200


def draw(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """One job of the mix: a third no-ops, a quarter sleeps of 0.1-2 s, the rest reports
    of 0.1-2 s; each half with ``retries=0``, half with ``retries=2``."""
    retried = "_retry" if rng.random() < 0.5 else ""
    kind = rng.random()
    if kind < 0.35:
        return f"chaos.plain{retried}", {"seconds": 0.0}
    seconds = round(rng.uniform(0.1, 2.0), 2)
    if kind < 0.60:
        return f"chaos.plain{retried}", {"seconds": seconds}
    return f"chaos.report{retried}", {"seconds": seconds}


class Submitter:
    """A thread that submits ``rate`` jobs a second until ``stop()``."""

    def __init__(self, url: str, *, rate: float, max_queue: int, seed: int) -> None:
        self.rate = rate
        self.max_queue = max_queue
        self._rng = random.Random(seed + 1)
        self._service: JobService = open_service(Settings(database_url=url), migrate=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="submitter", daemon=True)
        self.submitted = 0
        self.failures = 0
        self.by_type: dict[str, int] = defaultdict(int)

    def start(self) -> None:
        self._began = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        """Stop submitting (once; again does nothing)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(60)
        self._service.close()

    def _run(self) -> None:
        pending: list[tuple[str, dict[str, Any]]] = []
        while not self._stop.wait(TICK):
            due = int(self.rate * (time.monotonic() - self._began)) - self.submitted
            if due > len(pending):
                pending += [draw(self._rng) for _ in range(due - len(pending))]
            if not pending:
                continue
            try:
                queued = self._service.store.count_by_status().get(Status.QUEUED, 0)
                room = min(CHUNK, self.max_queue - queued)
                if room > 0:
                    self._submit(pending, room)
            except DBAPIError:
                self.failures += 1  # the database restarts: what is left goes next time

    def _submit(self, pending: list[tuple[str, dict[str, Any]]], room: int) -> None:
        """Submit up to ``room`` of ``pending``, one transaction per type; what went
        through leaves ``pending``, also when a later type fails."""
        grouped: dict[str, list[int]] = defaultdict(list)
        for index, (type_name, _) in enumerate(pending[:room]):
            grouped[type_name].append(index)
        done: set[int] = set()
        try:
            for type_name, indexes in grouped.items():
                self._service.submit_many(ADMIN, type_name, [pending[i][1] for i in indexes])
                self.submitted += len(indexes)
                self.by_type[type_name] += len(indexes)
                done.update(indexes)
        finally:
            pending[:] = [item for i, item in enumerate(pending) if i not in done]
