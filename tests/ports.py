"""A free TCP port on the loopback, for servers a test starts (a console, a database)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port free now: the server binds it later, so another process may take it in
    between (callers that care start again on "address already in use")."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
