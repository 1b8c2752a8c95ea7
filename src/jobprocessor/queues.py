"""Queues, priorities and limits: their rules, and which queues a worker serves.

Pure rules, no I/O (docs/reference/scheduling.md). A job waits in a queue (its
type's, by default the type's category, or the one given at submission); a worker
serves queues with optional caps on the slots each may take in it
(``--queues scheduling=2,report=4,*``); a priority from -100 to 100 orders the
jobs, higher first; a limit allows at most N held jobs per key across all workers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jobprocessor.errors import InvalidInput

QUEUE_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
PRIORITY_MIN, PRIORITY_MAX = -100, 100
#: The most places a limit may have (a larger one is no limit worth keeping).
MAX_LIMIT = 1000
#: Stands for every queue not named in a worker's ``--queues``.
OTHERS = "*"


def check_queue_name(name: object, *, field_name: str = "queue") -> str:
    """A queue name: 1 to 100 letters, digits, '.', '_' or '-'."""
    if not isinstance(name, str) or not QUEUE_NAME.fullmatch(name):
        raise InvalidInput(
            f"{field_name}: a queue name is 1 to 100 letters, digits, '.', '_' or '-' "
            f"(got {name!r})",
            fields={field_name: "invalid queue name"},
        )
    return name


def check_priority(value: object, *, field_name: str = "priority") -> int:
    """A priority: an integer from -100 to 100, higher runs sooner."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{field_name}: a priority is an integer from {PRIORITY_MIN} to {PRIORITY_MAX}",
            fields={field_name: "not an integer"},
        )
    if not PRIORITY_MIN <= value <= PRIORITY_MAX:
        raise InvalidInput(
            f"{field_name}: {value} is outside {PRIORITY_MIN}..{PRIORITY_MAX}",
            fields={field_name: "out of range"},
        )
    return value


def check_timeout(value: object, *, field_name: str = "timeout") -> float:
    """A time limit in seconds, more than 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidInput(
            f"{field_name}: a timeout is a number of seconds greater than 0",
            fields={field_name: "not a positive number"},
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """The queues a worker serves, each with an optional cap on its slots in it.

    ``caps`` maps each named queue to its cap (None: uncapped); ``others`` is the cap
    of every other queue together when ``*`` is given (None: uncapped), and
    ``serves_others`` says whether it is. The default serves every queue uncapped.
    """

    caps: Mapping[str, int | None] = field(default_factory=dict)
    serves_others: bool = True
    others: int | None = None

    @classmethod
    def parse(cls, spec: str | None) -> QueueSpec:
        """``scheduling=2,report=4,*`` (a name alone is uncapped; ``*`` every other
        queue, ``*=N`` with a cap). Empty or None: every queue, no caps."""
        if spec is None or not spec.strip():
            return cls()
        caps: dict[str, int | None] = {}
        serves_others, others = False, None
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            name, _, cap_text = part.partition("=")
            name = name.strip()
            cap = _cap(cap_text.strip(), part) if cap_text else None
            if name == OTHERS:
                serves_others, others = True, cap
                continue
            check_queue_name(name, field_name="queues")
            if name in caps:
                raise InvalidInput(f"queues: {name!r} is named twice", fields={"queues": "twice"})
            caps[name] = cap
        if not caps and not serves_others:
            raise InvalidInput("queues: name at least one queue", fields={"queues": "empty"})
        return cls(caps, serves_others, others)

    @classmethod
    def recorded(cls, text: str | None) -> QueueSpec:
        """A worker's ``--queues`` as its row records it; one that cannot be read
        (written by another version, say) counts as every queue."""
        try:
            return cls.parse(text)
        except InvalidInput:
            return cls()

    def serves(self, queue: str) -> bool:
        return queue in self.caps or self.serves_others

    def allowances(
        self, running: Mapping[str, int], free: int
    ) -> tuple[dict[str, int], int | None]:
        """How many more jobs each named queue may take now, and the other queues
        together (None: not served), given this worker's running jobs per queue and
        its free slots."""
        named = {
            name: max(0, min(free, free if cap is None else cap - running.get(name, 0)))
            for name, cap in self.caps.items()
        }
        if not self.serves_others:
            return named, None
        if self.others is None:
            return named, free
        others_running = sum(n for q, n in running.items() if q not in self.caps)
        return named, max(0, min(free, self.others - others_running))

    def __str__(self) -> str:
        parts = [name if cap is None else f"{name}={cap}" for name, cap in self.caps.items()]
        if self.serves_others:
            parts.append(OTHERS if self.others is None else f"{OTHERS}={self.others}")
        return ",".join(parts)


def _cap(text: str, part: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise InvalidInput(
            f"queues: {part!r}: a cap is a whole number of slots, at least 1",
            fields={"queues": "invalid cap"},
        )
    return int(text)


@dataclass(frozen=True, slots=True)
class ServingWorker:
    """A live worker as the waiting reasons see it: its slots, what it serves, and the
    jobs it runs, by queue."""

    slots: int
    queues: QueueSpec
    running: Mapping[str, int]

    def has_slot(self) -> bool:
        return sum(self.running.values()) < self.slots

    def has_room_in(self, queue: str) -> bool:
        """Whether its cap for ``queue`` leaves room (slots aside)."""
        named, others = self.queues.allowances(self.running, self.slots)
        room = named.get(queue, others)
        return room is not None and room > 0


def waiting_reason(
    *,
    queue: str,
    run_at: datetime | None,
    limit_key: str | None,
    limit: int | None,
    held_of_limit: int,
    workers: Sequence[ServingWorker],
    now: datetime,
) -> str:
    """Why a queued job has not started yet, in a few words (docs/reference/scheduling.md)."""
    if run_at is not None and run_at > now:
        return f"scheduled for {run_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    if limit_key is not None and limit is not None and held_of_limit >= limit:
        name = limit_key.removeprefix("type:")
        if limit == 1:
            return f"lock {name} held by another job"
        return f"limit {limit} of {name} reached"
    if not workers:
        return "no worker is running"
    serving = [w for w in workers if w.queues.serves(queue)]
    if not serving:
        return "no worker serves this queue"
    if not any(w.has_slot() for w in serving):
        return "all slots busy"
    if not any(w.has_slot() and w.has_room_in(queue) for w in serving):
        return f"queue {queue} is at its cap on every worker that serves it"
    return "waiting for a worker to claim it"
