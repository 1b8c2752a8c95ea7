"""The messages between a worker and its job processes, typed.

Both ends read fields by name (``message.job_id``), never by position. On the pipe a
message travels as a plain tuple, its kind's number first: pickling a named tuple
or a dataclass writes its class's module and name into every message and costs
several times as much, and the dispatch path carries two of them per job (figures:
``bench/engine_changes.md``, change 22).

The worker sends ``Run`` and ``Exit`` on the job pipe and ``Cancel`` on the control
pipe; the job process answers ``Ready`` (or ``Broken``) once, then for each job any
number of ``ProgressUpdate``, ``LogEntry`` and ``Artifact`` and one of
``Succeeded``, ``Canceled`` or ``Failed``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, NamedTuple


class Run(NamedTuple):
    """Run this job (worker -> job process)."""

    job_id: int
    type: str
    params: dict[str, Any]
    submitted_by: str


class Exit(NamedTuple):
    """Leave: the worker stops (worker -> job process)."""


class Cancel(NamedTuple):
    """Stop this job (worker -> job process; ignored for another job)."""

    job_id: int


class Ready(NamedTuple):
    """The job process imported the apps and waits for jobs."""


class Broken(NamedTuple):
    """The job process cannot run jobs (an app failed to import)."""

    reason: str


class ProgressUpdate(NamedTuple):
    """How far the job is."""

    done: float
    total: float | None
    message: str | None


class LogEntry(NamedTuple):
    """A line of the job's log (INFO and above), for its report."""

    at: float  # seconds since the epoch, as ``time.time()``
    level: str
    message: str


class Artifact(NamedTuple):
    """A file for the job's report."""

    name: str
    media_type: str
    data: bytes


class Succeeded(NamedTuple):
    """The job returned; its JSON-serialisable result."""

    result: Any


class Canceled(NamedTuple):
    """The job stopped on a cancel (it raised ``JobCanceled``)."""

    reason: str


class Failed(NamedTuple):
    """The job raised."""

    error_type: str
    message: str
    traceback: str


ToJob = Run | Exit | Cancel
FromJob = Ready | Broken | ProgressUpdate | LogEntry | Artifact | Succeeded | Canceled | Failed
Message = ToJob | FromJob
#: How a job ended.
Done = Succeeded | Canceled | Failed

_KINDS: tuple[type[Any], ...] = (
    Run,
    Exit,
    Cancel,
    Ready,
    Broken,
    ProgressUpdate,
    LogEntry,
    Artifact,
    Succeeded,
    Canceled,
    Failed,
)
_NUMBER = {kind: number for number, kind in enumerate(_KINDS)}


def encode(message: Message) -> bytes:
    """The message as bytes for a pipe."""
    return pickle.dumps((_NUMBER[type(message)], *message), pickle.HIGHEST_PROTOCOL)


def decode(data: bytes) -> Message:
    """The message that ``encode`` wrote."""
    number, *fields = pickle.loads(data)  # noqa: S301 - our own processes' pipe
    message: Message = _KINDS[number]._make(fields)
    return message


def send(connection: Connection, message: Message) -> None:
    """Send a message (``Connection.send`` would build a ``ForkingPickler`` for each,
    copying its table of reducers: with the pickling, a fifth of a slot's time per job)."""
    connection.send_bytes(encode(message))


def receive(connection: Connection) -> Message:
    """The next message on the pipe (raises EOFError once the other end is closed)."""
    return decode(connection.recv_bytes())


class MessageReporter:
    """A job's ``Reporter`` that turns each report into a message for ``send``:
    the job process's pipe, or a list's ``append`` in tests (``Recorder``)."""

    def __init__(self, send: Callable[[FromJob], None]) -> None:
        self._send = send

    def progress(self, done: float, total: float | None, message: str | None) -> None:
        self._send(ProgressUpdate(done, total, message))

    def log(self, at: float, level: str, message: str) -> None:
        self._send(LogEntry(at, level, message))

    def artifact(self, name: str, media_type: str, data: bytes) -> None:
        self._send(Artifact(name, media_type, data))


class Recorder(MessageReporter):
    """Keeps what a job reported, as messages in ``sent``: for running a job
    function in a test, ``JobContext(job_id, params, user, Recorder())``."""

    def __init__(self) -> None:
        self.sent: list[FromJob] = []
        super().__init__(self.sent.append)
