"""Solving a benchmark instance: a first roster employee by employee, CP-SAT on the
whole model (small models) or column generation (large ones), then large
neighbourhood search over groups of employees.

No hard rule links two employees; they meet only in the cover, a soft term. So an
employee's best roster given everybody else's is a tiny model (one employee's
variables, the others' cover as constants), and a group of employees' is a small
one. That gives

1. the first roster: employees one after the other, each at their best given those
   before (every one is feasible on its own, so the whole roster is), far better
   than CP-SAT's own first solution on the larger instances;
2. on a small model, column generation and a dive (below) for a few seconds, then
   CP-SAT on the whole model from the best roster so far for a quarter of the time
   (it proves instance 1 optimal), then the neighbourhoods of 4.: the best known
   values of instances 1-4 within seconds, where CP-SAT from its own start reached
   them in some runs only;
3. on a large model, column generation over employee rosters and a dive from its
   master (``wfm.benchmark.columns``): its relaxation keeps the under-cover that
   the shift model's loses, so its rosters (and its lower bound) are far better than
   CP-SAT's on the whole model, which this replaced there;
4. on a large model, until the time is up, rounds of large neighbourhood search in
   two lanes side by side, each round asked for a strictly better objective and
   ended at the first one: a random group of employees over the whole horizon, or a
   group twice as large over a 14-day window (their other days fixed), in turn. A
   group grows while its rounds are solved to the end and shrinks when they time
   out; once rounds stop improving, sizes are drawn at random.

A roster is only ever replaced by a strictly better one that the model accepted, so
the roster returned satisfies every hard rule, however early the search is stopped.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass

from ortools.sat.python import cp_model

from wfm.benchmark.columns import RosterMaster, seed_master
from wfm.benchmark.control import StopFlag
from wfm.benchmark.instance import Instance
from wfm.benchmark.model import Cell, Model, build, penalty, roster_of

#: The share of the time limit given to CP-SAT on the whole model.
FULL_SHARE = 0.25
#: Seconds one neighbourhood may take.
ROUND_SECONDS = 0.3
#: The most employees of a group (twice as many for a window).
GROUP_MOST = 8
#: Rounds without a better roster after which group sizes are drawn at random.
STALL_ROUNDS = 20
#: Days of a window neighbourhood.
WINDOW_DAYS = 14
#: Seconds the whole-model solve has to beat the first roster before it gives way...
PROBATION = 8.0
#: ... on a model with more shift variables than this. On smaller ones CP-SAT alone has
#: all the time: it is the better tool there (Instance3, 598 variables, 60 s: CP-SAT
#: alone 1,003 and 1,004; with a quarter of the time and then neighbourhoods, which
#: improved nothing in 398 rounds, 1,101; 1,020 when a loaded machine made it give way).
SMALL_MODEL = 2000
#: The share of the time limit given to column generation and its dive on a large model.
COLUMNS_SHARE = 0.8
#: The most of the time limit for column generation on a small model, priced to the
#: end there (it settles in 0.1-2.3 s). From its dive, CP-SAT and then the
#: neighbourhoods reached the best known on instances 1-4 within 3.4 s in each of six
#: runs (60 s, seeds 0-3); CP-SAT from its own start, the earlier default, ended at
#: 832 on Instance2 and 1,725 / 1,721 on Instance4 in some runs, and CP-SAT alone
#: from the dive could stall a point away (1,717, 1,003) for the whole minute.
SMALL_COLUMNS_SHARE = 0.3
#: The most of the time for CP-SAT on a small model after column generation; the rest
#: goes to the neighbourhoods.
SMALL_FULL_SHARE = 0.25
#: The part of that share for pricing before the dive starts ...
GENERATE_PART = 0.5
#: ... and the part kept for CP-SAT on the employees a dive out of time leaves free.
FINISH_PART = 0.05
#: Each batch of the dive fixes at least one in this many of the employees still free.
DIVE_SHARE = 4
#: Seconds one employee's model may take while the first roster is built.
FIRST_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Progress:
    """A new best roster: its objective, the best lower bound known, seconds since start."""

    objective: int
    bound: int
    seconds: float
    phase: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """The best roster found and how the solve went."""

    #: "OPTIMAL" (proved), "FEASIBLE", "INFEASIBLE", or "UNKNOWN" (no roster in time).
    status: str
    roster: dict[str, list[str]] | None
    objective: int | None
    bound: int
    first_solution_seconds: float | None
    seconds: float
    stopped: bool
    rounds: int
    improving_rounds: int


@dataclass(frozen=True, slots=True)
class Settings:
    """How the time is spent (the defaults were measured, see docs/nrp-benchmark.md)."""

    threads: int = 2
    full_share: float = FULL_SHARE
    round_seconds: float = ROUND_SECONDS
    seed: int = 0
    #: Build the first roster employee by employee (else CP-SAT finds its own).
    construct: bool = True
    #: Run the neighbourhood search after the whole-model solve.
    neighbourhoods: bool = True
    #: Solver threads of a neighbourhood.
    round_threads: int = 1
    #: Lanes of neighbourhood rounds side by side (at most ``threads // round_threads``).
    lanes: int = 2
    #: The most employees of a group (twice as many for a window).
    group_most: int = GROUP_MOST
    #: Ask each neighbourhood for a strictly better objective (else: from the hint).
    cut: bool = True
    #: Models with at most this many shift variables get CP-SAT alone (no probation).
    small_model: int = SMALL_MODEL
    #: Every other group is built around a cover row the incumbent misses.
    guided: bool = False
    #: End a neighbourhood at its first better roster (else: at its time limit).
    first_improvement: bool = True
    #: Take every other neighbourhood as a larger group over a window of days.
    windows: bool = True
    #: Draw group sizes at random (else: grow when solved to the end, shrink on time-out,
    #: until ``STALL_ROUNDS`` rounds in a row bring nothing).
    random_sizes: bool = False
    #: Start the whole-model solve from the first roster (else: CP-SAT's own start).
    hint_whole: bool = False
    #: The share of the time for column generation and its dive (large models only).
    columns_share: float = COLUMNS_SHARE
    #: The most of the time for column generation and its dive on a small model, before
    #: CP-SAT on the whole model from the best roster so far (0: CP-SAT alone).
    small_columns_share: float = SMALL_COLUMNS_SHARE
    #: Each batch of the dive fixes at least one in this many of the employees still free.
    dive_share: int = DIVE_SHARE


class _Search:
    def __init__(
        self,
        instance: Instance,
        settings: Settings,
        *,
        time_limit: float,
        stop: StopFlag,
        on_progress: Callable[[Progress], None],
        parameters: dict[str, object],
    ) -> None:
        self.instance = instance
        self.settings = settings
        self.stop = stop
        self.on_progress = on_progress
        self.parameters = parameters
        self.started = time.monotonic()
        self.deadline = self.started + time_limit
        self.best: frozenset[Cell] | None = None
        self.objective: int | None = None
        self.bound = 0
        self.first: float | None = None
        self.proved = False
        self.infeasible = False
        self.rounds = 0
        self.improving = 0
        self.last_improving = 0
        #: Guards the incumbent and the counters while lanes run side by side.
        self.lock = threading.Lock()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def _solve(
        self,
        m: Model,
        seconds: float,
        callback: cp_model.CpSolverSolutionCallback | None = None,
        threads: int | None = None,
        hint: bool = True,
        solver: cp_model.CpSolver | None = None,
        hint_cells: frozenset[Cell] | None = None,
        first: bool = False,
    ) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus]:
        solver = solver or cp_model.CpSolver()
        solver.parameters.stop_after_first_solution = first
        solver.parameters.max_time_in_seconds = max(0.01, seconds)
        solver.parameters.num_workers = threads or self.settings.threads
        solver.parameters.random_seed = self.settings.seed + self.rounds
        for name, value in self.parameters.items():
            setattr(solver.parameters, name, value)
        hint_cells = hint_cells or self.best
        if hint and hint_cells is not None:
            for cell, var in m.x.items():
                m.model.add_hint(var, cell in hint_cells)
        with self.stop.watching(solver):
            status = solver.solve(m.model, callback)
        return solver, status

    def _offer(self, cells: frozenset[Cell], phase: str) -> bool:
        """Keep ``cells`` if better than the incumbent; True if kept."""
        objective = penalty(self.instance, cells)
        if self.objective is not None and objective >= self.objective:
            return False
        self.best, self.objective = cells, objective
        if self.first is None:
            self.first = self.elapsed()
        self.proved = objective <= self.bound
        self.on_progress(Progress(objective, self.bound, self.elapsed(), phase))
        return True

    def construct(self) -> None:
        """The first roster: each employee at their best given those before them."""
        chosen: set[Cell] = set()
        for staff in self.instance.staff:
            if self.stop.stopped or self.left() <= 0:
                return
            fixed = Counter((day, shift) for _, day, shift in chosen)
            m = build(self.instance, [staff.id], fixed)
            solver, status = self._solve(m, min(FIRST_SECONDS, self.left()), threads=1)
            if status == cp_model.INFEASIBLE:
                self.infeasible = True
                return
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                return  # out of time: the whole-model solve finds a roster instead
            chosen |= {c for c, v in m.x.items() if solver.boolean_value(v)}
        self._offer(frozenset(chosen), "first")

    def full(self, seconds: float, *, hint: bool = False) -> None:
        """CP-SAT on the whole model (from the incumbent if ``hint``, else from its own
        start): better rosters on the small instances, and the lower bound."""
        if self.stop.stopped or self.infeasible or seconds <= 0:
            return
        m = build(self.instance)
        search = self
        improved = threading.Event()

        class Watch(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                search.bound = max(search.bound, round(self.best_objective_bound))
                cells = frozenset(c for c, v in m.x.items() if self.boolean_value(v))
                if search._offer(cells, "whole"):
                    improved.set()

        solver = cp_model.CpSolver()
        # On the large instances CP-SAT's rosters stay far behind the first one for the
        # whole share: after a probation without a better roster the time goes to the
        # neighbourhoods instead.
        probation = threading.Timer(
            PROBATION, lambda: None if improved.is_set() else solver.stop_search()
        )
        probation.daemon = True
        if self.best is not None and len(m.x) > self.settings.small_model:
            probation.start()
        try:
            solver, status = self._solve(m, seconds, Watch(), hint=hint, solver=solver)
        finally:
            probation.cancel()
        if status == cp_model.INFEASIBLE:
            self.infeasible = True
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.bound = max(self.bound, round(solver.best_objective_bound))
            self.proved = self.objective is not None and self.objective <= self.bound

    def columns(self, seconds: float) -> None:
        """Column generation, a dive that fixes most employees to rosters of its master,
        and CP-SAT on the employees left free, everybody else fixed (see
        ``wfm.benchmark.columns``); the roster found is kept if better."""
        if self.stop.stopped or self.best is None or seconds <= 0:
            return
        began = time.monotonic()
        master = RosterMaster(self.instance, self.stop, self.settings.threads, self.settings.seed)
        seed_master(master, self.best)
        master.generate(began + seconds * GENERATE_PART)
        with self.lock:
            self.bound = max(self.bound, master.bound)
            self.proved = self.objective is not None and self.objective <= self.bound
        if self.proved:
            return
        employees = [s.id for s in self.instance.staff]
        finish = seconds * FINISH_PART
        fixed = master.dive(began + seconds - finish, share=self.settings.dive_share)
        free = [e for e in employees if e not in fixed]
        kept = frozenset(c for roster in fixed.values() for c in roster)
        if not free:
            with self.lock:
                self._offer(kept, "columns")
            return
        hint = kept | {c for roster in master.heaviest(free).values() for c in roster}
        m = build(self.instance, free, Counter((day, shift) for _, day, shift in kept))
        left = min(self.left(), began + seconds - time.monotonic())
        if self.stop.stopped or left <= 0:
            return
        solver, status = self._solve(m, left, hint_cells=frozenset(hint))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            mine = frozenset(c for c, v in m.x.items() if solver.boolean_value(v))
            with self.lock:
                self._offer(kept | mine, "columns")

    def neighbourhoods(self) -> None:
        """Rounds of large neighbourhood search until the time is up or optimality is shown.

        Rounds use one solver thread, in ``lanes`` lanes side by side. Instance11, 60 s:
        one lane of one-thread rounds 3,497 and 3,792, one lane of two-thread rounds
        3,707, two lanes 3,685 and 3,921 (load 2-5: noise); with rounds ended at their
        first gain, two lanes 3,594. Instance12, 60 s: one lane 6,241, two lanes 5,947.
        Any employee's roster that keeps their rules can be combined with any other's,
        so a lane's result is laid over whatever the incumbent is by then and kept if
        the whole is better.
        """
        lanes = max(
            1, min(self.settings.lanes, self.settings.threads // self.settings.round_threads)
        )
        if lanes == 1:
            self._lane(0)
            return
        threads = [
            threading.Thread(target=self._lane, args=(i,), name=f"benchmark-lns-{i}")
            for i in range(lanes)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _lane(self, lane: int) -> None:
        """One lane of rounds. Two kinds, taken in turn: a group of employees over the
        whole horizon, and a larger group over a window of ``WINDOW_DAYS`` days (their
        other days fixed), where more employees can trade shifts.
        """
        rng = random.Random(self.settings.seed * 1000 + lane)
        employees = [s.id for s in self.instance.staff]
        kinds = ["group"] + (["window"] if self.settings.windows else [])
        size = dict.fromkeys(kinds, min(len(employees), 3))
        most = self.settings.group_most
        largest = {"group": most, "window": 2 * most}
        turn = lane
        while not (self.stop.stopped or self.proved or self.best is None):
            left = self.left()
            if left < 0.05:
                return
            kind = kinds[turn % len(kinds)]
            turn += 1
            group = (
                self._around_a_miss(rng, size[kind])
                if self.settings.guided and turn % 2
                else rng.sample(employees, size[kind])
            )
            window = None
            if kind == "window":
                length = min(self.instance.days, WINDOW_DAYS)
                first = rng.randrange(self.instance.days - length + 1)
                window = range(first, first + length)
            done = self._round(group, window, min(self.settings.round_seconds, left))
            stalled = self.rounds - self.last_improving > STALL_ROUNDS
            if self.settings.random_sizes or stalled:
                # A round rarely proves that no better roster exists (the bound is weak), so
                # once rounds stop improving, a time-out says little: sizes are drawn.
                top = min(len(employees), largest[kind])
                size[kind] = rng.randint(min(2, top), top)
            else:
                grown = min(len(employees), size[kind] + 1)
                size[kind] = grown if done else max(1, size[kind] - 1)

    def _around_a_miss(self, rng: random.Random, size: int) -> list[str]:
        """A group around a cover row the incumbent misses: employees who may work that
        shift that day first (only they can mend it), the rest drawn at random.
        """
        best = self.best
        assert best is not None
        counts = Counter((day, shift) for _, day, shift in best)
        missed = [c for c in self.instance.cover if counts[(c.day, c.shift)] != c.requirement]
        employees = [s.id for s in self.instance.staff]
        if not missed:
            return rng.sample(employees, size)
        row = rng.choice(missed)
        able = [
            s.id
            for s in self.instance.staff
            if s.max_shifts[row.shift] > 0
            and row.day not in self.instance.days_off.get(s.id, frozenset())
        ]
        group = rng.sample(able, min(size, len(able)))
        rest = [e for e in employees if e not in group]
        return group + rng.sample(rest, size - len(group))

    def _round(self, group: Collection[str], window: range | None, seconds: float) -> bool:
        """Re-solve ``group`` (on ``window``'s days only, if given) with the rest fixed;
        True if the round was solved to the end.
        """
        base = self.best
        assert base is not None
        with self.lock:
            self.rounds += 1
        members = set(group)
        others = frozenset(c for c in base if c[0] not in members)
        fixed = Counter((day, shift) for _, day, shift in others)
        m = build(self.instance, members, fixed)
        if window is not None:
            for cell, var in m.x.items():
                if cell[1] not in window:
                    m.model.add(var == int(cell in base))
        if self.settings.cut:
            # The group's model at the incumbent, less one: only better will do.
            m.model.add(m.objective_expr <= _group_part(self.instance, base, members) - 1)
        solver, status = self._solve(
            m,
            seconds,
            threads=self.settings.round_threads,
            hint_cells=base,
            first=self.settings.first_improvement,
        )
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            mine = {c for c, v in m.x.items() if solver.boolean_value(v)}
            with self.lock:
                current = self.best
                assert current is not None
                cells = frozenset(c for c in current if c[0] not in members) | mine
                if self._offer(cells, "neighbourhood"):
                    self.improving += 1
                    self.last_improving = self.rounds
        return status in (cp_model.OPTIMAL, cp_model.INFEASIBLE)


def _cells(instance: Instance) -> int:
    """How many shift variables the whole model has."""
    return sum(
        (instance.days - len(instance.days_off.get(s.id, ())))
        * sum(1 for count in s.max_shifts.values() if count > 0)
        for s in instance.staff
    )


def _group_part(
    instance: Instance,
    cells: frozenset[Cell],
    members: set[str],
) -> int:
    """The objective of a group's model (its requests, the whole cover) at ``cells``."""
    total = sum(
        r.weight
        for r in instance.on_requests
        if r.employee in members and (r.employee, r.day, r.shift) not in cells
    )
    total += sum(
        r.weight
        for r in instance.off_requests
        if r.employee in members and (r.employee, r.day, r.shift) in cells
    )
    counts = Counter((day, shift) for _, day, shift in cells)
    for c in instance.cover:
        x = counts[(c.day, c.shift)]
        total += c.under_weight * max(0, c.requirement - x)
        total += c.over_weight * max(0, x - c.requirement)
    return total


def solve(
    instance: Instance,
    *,
    time_limit: float,
    threads: int = 2,
    stop: StopFlag | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    seed: int = 0,
    settings: Settings | None = None,
    parameters: dict[str, object] | None = None,
) -> Outcome:
    """The best roster found within ``time_limit`` seconds (sooner if proved optimal).

    ``settings`` changes how the time is spent, and ``parameters`` are CP-SAT
    parameters (by name) for every solve: both for measuring.
    """
    chosen = settings or Settings(threads=threads, seed=seed)
    search = _Search(
        instance,
        chosen,
        time_limit=time_limit,
        stop=stop or StopFlag(),
        on_progress=on_progress or (lambda _: None),
        parameters=parameters or {},
    )
    if chosen.construct:
        search.construct()
    large = _cells(instance) > chosen.small_model
    lns = chosen.neighbourhoods and search.best is not None and large
    share = chosen.full_share if lns else 1.0
    if lns and chosen.columns_share > 0:
        search.columns(min(search.left(), time_limit * chosen.columns_share))
    elif not large and chosen.small_columns_share > 0 and search.best is not None:
        # Column generation (its relaxation is within 2-4 of the best known on
        # instances 2-4), CP-SAT from its roster for a while (it proves instance 1),
        # then the neighbourhoods, which close the last points where CP-SAT stalls.
        search.columns(min(search.left(), time_limit * chosen.small_columns_share))
        if not search.proved:
            search.full(min(search.left(), time_limit * SMALL_FULL_SHARE), hint=True)
    else:
        search.full(min(search.left(), time_limit * share), hint=chosen.hint_whole)
    if chosen.neighbourhoods:
        search.neighbourhoods()  # on a small model only when CP-SAT stopped early
    if search.best is None:
        status = "INFEASIBLE" if search.infeasible else "UNKNOWN"
    else:
        status = "OPTIMAL" if search.proved else "FEASIBLE"
    return Outcome(
        status=status,
        roster=roster_of(instance, search.best) if search.best is not None else None,
        objective=search.objective,
        bound=search.bound,
        first_solution_seconds=search.first,
        seconds=search.elapsed(),
        stopped=search.stop.stopped,
        rounds=search.rounds,
        improving_rounds=search.improving,
    )
