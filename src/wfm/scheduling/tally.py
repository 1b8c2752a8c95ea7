"""People per activity and interval against the requirements, and what a change is worth.

Job optimization judges every move by its effect on coverage: the required
people-intervals it newly meets (or leaves unmet), each weighted by its activity's
priority, so that short-staffed activities of a higher priority are served first.
Over-staffing is worth nothing either way: with shift starts and ends fixed, people
only move between intervals and activities.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from wfm.coverage import Counts
from wfm.scheduling.slots import SlotShift

#: A change to the counts: (activity, interval start) → people added (negative: removed).
Change = dict[tuple[int, datetime], int]

#: Gains smaller than this are rounding noise, not an improvement.
EPSILON = 1e-9


class Tally:
    """The counts of a level, changed in place as job optimization moves things."""

    def __init__(self, requirements: Counts, counts: Counts, priorities: dict[int, int]) -> None:
        self.requirements = requirements
        self.counts: dict[int, dict[datetime, float]] = defaultdict(lambda: defaultdict(float))
        for activity, moments in counts.items():
            self.counts[activity].update(moments)
        self.priorities = priorities

    def value(self, change: Change) -> float:
        """How much the change improves coverage (negative: it makes it worse)."""
        total = 0.0
        for (activity, moment), delta in change.items():
            need = self.requirements.get(activity, {}).get(moment)
            if need is None or delta == 0:
                continue
            got = self.counts[activity][moment]
            weight = self.priorities.get(activity, 1)
            total += weight * (min(need, got + delta) - min(need, got))
        return total

    def apply(self, change: Change) -> None:
        for (activity, moment), delta in change.items():
            self.counts[activity][moment] += delta


def change_of(shift: SlotShift, assignment: Iterable[tuple[int, int | None]]) -> Change:
    """The change to the counts if slots of ``shift`` took new activities."""
    change: Change = defaultdict(int)
    for index, activity in assignment:
        old = shift.slots[index]
        if old == activity:
            continue
        moment = shift.moment(index)
        if old is not None:
            change[(old, moment)] -= 1
        if activity is not None:
            change[(activity, moment)] += 1
    return change
