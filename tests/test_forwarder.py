"""The partition harness's TCP forwarder (tests/forwarder.py), on loopback: it relays
data both ways, passes on end of stream as a half-close and a reset as a reset, and
``close()`` resets what it relays and stops every thread.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from forwarder import Forwarder
from waiting import wait_until

Handler = Callable[[socket.socket], None]


class Server:
    """A loopback TCP server that runs ``handler`` on each connection in a thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address: tuple[str, int] = self.listener.getsockname()
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    def _handle(self, sock: socket.socket) -> None:
        with sock, contextlib.suppress(ConnectionError):  # the forwarder reset it
            self.handler(sock)

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(10)


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], Forwarder]]:
    """A forwarder on loopback in front of a server running the given handler."""
    opened: list[tuple[Server, Forwarder]] = []

    def start(handler: Handler) -> Forwarder:
        server = Server(handler)
        forwarder = Forwarder(("127.0.0.1", 0), server.address)
        opened.append((server, forwarder))
        return forwarder

    yield start
    for server, forwarder in opened:
        forwarder.close()
        server.close()


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def upper_after_eof(sock: socket.socket) -> None:
    """Reads to end of stream, then answers in capitals and closes."""
    sock.sendall(read_all(sock).upper())


def test_data_and_half_close_pass_both_ways(serve: Callable[[Handler], Forwarder]) -> None:
    forwarder = serve(upper_after_eof)
    payload = b"partition " * 100_000
    with socket.create_connection(forwarder.address, timeout=30) as client:
        client.sendall(payload)
        client.shutdown(socket.SHUT_WR)  # the server answers only after end of stream
        assert read_all(client) == payload.upper()


def test_many_connections_at_once(serve: Callable[[Handler], Forwarder]) -> None:
    forwarder = serve(upper_after_eof)

    def exchange(i: int) -> bytes:
        with socket.create_connection(forwarder.address, timeout=30) as client:
            client.sendall(f"client {i}".encode())
            client.shutdown(socket.SHUT_WR)
            return read_all(client)

    results: dict[int, bytes] = {}
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, exchange(i))) for i in range(40)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {i: f"CLIENT {i}".encode() for i in range(40)}
    wait_until(lambda: forwarder.links() == [], what="every link to end")


def test_a_reset_by_the_server_resets_the_client(serve: Callable[[Handler], Forwarder]) -> None:
    def reset(sock: socket.socket) -> None:
        sock.recv(10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    forwarder = serve(reset)
    with socket.create_connection(forwarder.address, timeout=30) as client:
        client.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            read_all(client)


def test_a_refused_target_resets_the_client() -> None:
    """The reset may come while the client still connects, or at its first read."""
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        nowhere = placeholder.getsockname()
    with (
        Forwarder(("127.0.0.1", 0), nowhere) as forwarder,
        pytest.raises(ConnectionResetError),
        socket.create_connection(forwarder.address, timeout=30) as client,
    ):
        read_all(client)


def test_close_resets_live_connections_and_stops_every_thread(
    serve: Callable[[Handler], Forwarder],
) -> None:
    forwarder = serve(upper_after_eof)
    before = threading.active_count()
    client = socket.create_connection(forwarder.address, timeout=30)
    with client:
        client.sendall(b"waiting for an end of stream that never comes")
        wait_until(lambda: forwarder.upstream_ports(), what="the link to open")
        assert len(forwarder.links()) == 1
        forwarder.close()
        assert forwarder.closed
        assert forwarder.links() == []
        with pytest.raises(ConnectionResetError):
            read_all(client)
    wait_until(lambda: threading.active_count() <= before, what="the forwarder's threads to end")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(forwarder.address, timeout=30).close()
