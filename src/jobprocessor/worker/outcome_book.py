"""The outcomes of finished jobs on their way to the database, and which slots are free.

A slot's job ends; its outcome waits here for a claim lane's next round, which
writes it together with the claim of new jobs (one transaction). Until that round
has committed, the slot takes no new job: a slot never runs a job before its
previous job's outcome is durable. Several claim lanes may run rounds at once; a
lane reserves the slots it claims for, so that no two lanes fill one slot.

No database here, only bookkeeping under one lock: the supervisor's threads (slot
threads reporting, claim lanes taking) share it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from jobprocessor.model import Job
from jobprocessor.store.jobs import Outcome

Reported = tuple[Job, Outcome]


class OutcomeBook:
    """Outcomes not yet written, the slots they hold back, and the slots being claimed for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: Outcomes waiting for a round, oldest first.
        self._waiting: list[Reported] = []
        #: Job id -> slot index, for every outcome not yet written (waiting, or in a
        #: round): that slot gets no new job before the round that writes it.
        self._unsettled: dict[int, int] = {}
        #: Slots a lane is claiming for: no other lane may claim for them too.
        self._reserved: set[int] = set()

    def report(self, slot: int, job: Job, outcome: Outcome) -> None:
        """A slot's job ended: its outcome waits for the next round."""
        with self._lock:
            self._waiting.append((job, outcome))
            self._unsettled[job.id] = slot

    def has_waiting(self) -> bool:
        with self._lock:
            return bool(self._waiting)

    def waiting_ids(self) -> set[int]:
        """The jobs whose outcomes wait for a round."""
        with self._lock:
            return {job.id for job, _ in self._waiting}

    def take(self) -> list[Reported]:
        """Every waiting outcome, for a round that only writes (draining, stopping)."""
        with self._lock:
            taken, self._waiting = self._waiting, []
        return taken

    def begin_round(
        self, idle: Iterable[int], *, claim: bool, outcomes_only: bool, at_most: int
    ) -> tuple[list[Reported], list[int]]:
        """Take the waiting outcomes and reserve free slots to claim for.

        ``idle`` are the slots without a job. A slot is free to claim for if it is
        idle, no other lane reserved it, and no outcome of its last job is still on
        its way elsewhere (an outcome taken by this round is on its way here: its
        slot is free, since this round writes it before anything is claimed).
        ``outcomes_only`` claims only alongside outcomes (lanes other than the
        first, so that an idle queue is asked once per poll, not once per lane).
        """
        with self._lock:
            outcomes, self._waiting = self._waiting, []
            if not claim or (outcomes_only and not outcomes):
                return outcomes, []
            taken = {job.id for job, _ in outcomes}
            elsewhere = {slot for job_id, slot in self._unsettled.items() if job_id not in taken}
            free = [slot for slot in idle if slot not in self._reserved and slot not in elsewhere][
                :at_most
            ]
            self._reserved.update(free)
        return outcomes, free

    def end_round(self, outcomes: Sequence[Reported], free: Sequence[int]) -> bool:
        """Release the round's slots; its outcomes are settled, unless ``put_back``
        returned them for another try. True if any was settled."""
        with self._lock:
            self._reserved.difference_update(free)
            retrying = {job.id for job, _ in self._waiting}
            settled = [job.id for job, _ in outcomes if job.id not in retrying]
            for job_id in settled:
                self._unsettled.pop(job_id, None)
        return bool(settled)

    def put_back(self, outcomes: Sequence[Reported]) -> None:
        """Outcomes a round could not write (the database failed): first in line again."""
        with self._lock:
            self._waiting[:0] = outcomes
