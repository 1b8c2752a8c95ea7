"""The partition harness itself (tests/partition.py): what the fault tests of issue 13
build on. A process in a namespace reaches PostgreSQL only through the partition; a
cut stalls its open connections and times out new ones, without an error or a reset
reaching either side; a heal lets both through again, as often as wanted; closing a
partition leaves no process, namespace, link or socket behind.

Waits for a thing that must *not* happen ("the query stalls") are bounded non-events
(``Probe.silent``); everything else is awaited. Measured figures (how long a stalled
query took to resume after a heal) are printed and kept as junit properties (``-rP``).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from forwarder import Keepalive
from jobprocessor.model import Status
from jobprocessor.service import JobService
from partition import NETNS_DIR, Partition, PartitionUnavailable, check_available
from partition_probe import Probe
from support import ADMIN, wait_for_status
from waiting import wait_until

POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

#: How long a call must hang to count as stalled rather than failed fast (generous:
#: a refused or reset connection fails in milliseconds).
STALL = 3.0
#: psycopg's connect_timeout for attempts made while cut.
CONNECT_TIMEOUT = 2


def note(record_property: Callable[[str, Any], None], name: str, value: Any) -> None:
    record_property(name, value)
    print(f"{name} = {value}")


def _dsn(database_url: str) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def sessions_through(database_url: str, partition: Partition) -> set[int]:
    """PostgreSQL backends (pids) whose client is the partition's forwarder."""
    ports = sorted(partition.forwarder.upstream_ports())
    with psycopg.connect(_dsn(database_url), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)", (ports,)
        ).fetchall()
    return {row[0] for row in rows}


def backend_alive(database_url: str, pid: int) -> bool:
    with psycopg.connect(_dsn(database_url), autocommit=True) as connection:
        row = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
        return bool(row.fetchone()[0])  # type: ignore[index]


def ends_view(partition: Partition) -> list[Any]:
    """What each end knows of its link: device states, IPv4 addresses and routes."""
    host = subprocess.run(
        ["ip", "-j", "-4", "addr", "show", "dev", partition.host_device],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    host_routes = subprocess.run(
        ["ip", "-j", "-4", "route", "show", "dev", partition.host_device],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    inside = partition.run(["ip", "-j", "-4", "addr"]).stdout
    inside_routes = partition.run(["ip", "-j", "-4", "route"]).stdout
    devices = [
        (d["ifname"], d["operstate"], sorted(d["flags"]), [a["local"] for a in d["addr_info"]])
        for view in (host, inside)
        for d in json.loads(view)
    ]
    routes = [
        (r["dst"], r.get("gateway"), r.get("dev"), sorted(r.get("flags", [])))
        for view in (host_routes, inside_routes)
        for r in json.loads(view)
    ]
    return [devices, routes]


def progressed(service: JobService, job_id: int, steps: int = 2) -> Callable[[], bool]:
    return lambda: (service.get(ADMIN, job_id).progress.done or 0) >= steps


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def gone(pid: int) -> bool:
    """The process has exited (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


# -- the path ---------------------------------------------------------------------


@POSTGRESQL
def test_a_process_in_the_namespace_reaches_postgresql_only_through_the_partition(
    database_url: str, partition: Partition, probe_in: Callable[[Partition], Probe]
) -> None:
    probe = probe_in(partition)
    assert probe.call("connect", name="held")["ok"]
    answer = probe.call(
        "query",
        name="held",
        sql="SELECT current_database(), pid, client_port FROM pg_stat_activity"
        " WHERE pid = pg_backend_pid()",
    )
    database, backend, client_port = answer["rows"][0]
    assert database == make_url(database_url).database
    assert client_port in partition.forwarder.upstream_ports()
    assert backend in sessions_through(database_url, partition)
    assert probe.process.pid in partition.pids()

    # Nothing else is reachable from inside: the namespace's own loopback has no
    # server, and its only route is the one to the host end of the partition.
    direct = partition.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', 5432), 5)"]
    )
    assert "ConnectionRefusedError" in direct.stderr
    routes = json.loads(partition.run(["ip", "-j", "-4", "route"]).stdout)
    assert {r["dst"] for r in routes} == {
        str(ipaddress.IPv4Network(f"{partition.namespace_address}/30", strict=False)),
        str(ipaddress.IPv4Network(f"{partition.host_address}/30", strict=False)),
    }


@POSTGRESQL
def test_url_rewrites_only_the_address(database_url: str, partition: Partition) -> None:
    url = make_url(partition.url(database_url))
    original = make_url(database_url)
    assert (url.host, url.port) == partition.address == (partition.host_address, url.port)
    assert (url.drivername, url.username, url.database) == (
        original.drivername,
        original.username,
        original.database,
    )
    with pytest.raises(ValueError, match="networked database"):
        partition.url("sqlite:///jobs.sqlite3")


# -- the cut ------------------------------------------------------------------------


@POSTGRESQL
def test_a_cut_stalls_open_connections_and_times_out_new_ones_until_healed(
    database_url: str,
    partition: Partition,
    probe_in: Callable[[Partition], Probe],
    record_property: Callable[[str, Any], None],
) -> None:
    probe = probe_in(partition)
    assert probe.call("connect", name="held")["ok"]
    backend = probe.call("query", name="held", sql="SELECT pg_backend_pid()")["rows"][0][0]
    links = len(partition.forwarder.links())
    ends = ends_view(partition)

    partition.cut()
    # Neither end sees the cut: links up, addresses and routes as they were.
    assert ends_view(partition) == ends
    attempt = probe.call("connect", connect_timeout=CONNECT_TIMEOUT)
    assert not attempt["ok"]
    assert "timeout" in attempt["error"], attempt
    note(record_property, "connect_attempt_while_cut_s", attempt["seconds"])

    stalled = probe.send("query", name="held", sql="SELECT 42")
    assert probe.silent(stalled, STALL), probe.answer(stalled)
    # Nothing reached the host side: no FIN or RST, the session is still open.
    assert len(partition.forwarder.links()) == links
    assert backend_alive(database_url, backend)

    partition.heal()
    healed = time.monotonic()
    answer = probe.answer(stalled)
    note(record_property, "stalled_query_resumed_after_heal_s", round(time.monotonic() - healed, 2))
    note(record_property, "stalled_query_total_s", answer["seconds"])
    assert answer["ok"], answer
    assert answer["rows"] == [[42]]
    assert probe.call("connect", connect_timeout=CONNECT_TIMEOUT)["ok"]
    assert probe.call("query", name="held", sql="SELECT pg_backend_pid()")["rows"] == [[backend]]
    assert ends_view(partition) == ends


@POSTGRESQL
def test_cut_and_heal_repeat_in_one_test(
    partition: Partition,
    probe_in: Callable[[Partition], Probe],
    record_property: Callable[[str, Any], None],
) -> None:
    probe = probe_in(partition)
    assert probe.call("connect", name="held")["ok"]
    resumed: list[float] = []
    for cycle in range(3):
        partition.cut()
        assert partition.is_cut
        stalled = probe.send("query", name="held", sql=f"SELECT {cycle}")
        attempt = probe.call("connect", connect_timeout=CONNECT_TIMEOUT)
        assert not attempt["ok"]
        assert "timeout" in attempt["error"], attempt
        assert probe.silent(stalled, 0.5)

        partition.heal()
        assert not partition.is_cut
        healed = time.monotonic()
        assert probe.answer(stalled)["rows"] == [[cycle]]
        resumed.append(round(time.monotonic() - healed, 2))
        assert probe.call("connect", connect_timeout=CONNECT_TIMEOUT)["ok"]
    note(record_property, "resumed_after_heal_s", resumed)


@POSTGRESQL
def test_a_clients_tcp_user_timeout_ends_a_query_stalled_by_a_cut(
    partition: Partition,
    probe_in: Callable[[Partition], Probe],
    record_property: Callable[[str, Any], None],
) -> None:
    # The stall is TCP's own: the client's TCP timeouts see it as they would a real one.
    probe = probe_in(partition)
    assert probe.call("connect", name="held", options={"tcp_user_timeout": 2000})["ok"]
    partition.cut()
    answer = probe.call("query", name="held", sql="SELECT 1")
    note(record_property, "query_failed_after_s", answer["seconds"])
    assert not answer["ok"]
    assert "timed out" in answer["error"], answer


@POSTGRESQL
def test_server_keepalive_ends_the_session_of_a_client_cut_off(
    database_url: str,
    partitions: Callable[..., Partition],
    probe_in: Callable[[Partition], Probe],
    record_property: Callable[[str, Any], None],
) -> None:
    # Stands in for PostgreSQL's tcp_keepalives_*: without it (the default) a cut-off
    # client's session stays open on the server, as the previous tests show.
    partition = partitions(server_keepalive=Keepalive(idle=1, interval=1, count=2))
    probe = probe_in(partition)
    assert probe.call("connect", name="held")["ok"]
    backend = probe.call("query", name="held", sql="SELECT pg_backend_pid()")["rows"][0][0]

    partition.cut()
    began = time.monotonic()
    wait_until(
        lambda: not backend_alive(database_url, backend),
        timeout=60,
        what="PostgreSQL to end the cut-off client's session",
    )
    note(record_property, "session_ended_after_cut_s", round(time.monotonic() - began, 2))

    partition.heal()
    answer = probe.call("query", name="held", sql="SELECT 1")
    assert not answer["ok"], "the session ended while cut: the client must see it gone"


# -- a real worker ------------------------------------------------------------------


@POSTGRESQL
def test_a_worker_in_the_namespace_runs_jobs_and_rides_through_cuts(
    database_url: str,
    service: JobService,
    partition: Partition,
    spawn_worker_in: Callable[..., Any],
) -> None:
    # A heartbeat timeout longer than the cuts: this shows the harness, not rescue.
    worker = spawn_worker_in(partition, concurrency=2, heartbeat_timeout=120)
    assert partition.contains(worker.pid)
    assert sessions_through(database_url, partition), "the worker's sessions are not relayed"

    first = service.submit(ADMIN, "diag.noop", {})
    wait_for_status(service, first.id, Status.SUCCEEDED)
    jobs = children_of(worker.pid)
    assert jobs, "the worker has no job processes"
    assert jobs <= partition.pids(), "job processes are outside the namespace"

    for _ in range(2):
        running = service.submit(ADMIN, "diag.count", {"n": 40, "delay": 0.05})
        wait_until(progressed(service, running.id), what="the job to make progress")
        partition.cut()
        queued = service.submit(ADMIN, "diag.noop", {})
        # Cut off, the worker can neither claim the new job nor finish the running one.
        time.sleep(STALL)  # a bounded non-event: nothing may change while cut
        assert service.get(ADMIN, queued.id).status is Status.QUEUED
        assert service.get(ADMIN, running.id).status is Status.RUNNING

        partition.heal()
        wait_for_status(service, running.id, Status.SUCCEEDED, timeout=60)
        wait_for_status(service, queued.id, Status.SUCCEEDED, timeout=60)
    assert worker.process.poll() is None, worker.output()


# -- life cycle ---------------------------------------------------------------------


def test_closing_a_partition_kills_its_processes_and_removes_everything() -> None:
    # A process in the namespace with a child, and a connection relayed to PostgreSQL.
    code = (
        "import socket, subprocess, sys, time; "
        "link = socket.create_connection((sys.argv[1], int(sys.argv[2]))); "
        "child = subprocess.Popen(['sleep', '600']); print(child.pid, flush=True); "
        "time.sleep(600)"
    )
    seen: dict[str, Any] = {}

    def a_failing_test() -> None:
        with Partition() as partition:
            seen["partition"] = partition
            host, port = seen["address"] = partition.address
            process = seen["process"] = partition.spawn_interactive(
                [sys.executable, "-c", code, host, str(port)]
            )
            assert process.stdout is not None
            child = seen["child"] = int(process.stdout.readline())
            assert {process.pid, child} <= partition.pids()
            wait_until(lambda: partition.forwarder.upstream_ports(), what="the relayed link")
            partition.cut()
            raise RuntimeError("the test failed")

    with pytest.raises(RuntimeError, match="the test failed"):
        a_failing_test()
    partition, process, child = seen["partition"], seen["process"], seen["child"]
    host, port = seen["address"]
    names = [partition.name, partition.router]
    device = partition.host_device

    assert process.returncode is not None
    assert gone(child)
    assert partition.forwarder.closed
    assert partition.forwarder.links() == []
    assert not any((NETNS_DIR / name).exists() for name in names)
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert not set(names) & {line.split()[0] for line in listed.stdout.splitlines() if line}
    link = subprocess.run(["ip", "link", "show", device], capture_output=True, check=False)
    assert link.returncode != 0, "the host end of the veth pair is still there"
    # The relayed connection was reset, not closed: no socket lingers on the host end
    # (not even in TIME-WAIT), in any state.
    sockets = subprocess.run(["ss", "-Htan"], capture_output=True, text=True, check=True).stdout
    ours = re.compile(rf"{re.escape(host)}(%\S+)?:{port}\s")
    assert not ours.search(sockets), sockets


@POSTGRESQL
def test_partitions_made_at_once_are_distinct_and_independent(
    partitions: Callable[..., Partition], probe_in: Callable[[Partition], Probe]
) -> None:
    with ThreadPoolExecutor(3) as pool:
        made = list(pool.map(lambda _: partitions(), range(3)))
    assert len({p.name for p in made}) == 3
    assert len({p.host_device for p in made}) == 3
    assert len({p.host_address for p in made}) == 3
    assert len({p.namespace_address for p in made}) == 3
    assert all(p.name.endswith(f"-{os.getpid()}") for p in made)

    probes = [probe_in(p) for p in made]
    made[0].cut()
    attempts = [probe.send("connect", connect_timeout=CONNECT_TIMEOUT) for probe in probes]
    answers = [probe.answer(tag) for probe, tag in zip(probes, attempts, strict=True)]
    assert [a["ok"] for a in answers] == [False, True, True], answers


def test_without_root_or_iproute2_the_harness_fails_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(PartitionUnavailable, match="not installed"):
        check_available("no-such-ip-command")
    with pytest.raises(PartitionUnavailable, match="not installed"):
        Partition(ip="no-such-ip-command").open()
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(PartitionUnavailable, match="need root"):
        check_available()
