"""The workers under chaos: real ``jobprocessor worker`` processes, each in a process
group of its own, one of them in a network namespace (``tests/partition.py``), and
the journal of what was done to them.

A worker is a ``Member`` of one of the cluster's positions; a killed member's
position gets a replacement at once (in the namespace if it was there). Every fault
is written to the journal (``Fault``) with its times, as epoch seconds like the
database's timestamps, and the worker's id, which the checks match against the
``worker_lost`` events.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bench.chaos.pg import Watcher
from bench.chaos.plan import SLOTS, TIMINGS
from bench.chaos_jobs import ENV as STAMPS_ENV
from bench.common import ROOT

sys.path.insert(0, str(ROOT / "tests"))  # the partition harness of the tests, reused as is
from forwarder import Keepalive
from partition import Partition

#: The forwarder gives a silent link up after about 1 + 1 * 2 s, as the server
#: would with keepalives (tests/test_partitions.py).
SERVER_KEEPALIVE = Keepalive(idle=1, interval=1, count=2)


def open_partition() -> Partition:
    """A network namespace whose link to the local PostgreSQL can be cut and healed."""
    return Partition(target=("127.0.0.1", 5432), server_keepalive=SERVER_KEEPALIVE).open()


#: Seconds after a pause ends that its worker is spared from kills (twice after a cut).
SPARE_AFTER = 10.0

FaultKind = Literal["kill", "pause", "cut", "restart"]


@dataclass
class Fault:
    """One thing done to the cluster: when it began and ended, to whom."""

    kind: FaultKind
    began: float
    ended: float | None = None
    position: int | None = None
    pid: int | None = None
    worker_id: str | None = None
    #: The jobs the worker held just before (kill, pause, cut).
    held: list[int] = field(default_factory=list)
    note: str = ""
    #: A restart: when the server first refused a connection (``ended``: accepted again).
    refused: float | None = None


@dataclass
class Member:
    """One worker process in one position of the cluster."""

    position: int
    process: subprocess.Popen[bytes]
    log: Path
    in_namespace: bool
    spawned_at: float
    worker_id: str | None = None
    registered_at: float | None = None
    #: When its slots were up (it logged "started:"): it takes jobs from then on.
    ready_at: float | None = None
    #: Not to be killed before this time: a resumed or healed worker must get to
    #: find out that it was declared lost, and its stale runs to try their writes.
    spared_until: float = 0.0
    state: Literal["up", "paused", "cut", "killed", "stopped"] = "up"

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)


class Cluster:
    """``WORKERS`` positions of workers with ``SLOTS`` slots each; the last position's
    workers run in ``partition``."""

    def __init__(
        self, url: str, positions: int, run_dir: Path, stamps: Path, partition: Partition
    ) -> None:
        self.url = url
        self.positions = positions
        self.logs = run_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.stamps = stamps
        self.partition = partition
        self.members: list[Member] = []
        self.journal: list[Fault] = []

    # -- the workers ------------------------------------------------------------

    @property
    def namespace_position(self) -> int:
        return self.positions - 1

    def current(self) -> list[Member]:
        """The latest member of each position that is not killed or stopped."""
        latest: dict[int, Member] = {}
        for member in self.members:
            latest[member.position] = member
        return [m for m in latest.values() if m.state not in ("killed", "stopped")]

    def spawn(self, position: int) -> Member:
        """Start a worker in ``position`` (in the namespace for the last position)."""
        in_namespace = position == self.namespace_position
        url = self.partition.url(self.url) if in_namespace else self.url
        env = dict(os.environ)
        env["JOBPROCESSOR_DATABASE_URL"] = url
        for key, value in TIMINGS.items():
            env[f"JOBPROCESSOR_{key.upper()}"] = str(value)
        env[STAMPS_ENV] = str(self.stamps)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        command = [
            sys.executable,
            "-m",
            "jobprocessor.cli",
            "worker",
            "--concurrency",
            str(SLOTS),
            "--app",
            "bench.chaos_jobs",
        ]
        log = self.logs / f"worker-{len(self.members):03d}-p{position}.log"
        if in_namespace:
            # ``ip netns exec`` execs the worker: the pid is its own, a session of its own.
            process = self.partition.spawn(command, env=env, log=log)
        else:
            with log.open("wb") as out:
                process = subprocess.Popen(
                    command,
                    env=env,
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        member = Member(position, process, log, in_namespace, time.time())
        self.members.append(member)
        return member

    def refresh(self, watcher: Watcher) -> None:
        """Learn which workers registered, and which started their slots, since the
        last look."""
        for member in self.current():
            if member.ready_at is None and " started: " in member.output():
                member.ready_at = time.time()
        if all(m.worker_id is not None for m in self.current()):
            return
        registered = watcher.workers()
        if registered is None:
            return
        for member in self.current():
            if member.worker_id is None and member.pid in registered:
                member.worker_id = registered[member.pid]
                member.registered_at = time.time()

    def ready_for(self, member: Member) -> float:
        """Seconds since the member is registered and runs jobs (0 if it does not yet)."""
        if member.registered_at is None or member.ready_at is None:
            return 0.0
        return time.time() - max(member.registered_at, member.ready_at)

    # -- the faults ---------------------------------------------------------------

    def kill(self, member: Member, watcher: Watcher) -> Fault:
        """SIGKILL the member's whole process group, and start a replacement."""
        held = watcher.held(member.worker_id) if member.worker_id else []
        fault = Fault("kill", time.time(), None, member.position, member.pid, member.worker_id)
        member.signal_group(signal.SIGKILL)
        member.state = "killed"
        fault.held = held or []
        with contextlib.suppress(subprocess.TimeoutExpired):
            member.process.wait(10)
        fault.ended = fault.began
        self.journal.append(fault)
        self.spawn(member.position)
        return fault

    def pause(self, member: Member, watcher: Watcher) -> Fault:
        """SIGSTOP the member's whole process group (a frozen host, a long GC pause)."""
        held = watcher.held(member.worker_id) if member.worker_id else []
        fault = Fault("pause", time.time(), None, member.position, member.pid, member.worker_id)
        member.signal_group(signal.SIGSTOP)
        member.state = "paused"
        fault.held = held or []
        self.journal.append(fault)
        return fault

    def resume(self, member: Member, fault: Fault) -> None:
        member.signal_group(signal.SIGCONT)
        member.state = "up"
        fault.ended = time.time()
        member.spared_until = fault.ended + SPARE_AFTER

    def cut(self, member: Member, watcher: Watcher) -> Fault:
        """Cut the namespace's link: packets vanish both ways, nobody is told."""
        held = watcher.held(member.worker_id) if member.worker_id else []
        fault = Fault("cut", time.time(), None, member.position, member.pid, member.worker_id)
        self.partition.cut()
        member.state = "cut"
        fault.held = held or []
        self.journal.append(fault)
        return fault

    def heal(self, member: Member, fault: Fault) -> None:
        self.partition.heal()
        if member.state == "cut":
            member.state = "up"
        fault.ended = time.time()
        # Its connections come back at TCP's next retransmission: seconds after the heal.
        member.spared_until = fault.ended + 2 * SPARE_AFTER

    def stop_all(self, timeout: float = 30.0) -> None:
        """SIGTERM (a drain) to every live worker, which stops its job processes; the
        whole group of one still alive after ``timeout`` is SIGKILLed. Groups are
        signalled only while their leader lives: a reaped leader's pid may be reused."""
        live = [m for m in self.members if m.process.poll() is None]
        for member in live:
            if member.state == "paused":
                member.signal_group(signal.SIGCONT)
            member.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for member in live:
            with contextlib.suppress(subprocess.TimeoutExpired):
                member.process.wait(max(0.1, deadline - time.monotonic()))
            if member.process.poll() is None:
                member.signal_group(signal.SIGKILL)
                member.process.wait(10)
            member.state = "stopped"
