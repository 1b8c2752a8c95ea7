"""A TCP forwarder: how a process in a network namespace reaches PostgreSQL.

PostgreSQL listens on the host's loopback only, which a namespace cannot reach. The
partition harness (``partition.py``) runs a ``Forwarder`` in the test process on the
host end of the namespace's link; it relays each connection it accepts to PostgreSQL.

The forwarder never cuts anything: a partition is made in the network. It passes on
what happens to a connection as faithfully as a relay can: data, end of stream as a
half-close, and a reset or a dead peer as a reset of the other side.

What a relay cannot pass on is PostgreSQL's own view of the client's socket: the
server's TCP keepalives and ``tcp_user_timeout`` act on its socket, which faces the
forwarder on loopback and so never sees a partition. ``Keepalive`` stands in for them
on the namespace side: when that side is found dead, the forwarder resets its
connection to PostgreSQL, which then ends the session as it would for a dead client.
"""

from __future__ import annotations

import contextlib
import fcntl
import select
import socket
import struct
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_CHUNK = 65536
#: How often a send blocked on a full buffer checks whether its link was aborted.
_POLL_MS = 200


@dataclass(frozen=True)
class Keepalive:
    """TCP keepalive and user timeout on the namespace side of each relayed connection.

    They play the part of PostgreSQL's ``tcp_keepalives_idle``, ``_interval``, ``_count``
    and ``tcp_user_timeout`` (seconds here): an idle connection whose peer is cut off is
    found dead after about ``idle + interval * count``, one with unacknowledged data after
    ``user_timeout`` (by default the same).
    """

    idle: int
    interval: int
    count: int
    user_timeout: float | None = None

    def apply(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, self.idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, self.interval)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, self.count)
        timeout = self.user_timeout
        if timeout is None:
            timeout = self.idle + self.interval * self.count
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(timeout * 1000))


@dataclass(eq=False)
class Link:
    """One relayed connection: the client's end (in the namespace) and PostgreSQL's."""

    client: tuple[str, int]
    downstream: socket.socket
    upstream: socket.socket | None = None
    #: Why the link failed (a reset, a dead peer): the other side is then reset too.
    failed: OSError | None = None
    #: Set on a failure or by ``Forwarder.close()``: both sides are reset, nothing passed on.
    aborted: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: int = 1
    _closed: bool = False
    #: Chunks read from one side and not yet written to the other.
    _in_hand: int = 0

    @property
    def upstream_port(self) -> int | None:
        """The local port of the connection to PostgreSQL: ``pg_stat_activity.client_port``."""
        with self._lock:
            if self.upstream is None or self._closed:
                return None
            port: int = self.upstream.getsockname()[1]
            return port

    def abort(self, error: OSError | None = None) -> None:
        """Reset both sides: wake the pumps (sending nothing) and close by RST."""
        with self._lock:
            if self.aborted or self._closed:
                return
            self.aborted = True
            self.failed = error
            self._wake(self.downstream, self.upstream)

    def _wake(self, *sockets: socket.socket | None) -> None:
        for sock in sockets:
            if sock is not None:
                _linger_zero(sock)
                # Wakes a pump blocked in recv() and sends nothing (SHUT_WR would send a
                # FIN); a pump blocked in send() sees ``aborted`` at its next poll.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RD)

    def settled(self) -> bool:
        """Whether nothing the client sent is still on its way to PostgreSQL."""
        with self._lock:
            if self._closed or self.aborted:
                return True
            if self._in_hand:
                return False
            try:
                unread = fcntl.ioctl(self.downstream, termios.FIONREAD, b"\0\0\0\0")
            except OSError:
                return True
            return struct.unpack("i", unread)[0] == 0

    def _carry(self, chunks: int) -> None:
        with self._lock:
            self._in_hand += chunks

    def _pump_done(self) -> None:
        """The last pump out closes both sockets (by RST when aborted)."""
        with self._lock:
            self._running -= 1
            if self._running > 0 or self._closed:
                return
            self._closed = True
            for sock in (self.downstream, self.upstream):
                if sock is not None:
                    sock.close()


class Forwarder:
    """Relays every TCP connection accepted on ``listen`` to ``target``.

    ``device`` binds the listening socket (and so every accepted one) to a network
    device: once that device is gone, their packets have no route at all instead of
    taking the host's default route. ``close()`` resets every connection and stops
    all threads.
    """

    def __init__(
        self,
        listen: tuple[str, int],
        target: tuple[str, int],
        *,
        device: str | None = None,
        keepalive: Keepalive | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.target = target
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if device is not None:
                self._listener.setsockopt(
                    socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode()
                )
            self._listener.bind(listen)
            self._listener.listen(128)
        except OSError:
            self._listener.close()
            raise
        self.address: tuple[str, int] = self._listener.getsockname()
        self._links: set[Link] = set()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._closing = False
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"forwarder-{self.address[1]}", daemon=True
        )
        self._acceptor.start()

    def links(self) -> list[Link]:
        """The connections being relayed now."""
        with self._lock:
            return [link for link in self._links if not link._closed]

    def upstream_ports(self) -> set[int]:
        """Local ports of the live connections to PostgreSQL (``pg_stat_activity.client_port``)."""
        return {port for link in self.links() if (port := link.upstream_port) is not None}

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every byte a client had sent is written to PostgreSQL.

        A partition cut in the network drops packets from then on, but what already
        reached the forwarder's sockets would still be relayed, late if its threads are
        slow to run: a cut is only clean once that has gone through.
        """
        deadline = time.monotonic() + timeout
        while not all(link.settled() for link in self.links()):
            if time.monotonic() > deadline:
                raise TimeoutError("the forwarder still relays data sent before the cut")
            time.sleep(0.001)

    @property
    def closed(self) -> bool:
        return self._closing and not self._acceptor.is_alive()

    def close(self, timeout: float = 10.0) -> None:
        """Stop accepting, reset every relayed connection and wait for every thread."""
        with self._lock:
            self._closing = True
            links = list(self._links)
        with contextlib.suppress(OSError):
            # On Linux this wakes the accept() blocked in the acceptor thread.
            self._listener.shutdown(socket.SHUT_RDWR)
        for link in links:
            link.abort()
        deadline = time.monotonic() + timeout
        self._acceptor.join(timeout)
        # A link being opened as we close may start one more pump: join until none is left.
        while True:
            with self._lock:
                threads = [t for t in self._threads if t.is_alive()]
            if not threads or time.monotonic() > deadline:
                break
            threads[0].join(max(0.0, deadline - time.monotonic()))
        self._listener.close()
        alive = [t.name for t in [self._acceptor, *threads] if t.is_alive()]
        if alive:
            raise RuntimeError(f"forwarder threads did not stop: {alive}")

    def __enter__(self) -> Forwarder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- threads ------------------------------------------------------------

    def _start(self, name: str, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=self._run, args=(target, *args), name=name, daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _run(self, target: Callable[..., None], *args: object) -> None:
        try:
            target(*args)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, client = self._listener.accept()
            except OSError:
                return
            link = Link(client=client, downstream=sock)
            with self._lock:
                if self._closing:
                    _linger_zero(sock)
                    sock.close()
                    return
                self._links.add(link)
            self._start(f"forwarder-link-{client[1]}", self._serve, link)

    def _serve(self, link: Link) -> None:
        """Connect to the target, then pump both ways (one direction in a second thread)."""
        down = link.downstream
        try:
            down.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # As PostgreSQL does on its client sockets.
            down.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if self.keepalive is not None:
                self.keepalive.apply(down)
            up = socket.create_connection(self.target, timeout=self.connect_timeout)
        except OSError as error:
            # The target refused or is down: the client sees its connection reset.
            link.abort(error)
            self._finish(link)
            return
        up.settimeout(None)
        up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with link._lock:
            link.upstream = up
            link._running += 1
            if link.aborted:
                # close() ran while we connected, before this socket was there to reset.
                link._wake(up)
        self._start(f"forwarder-up-{link.client[1]}", self._pump, link, up, down)
        self._pump(link, down, up)

    def _pump(self, link: Link, source: socket.socket, sink: socket.socket) -> None:
        try:
            readable = select.poll()
            readable.register(source, select.POLLIN)
            # Only what the client sends counts for ``settled()``: an answer on its way
            # to a cut-off client may wait in ``_send`` as long as the cut lasts.
            carried = 1 if source is link.downstream else 0
            while not link.aborted:
                readable.poll()
                # Counted as in hand before it leaves the socket, so that ``settled()``
                # always sees it in one place or the other.
                link._carry(carried)
                try:
                    try:
                        data = source.recv(_CHUNK, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        continue
                    if not data:
                        if not link.aborted:
                            # End of stream: pass it on as a half-close, as TCP does.
                            sink.shutdown(socket.SHUT_WR)
                        return
                    _send(link, sink, data)
                finally:
                    link._carry(-carried)
        except OSError as error:
            # A reset or a dead peer on one side resets the other.
            link.abort(error)
        finally:
            self._finish(link)

    def _finish(self, link: Link) -> None:
        link._pump_done()
        if link._closed:
            with self._lock:
                self._links.discard(link)


def _send(link: Link, sink: socket.socket, data: bytes) -> None:
    """``sendall`` that gives up once the link is aborted, even if the peer reads nothing.

    The socket stays blocking for the other pump's ``recv``: each send is non-blocking
    on its own (``MSG_DONTWAIT``) and a full buffer is waited out in short polls.
    """
    view = memoryview(data)
    poller = select.poll()
    poller.register(sink, select.POLLOUT)
    while view and not link.aborted:
        try:
            sent = sink.send(view, socket.MSG_DONTWAIT)
        except BlockingIOError:
            poller.poll(_POLL_MS)
            continue
        view = view[sent:]


def _linger_zero(sock: socket.socket) -> None:
    """Make ``close()`` send a reset and free the socket at once (no FIN, no TIME_WAIT)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
