"""Real network partitions between processes in a network namespace and PostgreSQL.

One ``Partition`` is two network namespaces and two veth pairs, with addresses from
one /29 of 198.18.0.0/16 (the block set aside for network tests), ``i`` its index::

    host: the test process, PostgreSQL on 127.0.0.1, the Forwarder on H
      jpt{i}h    H = .1/30
      wire0          .2/30  \\  namespace jpt{i}-{pid}-router: forwards, and is
      wire1          .5/30  /  where a cut is made
      eth0       N = .6/30     namespace jpt{i}-{pid}: the processes under test

Processes in the namespace reach PostgreSQL through the router and the forwarder
(``url()``); the namespace has no other route, and its own 127.0.0.1 has no server.

``cut()`` adds blackhole routes for H and N to the router: every packet between the
two ends is silently discarded in between, as when the switch between two hosts
fails. Neither end sees anything happen: their links, addresses and routes stay, no
RST, FIN or ICMP is sent. Open connections stall; new ones time out. ``heal()``
removes the routes: new connections work at once, and open connections resume at
TCP's next retransmission (exponential back-off: after a cut of T seconds, up to
about T more). Cut and heal may be repeated any number of times.

The kernels this project runs on have no ``netem`` qdisc nor tc drop action, and no
nftables/iptables tools are installed; routes need nothing but iproute2.

Names and addresses are unique on the machine: an index is taken under a lock file
(other test sessions and pytest-xdist workers use the same one), the namespace name
carries the owner's pid, and namespaces whose owner died are reclaimed.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import make_url

from forwarder import Forwarder, Keepalive

#: The block of addresses partitions take their /29s from (RFC 2544, for network tests).
BLOCK = ipaddress.IPv4Network("198.18.0.0/16")
SLOTS = BLOCK.num_addresses // 8
PREFIX = "jpt"
LOCK_FILE = Path("/run/jobprocessor-test-partitions.lock")
NETNS_DIR = Path("/run/netns")
_NAME = re.compile(rf"^{PREFIX}(\d+)-(\d+)(-router)?$")


class PartitionUnavailable(RuntimeError):
    """Network namespaces cannot be made here (not root, no iproute2, no kernel support)."""


def check_available(ip: str = "ip") -> str:
    """The path of ``ip``, or a clear ``PartitionUnavailable`` saying what is missing."""
    if os.geteuid() != 0:
        raise PartitionUnavailable(
            "the partition tests need root to create network namespaces "
            f"(running as uid {os.geteuid()})"
        )
    path = shutil.which(ip)
    if path is None:
        raise PartitionUnavailable(
            f"the partition tests need iproute2's {ip!r} command, which is not installed "
            "(scripts/netns installs it)"
        )
    return path


class Partition:
    """A network namespace whose link to PostgreSQL can be cut and healed.

    Use as a context manager (or ``open()`` / ``close()``). ``close()`` kills every
    process in the namespace, resets the forwarder's connections and deletes both
    namespaces and both veth pairs, also after a failure.
    """

    def __init__(
        self,
        *,
        target: tuple[str, int] = ("127.0.0.1", 5432),
        server_keepalive: Keepalive | None = None,
        ip: str = "ip",
    ) -> None:
        self.target = target
        self.server_keepalive = server_keepalive
        self._ip_name = ip
        self._ip = ip
        self.index = -1
        self.name = ""
        self.router = ""
        self.host_device = ""
        self.host_address = ""
        self.namespace_address = ""
        self._router_addresses = ("", "")
        self._forwarder: Forwarder | None = None
        self._processes: list[subprocess.Popen[bytes] | subprocess.Popen[str]] = []
        self._cut = False
        self._opened = False

    # -- life cycle -----------------------------------------------------------

    def open(self) -> Partition:
        """Create the namespaces, the links and the forwarder."""
        self._ip = check_available(self._ip_name)
        self._claim()
        self._opened = True
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Kill the namespace's processes, stop the forwarder, delete everything made."""
        if not self._opened:
            return
        self._opened = False
        errors: list[BaseException] = []
        for step in (self._kill_all, self._stop_forwarder, self._delete):
            try:
                step()
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]

    def __enter__(self) -> Partition:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- the path to PostgreSQL -----------------------------------------------

    @property
    def forwarder(self) -> Forwarder:
        """The relay to PostgreSQL on the host end (its links, their PostgreSQL ports)."""
        if self._forwarder is None:
            raise RuntimeError("the partition is not open")
        return self._forwarder

    @property
    def address(self) -> tuple[str, int]:
        """Where processes in the namespace reach PostgreSQL: host end IP, forwarder port."""
        return self.forwarder.address

    def url(self, database_url: str) -> str:
        """``database_url`` rewritten to reach PostgreSQL from inside the namespace."""
        url = make_url(database_url)
        if not url.drivername.startswith("postgresql"):
            raise ValueError(f"partitions apply to a networked database, not {url.drivername}")
        if (url.host, url.port or 5432) != self.target:
            raise ValueError(f"{url.host}:{url.port} is not the forwarder's target {self.target}")
        host, port = self.address
        return url.set(host=host, port=port).render_as_string(hide_password=False)

    # -- processes in the namespace -------------------------------------------

    def spawn(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``command`` in the namespace, output (both streams) to ``log``.

        ``ip netns exec`` execs the command, so the Popen's pid is the process's own.
        It starts a session of its own: its process group is its pid.
        """
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(log.open("wb")) if log else subprocess.DEVNULL
            process = subprocess.Popen(
                self._exec(command),
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._processes.append(process)
        return process

    def spawn_interactive(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
    ) -> subprocess.Popen[str]:
        """Like ``spawn``, with stdin and stdout as line-buffered text pipes (stderr to log)."""
        with contextlib.ExitStack() as stack:
            err = stack.enter_context(log.open("wb")) if log else subprocess.DEVNULL
            process = subprocess.Popen(
                self._exec(command),
                env=dict(env) if env is not None else None,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                bufsize=1,
                start_new_session=True,
            )
        self._processes.append(process)
        return process

    def run(
        self, command: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in the namespace to its end; its output is captured."""
        return subprocess.run(
            self._exec(command),
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def pids(self) -> set[int]:
        """Every process now in the namespace (zombies have left it)."""
        wanted = os.stat(NETNS_DIR / self.name)
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ns = os.stat(entry / "ns" / "net")
            except OSError:
                continue
            if (ns.st_dev, ns.st_ino) == (wanted.st_dev, wanted.st_ino):
                found.add(int(entry.name))
        return found

    def contains(self, pid: int) -> bool:
        """True if process ``pid`` runs in the namespace."""
        return pid in self.pids()

    # -- the fault --------------------------------------------------------------

    @property
    def is_cut(self) -> bool:
        return self._cut

    def cut(self) -> None:
        """Discard every packet between the namespace and the host, both ways, silently."""
        for address in (self.host_address, self.namespace_address):
            self._run_ip("-n", self.router, "route", "replace", "blackhole", f"{address}/32")
        self._cut = True
        # What crossed just before the cut is still relayed: let it arrive first.
        self.forwarder.settle()

    def heal(self) -> None:
        """Let packets through again (nothing to do if not cut)."""
        if not self._cut:
            return
        for address in (self.host_address, self.namespace_address):
            self._run_ip("-n", self.router, "route", "del", "blackhole", f"{address}/32")
        self._cut = False

    # -- internals --------------------------------------------------------------

    def _exec(self, command: Sequence[str]) -> list[str]:
        if not self.name:
            raise RuntimeError("the partition is not open")
        return [self._ip, "netns", "exec", self.name, *command]

    def _run_ip(self, *args: str, check: bool = True, stdin: str | None = None) -> str:
        done = subprocess.run(
            [self._ip, *args], input=stdin, capture_output=True, text=True, check=False
        )
        if check and done.returncode != 0:
            raise PartitionUnavailable(
                f"`ip {' '.join(args)}` failed ({done.returncode}): {done.stderr.strip()}"
            )
        return done.stdout

    def _claim(self) -> None:
        """Take a free index under the lock: its namespace name is the claim."""
        with LOCK_FILE.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            names = self._namespaces()
            self._reclaim(names)
            used = {int(m[1]) for name in self._namespaces() if (m := _NAME.match(name))}
            taken = self._host_networks()
            for index in range(SLOTS):
                subnet = ipaddress.IPv4Network((int(BLOCK.network_address) + 8 * index, 29))
                if index in used or any(subnet.overlaps(net) for net in taken):
                    continue
                name = f"{PREFIX}{index}-{os.getpid()}"
                self._run_ip("netns", "add", name)
                break
            else:
                raise PartitionUnavailable(f"no free /29 left in {BLOCK} for a partition")
        self.index = index
        self.name = name
        self.router = f"{name}-router"
        self.host_device = f"{PREFIX}{index}h"
        base = subnet.network_address
        self.host_address = str(base + 1)
        self._router_addresses = (str(base + 2), str(base + 5))
        self.namespace_address = str(base + 6)

    def _build(self) -> None:
        r_host, r_ns = self._router_addresses
        ip = self._run_ip
        ip("netns", "add", self.router)
        ip("link", "add", self.host_device, "type", "veth", "peer", "name", "wire0",
           "netns", self.router)  # fmt: skip
        ip("-n", self.router, "link", "add", "wire1", "type", "veth", "peer", "name", "eth0",
           "netns", self.name)  # fmt: skip
        ip("addr", "add", f"{self.host_address}/30", "dev", self.host_device)
        ip("-n", self.router, "addr", "add", f"{r_host}/30", "dev", "wire0")
        ip("-n", self.router, "addr", "add", f"{r_ns}/30", "dev", "wire1")
        ip("-n", self.name, "addr", "add", f"{self.namespace_address}/30", "dev", "eth0")
        for namespace, device in [
            (None, self.host_device),
            (self.router, "lo"),
            (self.router, "wire0"),
            (self.router, "wire1"),
            (self.name, "lo"),
            (self.name, "eth0"),
        ]:
            where = ("-n", namespace) if namespace else ()
            ip(*where, "link", "set", device, "up")
        # Each end knows the other end's /30 only, through the router: nothing else.
        host_net = ipaddress.IPv4Network(f"{self.host_address}/30", strict=False)
        ns_net = ipaddress.IPv4Network(f"{self.namespace_address}/30", strict=False)
        ip("route", "add", str(ns_net), "via", r_host, "dev", self.host_device)
        ip("-n", self.name, "route", "add", str(host_net), "via", r_ns)
        ip("netns", "exec", self.router, "tee", "/proc/sys/net/ipv4/ip_forward", stdin="1\n")
        self._forwarder = Forwarder(
            (self.host_address, 0),
            self.target,
            device=self.host_device,
            keepalive=self.server_keepalive,
        )

    def _kill_all(self, timeout: float = 30.0) -> None:
        """SIGKILL every process in the namespace (and its children) until none is left."""
        deadline = time.monotonic() + timeout
        while pids := self.pids():
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            for process in self._processes:
                process.poll()  # reap our own children
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes in namespace {self.name} survived SIGKILL: {pids}")
            time.sleep(0.02)  # a killed process leaves the namespace as it exits: no event
        for process in self._processes:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()

    def _stop_forwarder(self) -> None:
        if self._forwarder is not None:
            self._forwarder.close()

    def _delete(self) -> None:
        # Deleting the host end removes both ends at once (a namespace goes away lazily).
        self._run_ip("link", "del", self.host_device, check=False)
        self._run_ip("netns", "del", self.router, check=False)
        self._run_ip("netns", "del", self.name, check=False)
        left = [n for n in (self.name, self.router) if (NETNS_DIR / n).exists()]
        if left:
            raise RuntimeError(f"namespaces left behind: {left}")

    def _namespaces(self) -> list[str]:
        return [line.split()[0] for line in self._run_ip("netns", "list").splitlines() if line]

    def _host_networks(self) -> list[ipaddress.IPv4Network]:
        """Networks the host already routes or owns (not the default route)."""
        routes = json.loads(self._run_ip("-j", "-4", "route", "show", "table", "all") or "[]")
        found = []
        for route in routes:
            dst = route.get("dst", "default")
            if dst != "default":
                found.append(ipaddress.IPv4Network(dst, strict=False))
        return found

    def _reclaim(self, names: list[str]) -> None:
        """Delete the namespaces (and processes) of partitions whose owner died."""
        for name in names:
            match = _NAME.match(name)
            if match is None or _alive(int(match[2])):
                continue
            stale = Partition(ip=self._ip)
            stale.name = name
            if match[3] is None:
                with contextlib.suppress(RuntimeError):
                    stale._kill_all()
                self._run_ip("link", "del", f"{PREFIX}{match[1]}h", check=False)
            self._run_ip("netns", "del", name, check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
