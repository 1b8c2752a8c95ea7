"""Fixtures of the partition tests (a plugin of tests/conftest.py): namespaces whose
link to PostgreSQL can be cut, workers and probes inside them.

Partitions apply to PostgreSQL only: a test that uses them takes the PostgreSQL case
of ``database_url`` (``@pytest.mark.parametrize("database_url", ["postgresql"],
indirect=True)``). Where namespaces cannot be made (not root, no iproute2) the tests
fail with the reason; they are never skipped.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from forwarder import Keepalive
from jobprocessor.service import JobService
from partition import Partition, PartitionUnavailable
from partition_probe import Probe
from support import DIAG, PG_ADMIN_URL, TESTS, WorkerProcess, cli_env
from waiting import wait_until


def _pg_target() -> tuple[str, int]:
    url = make_url(PG_ADMIN_URL)
    return url.host or "127.0.0.1", url.port or 5432


@pytest.fixture
def partitions() -> Iterator[Callable[..., Partition]]:
    """Make partitions (``partitions(server_keepalive=Keepalive(...))``); all are
    closed at the end of the test, their processes killed first."""
    made: list[Partition] = []

    def make(server_keepalive: Keepalive | None = None) -> Partition:
        partition = Partition(target=_pg_target(), server_keepalive=server_keepalive)
        try:
            partition.open()
        except PartitionUnavailable as error:
            pytest.fail(f"network namespaces cannot be made here: {error}", pytrace=False)
        made.append(partition)
        return partition

    yield make
    errors = []
    for partition in reversed(made):
        try:
            partition.close()
        except Exception as error:
            errors.append(error)
    if errors:
        raise errors[0]


@pytest.fixture
def partition(partitions: Callable[..., Partition]) -> Partition:
    """One namespace whose link to PostgreSQL the test can ``cut()`` and ``heal()``."""
    return partitions()


@pytest.fixture
def spawn_worker_in(
    database_url: str, service: JobService, tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``jobprocessor worker`` in a partition; ready when its row exists.

    ``spawn_worker_in(partition, concurrency=2, apps=None, **settings)``: like
    ``spawn_worker``, with the database reached through the partition. The pid is the
    worker's own (``ip netns exec`` execs it) and its process group is its pid.
    """
    started: list[WorkerProcess] = []

    def spawn(
        partition: Partition,
        concurrency: int = 2,
        apps: list[str] | None = None,
        **overrides: Any,
    ) -> WorkerProcess:
        log = tmp_path / f"partitioned-worker-{len(started)}.log"
        command = [
            sys.executable,
            "-m",
            "jobprocessor.cli",
            "worker",
            "--concurrency",
            str(concurrency),
        ]
        for module in apps or [DIAG]:
            command += ["--app", module]
        env = cli_env(partition.url(database_url), **overrides)
        process = partition.spawn(command, env=env, log=log)
        worker = WorkerProcess(process, log)
        started.append(worker)

        def registered() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{worker.output()}")
            return any(w["pid"] == process.pid for w in service.store.workers.live()) and (
                "started:" in worker.output()
            )

        wait_until(registered, timeout=60, what="the partitioned worker to register")
        if not partition.contains(process.pid):
            raise AssertionError(f"worker {process.pid} is not in namespace {partition.name}")
        return worker

    yield spawn
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


@pytest.fixture
def probe_in(database_url: str, tmp_path: Path) -> Callable[[Partition], Probe]:
    """Start a probe (``partition_probe.py``) in a partition, on the test's database."""
    count = 0

    def start(partition: Partition) -> Probe:
        nonlocal count
        count += 1
        url = make_url(partition.url(database_url)).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        command = [sys.executable, str(TESTS / "partition_probe.py"), dsn]
        log = tmp_path / f"probe-{count}.log"
        return Probe(partition.spawn_interactive(command, log=log))

    return start
