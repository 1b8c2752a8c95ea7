"""The two moves of job optimization, each applied only where it improves coverage.

*Breaks* move within their corridors, onto time of the shift's base activity,
which fills the time the break leaves: shift by shift, each break goes to the
position worth most (staying put unless another is strictly better), sweep after
sweep until no break moves. Other activities of the shift (a training, say) are
never covered by a break.

*Replaceable activities* (back office) give way, in blocks of ``block`` minutes on
the clock's grid, to a plannable activity with requirements that the employee may
do. The block worth most anywhere goes first (a lazy greedy: a block's worth only
falls as others are placed, so a worth re-checked against the next best is
exact), until no block improves coverage.

Both are deterministic: ties go to the earlier position, employee and day.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from wfm.calendar import INTERVAL
from wfm.scheduling.slots import MovableBreak, SlotShift, runs
from wfm.scheduling.tally import EPSILON, Tally, change_of

#: At most this many sweeps over the breaks (each sweep that moves one improves coverage).
MAX_SWEEPS = 20

#: Called with (shifts done, shifts in all) now and then; raises to stop.
Tick = Callable[[int, int], None]


def move_breaks(shifts: Sequence[SlotShift], tally: Tally, tick: Tick) -> int:
    """Move breaks to better places within their corridors; returns the moves made."""
    moves = 0
    for _ in range(MAX_SWEEPS):
        moved = False
        for done, shift in enumerate(shifts):
            tick(done, len(shifts))
            for brk in shift.breaks:
                if _improve_break(shift, brk, tally):
                    moves += 1
                    moved = True
        if not moved:
            break
    return moves


def _improve_break(shift: SlotShift, brk: MovableBreak, tally: Tally) -> bool:
    best_value, best = EPSILON, None
    for position in brk.positions():
        if position == brk.position:
            continue
        assignment = _break_at(shift, brk, position)
        if assignment is None:
            continue
        value = tally.value(change_of(shift, assignment))
        if value > best_value:
            best_value, best = value, (position, assignment)
    if best is None:
        return False
    position, assignment = best
    tally.apply(change_of(shift, assignment))
    for index, activity in assignment:
        shift.slots[index] = activity
    brk.position = position
    return True


def _break_at(
    shift: SlotShift, brk: MovableBreak, position: int
) -> list[tuple[int, int | None]] | None:
    """The slots that change if the break starts at ``position``, or None if it may not."""
    base = shift.base_activity_id
    old, new = brk.covers(brk.position), brk.covers(position)
    if base is None or new.stop > len(shift.slots):
        return None
    if any(shift.slots[i] != base for i in new if i not in old):
        return None
    freed = [(i, base) for i in old if i not in new]
    taken: list[tuple[int, int | None]] = [(i, brk.activity_id) for i in new if i not in old]
    return freed + taken


@dataclass(frozen=True, slots=True)
class Replacement:
    """What replacing did: minutes per (replaced activity, new activity)."""

    minutes: Counter[tuple[int, int]]


def replace_activities(
    shifts: Sequence[SlotShift],
    tally: Tally,
    targets: Callable[[SlotShift], Sequence[int]],
    replaceable: set[int],
    block: int,
    tick: Tick,
) -> Replacement:
    """Turn blocks of replaceable activities into the activity with requirements that
    gains most, while any block gains; ``targets`` names what each shift's employee may do."""
    size = block // INTERVAL
    #: (-worth, block start, employee, shift number, first slot, replaced activity)
    heap: list[tuple[float, datetime, int, int, int, int]] = []
    choices = [targets(shift) for shift in shifts]
    for number, shift in enumerate(shifts):
        tick(number, 2 * len(shifts))
        for begin, finish, activity in runs(shift.slots):
            if activity not in replaceable or not choices[number]:
                continue
            for first in range(begin, finish - size + 1):
                minute = shift.moment(first).hour * 60 + shift.moment(first).minute
                if minute % block:
                    continue
                value, _ = _best_target(shift, first, size, activity, choices[number], tally)
                if value > EPSILON:
                    heapq.heappush(
                        heap,
                        (-value, shift.moment(first), shift.employee_id, number, first, activity),
                    )
    done = Replacement(Counter())
    placed = 0
    while heap:
        _, moment, employee_id, number, first, activity = heapq.heappop(heap)
        shift = shifts[number]
        if any(shift.slots[i] != activity for i in range(first, first + size)):
            continue  # an overlapping block took some of it
        value, target = _best_target(shift, first, size, activity, choices[number], tally)
        if value <= EPSILON:
            continue
        if heap and value < -heap[0][0] - EPSILON:
            heapq.heappush(heap, (-value, moment, employee_id, number, first, activity))
            continue
        assignment = [(i, target) for i in range(first, first + size)]
        tally.apply(change_of(shift, assignment))
        for index, _activity in assignment:
            shift.slots[index] = target
        done.minutes[(activity, target)] += block
        placed += 1
        if placed % 50 == 0:
            tick(len(shifts) + min(placed, len(shifts) - 1), 2 * len(shifts))
    return done


def _best_target(
    shift: SlotShift, first: int, size: int, activity: int, targets: Sequence[int], tally: Tally
) -> tuple[float, int]:
    best_value, best = 0.0, activity
    for target in targets:
        value = tally.value(change_of(shift, [(i, target) for i in range(first, first + size)]))
        if value > best_value + EPSILON:
            best_value, best = value, target
    return best_value, best
