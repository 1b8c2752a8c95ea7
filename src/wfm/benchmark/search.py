"""Solving a benchmark instance: CP-SAT on the whole model, then large neighbourhood search.

CP-SAT alone proves the small instances optimal in seconds, but on 2 threads it
improves slowly once the model has thousands of variables. So the time is split:
first CP-SAT on the whole model (which also gives the lower bound), then, until the
time is up, rounds of large neighbourhood search: all cells outside a neighbourhood
are fixed to the incumbent (their variables' domains become a single value), the
incumbent is the hint, and the rest is re-solved for a short time. A round keeps its
roster only if it is strictly better, so the incumbent never gets worse and every
roster returned satisfies every hard rule. Neighbourhoods are a few employees over
the whole horizon, or a window of weeks for all employees; their size grows when
rounds are solved to optimality and shrinks when they time out.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from wfm.benchmark.control import StopFlag
from wfm.benchmark.instance import Instance
from wfm.benchmark.model import Cell, Model, build

#: The share of the time limit given to CP-SAT on the whole model before the search.
FULL_SHARE = 0.25
#: Seconds one neighbourhood may take.
ROUND_SECONDS = 3.0


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


class _Watch(cp_model.CpSolverSolutionCallback):
    """Reports each improving roster of a full solve."""

    def __init__(self, report: Callable[[int, int], None]) -> None:
        super().__init__()
        self._report = report

    def on_solution_callback(self) -> None:
        self._report(round(self.objective_value), round(self.best_objective_bound))


class _Search:
    def __init__(
        self,
        m: Model,
        *,
        time_limit: float,
        threads: int,
        stop: StopFlag,
        on_progress: Callable[[Progress], None],
        seed: int,
        parameters: dict[str, object],
    ) -> None:
        self.m = m
        self.parameters = parameters
        self.threads = threads
        self.stop = stop
        self.on_progress = on_progress
        self.rng = random.Random(seed)
        self.seed = seed
        self.started = time.monotonic()
        self.deadline = self.started + time_limit
        self.best: dict[Cell, bool] | None = None
        self.objective: int | None = None
        self.bound = 0
        self.first: float | None = None
        self.proved = False
        self.infeasible = False
        self.rounds = 0
        self.improving = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _solver(self, seconds: float) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, seconds)
        solver.parameters.num_workers = self.threads
        solver.parameters.random_seed = self.seed + self.rounds
        for name, value in self.parameters.items():
            setattr(solver.parameters, name, value)
        return solver

    def _found(self, objective: int, phase: str) -> None:
        if self.first is None:
            self.first = self.elapsed()
        self.on_progress(Progress(objective, self.bound, self.elapsed(), phase))

    def full(self, seconds: float) -> None:
        """CP-SAT on the whole model: the first roster, and the lower bound."""
        if self.stop.stopped:
            return
        solver = self._solver(seconds)

        def report(objective: int, bound: int) -> None:
            self.bound = max(self.bound, bound)
            self._found(objective, "full")

        with self.stop.watching(solver):
            status = solver.solve(self.m.model, _Watch(report))
        if status == cp_model.INFEASIBLE:
            self.infeasible = True
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.best = {c: solver.boolean_value(v) for c, v in self.m.x.items()}
            self.objective = round(solver.objective_value)
            self.bound = max(self.bound, round(solver.best_objective_bound))
            self.proved = status == cp_model.OPTIMAL or self.objective <= self.bound

    def neighbourhoods(self) -> None:
        """Rounds of large neighbourhood search until the time is up or optimality is shown."""
        instance = self.m.instance
        employees = [s.id for s in instance.staff]
        size = {"employees": max(2, len(employees) // 8), "weeks": 1}
        while not (self.stop.stopped or self.proved or self.best is None):
            left = self.deadline - time.monotonic()
            if left < 0.2:
                return
            kind = self.rng.choice(("employees", "weeks"))
            if kind == "employees":
                chosen = set(self.rng.sample(employees, min(len(employees), size[kind])))
                free = {c for c in self.m.x if c[0] in chosen}
            else:
                weeks = min(instance.weeks, size[kind])
                first = 7 * self.rng.randrange(instance.weeks - weeks + 1)
                free = {c for c in self.m.x if first <= c[1] < first + 7 * weeks}
            optimal = self._round(free, min(ROUND_SECONDS, left))
            limit = len(employees) if kind == "employees" else instance.weeks
            size[kind] = min(limit, size[kind] + 1) if optimal else max(1, size[kind] - 1)

    def _round(self, free: set[Cell], seconds: float) -> bool:
        """Re-solve the cells in ``free`` with the rest fixed; True if solved to optimality."""
        assert self.best is not None
        assert self.objective is not None
        self.rounds += 1
        sub = self.m.model.clone()
        for cell, var in self.m.x.items():
            value = int(self.best[cell])
            if cell not in free:
                domain = sub.proto.variables[var.index].domain
                domain[0] = value
                domain[1] = value
            sub.add_hint(var, value)
        # Only strictly better rosters are of use.
        sub.add(self.m.objective_expr <= self.objective - 1)
        solver = self._solver(seconds)
        with self.stop.watching(solver):
            status = solver.solve(sub)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.best = {c: solver.boolean_value(v) for c, v in self.m.x.items()}
            self.objective = round(solver.objective_value)
            self.improving += 1
            self.proved = self.objective <= self.bound
            self._found(self.objective, "neighbourhood")
        return status in (cp_model.OPTIMAL, cp_model.INFEASIBLE)


def solve(
    instance: Instance,
    *,
    time_limit: float,
    threads: int = 2,
    stop: StopFlag | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    seed: int = 0,
    neighbourhoods: bool = True,
    full_share: float = FULL_SHARE,
    parameters: dict[str, object] | None = None,
) -> Outcome:
    """The best roster found within ``time_limit`` seconds (sooner if proved optimal).

    ``parameters`` are CP-SAT parameters (by name) for every solve, for measuring.
    """
    search = _Search(
        build(instance),
        time_limit=time_limit,
        threads=threads,
        stop=stop or StopFlag(),
        on_progress=on_progress or (lambda _: None),
        seed=seed,
        parameters=parameters or {},
    )
    full = time_limit if not neighbourhoods else time_limit * full_share
    search.full(full)
    if search.best is None and not search.infeasible:
        search.full(time_limit - search.elapsed())
    if neighbourhoods:
        search.neighbourhoods()
    if search.best is None:
        status = "INFEASIBLE" if search.infeasible else "UNKNOWN"
    else:
        status = "OPTIMAL" if search.proved else "FEASIBLE"
    return Outcome(
        status=status,
        roster=search.m.roster(search.best) if search.best is not None else None,
        objective=search.objective,
        bound=search.bound,
        first_solution_seconds=search.first,
        seconds=search.elapsed(),
        stopped=search.stop.stopped,
        rounds=search.rounds,
        improving_rounds=search.improving,
    )
