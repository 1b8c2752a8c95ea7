"""A probe: a process that holds PostgreSQL connections from inside a namespace.

Run as ``python partition_probe.py DSN`` (in the namespace); ``Probe`` drives it from
the test. It reads one JSON request a line and answers each with one JSON line
carrying the request's ``tag``. Queries run in threads, so a query that stalls in a
partition does not hold up the others, and its answer arrives when it ends.

Requests: ``connect`` (``name`` keeps the connection, without it the connection is
only tried and closed; ``connect_timeout`` is psycopg's ``connect_timeout``, ``options``
more libpq parameters such as ``tcp_user_timeout``), ``query``
(``name``, ``sql``), ``close`` (``name``). Answers: ``ok``, ``error``, ``rows``,
``seconds``.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from typing import Any


class Probe:
    """The test's side of a probe process (started with ``Partition.spawn_interactive``)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.process = process
        self._answers: dict[str, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._count = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def send(self, op: str, **fields: Any) -> str:
        """Send a request; returns its tag, to await the answer with ``answer``."""
        with self._lock:
            self._count += 1
            tag = f"{op}-{self._count}"
            self._answers[tag] = queue.Queue(maxsize=1)
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, "tag": tag, **fields}) + "\n")
        self.process.stdin.flush()
        return tag

    def answer(self, tag: str, timeout: float = 60.0) -> dict[str, Any]:
        """The answer to request ``tag``: fails if none came within ``timeout``."""
        try:
            return self._answers[tag].get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the probe did not answer {tag} within {timeout} s") from None

    def silent(self, tag: str, seconds: float) -> bool:
        """True if request ``tag`` is still unanswered after ``seconds`` (it stalls)."""
        answers = self._answers[tag]
        try:
            answer = answers.get(timeout=seconds)
        except queue.Empty:
            return True
        answers.put(answer)
        return False

    def call(self, op: str, timeout: float = 60.0, **fields: Any) -> dict[str, Any]:
        """Send a request and wait for its answer."""
        return self.answer(self.send(op, **fields), timeout)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            answer = json.loads(line)
            self._answers[answer["tag"]].put(answer)


# -- the probe process ----------------------------------------------------------


def _serve(dsn: str) -> None:
    import psycopg

    connections: dict[str, psycopg.Connection[Any]] = {}
    out = threading.Lock()

    def answer(tag: str, began: float, **fields: Any) -> None:
        line = json.dumps({"tag": tag, "seconds": round(time.monotonic() - began, 3), **fields})
        with out:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def connect(tag: str, name: str | None, timeout: int, options: dict[str, Any]) -> None:
        began = time.monotonic()
        try:
            connection = psycopg.connect(dsn, connect_timeout=timeout, autocommit=True, **options)
        except psycopg.Error as error:
            answer(tag, began, ok=False, error=str(error))
            return
        if name is None:
            connection.close()
        else:
            connections[name] = connection
        answer(tag, began, ok=True, error=None)

    def query(tag: str, name: str, sql: str) -> None:
        began = time.monotonic()
        try:
            rows = connections[name].execute(sql).fetchall()
        except psycopg.Error as error:
            answer(tag, began, ok=False, error=str(error))
            return
        answer(tag, began, ok=True, error=None, rows=[list(row) for row in rows])

    for line in sys.stdin:
        request = json.loads(line)
        tag, op = request["tag"], request["op"]
        if op == "connect":
            args: tuple[Any, ...] = (
                tag,
                request.get("name"),
                request.get("connect_timeout", 10),
                request.get("options", {}),
            )
            threading.Thread(target=connect, args=args, daemon=True).start()
        elif op == "query":
            args = (tag, request["name"], request["sql"])
            threading.Thread(target=query, args=args, daemon=True).start()
        elif op == "close":
            connections.pop(request["name"]).close()
            answer(tag, time.monotonic(), ok=True, error=None)
        else:
            answer(tag, time.monotonic(), ok=False, error=f"unknown op {op!r}")


if __name__ == "__main__":
    _serve(sys.argv[1])
