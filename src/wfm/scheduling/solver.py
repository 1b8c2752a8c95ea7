"""The CP-SAT model of "create optimized schedule": which option each employee works
on each day.

Hard rules (a contract's): at most one shift a day, at most the maximum weekly
hours, at least the minimum days off per week, at most the maximum consecutive
work days (counting the days worked just before the range) and at least the
minimum rest between two shifts. The minimum weekly hours are a heavily weighted
soft rule, so that a schedule always exists and a shortfall is reported instead
of "infeasible". The objective, in order of weight: reach the minimum hours,
cover the requirements (activities of higher priority first), stay close to the
target hours, avoid over-staffing, and use as few hours as possible.

Stopping: ``SolveControl.stop()`` may be called from any thread (a job's
``on_cancel``); it calls the solver's ``stop_search`` and keeps calling it until
the solve returns, so a cancel that arrives while the model is still being set up
is not lost.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from ortools.sat.python import cp_model

from wfm.scheduling.options import Availability, Option, week_starts
from wfm.snapshot import ContractRules, Snapshot

Expr = cp_model.LinearExpr

#: Objective weights, per minute of the quantity (see the module's docstring).
W_UNDER = 10  # per person-interval missing, times the activity's priority
W_OVER = 2  # per person-interval too many
W_HOURS = 1  # per paid minute
W_TARGET = 2  # per minute below target
W_MINIMUM = 100  # per minute below the minimum
INTERVAL_MINUTES = 15


@dataclass(frozen=True, slots=True)
class Prior:
    """What the level says about the days just before the range, for one employee."""

    #: End of the last shift, in minutes from the range's first midnight (negative).
    last_end: int | None = None
    #: Work days in a row that end on the day before the range.
    streak: int = 0


@dataclass(frozen=True, slots=True)
class SolveUpdate:
    """A new best solution, as the solution callback sees it."""

    solutions: int
    objective: float
    bound: float
    seconds: float

    @property
    def gap_pct(self) -> float:
        if self.objective == 0:
            return 0.0
        return 100.0 * abs(self.objective - self.bound) / abs(self.objective)


@dataclass
class SolveResult:
    status: str
    chosen: list[Option]
    objective: float | None
    bound: float | None
    solutions: int
    first_solution_seconds: float | None
    seconds: float
    stopped: bool
    variables: int
    constraints: int


@dataclass
class SolveControl:
    """A handle to stop a running solve from another thread."""

    _stop: threading.Event = field(default_factory=threading.Event)
    _solver: cp_model.CpSolver | None = None
    _solving: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        """Ask the solver to stop as soon as it can (idempotent, any thread)."""
        self._stop.set()
        solver = self._solver
        if solver is not None:
            solver.stop_search()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(self, on_solution: Callable[[SolveUpdate], None], control: SolveControl) -> None:
        super().__init__()
        self._on_solution = on_solution
        self._control = control
        self.solutions = 0
        self.first: float | None = None

    def on_solution_callback(self) -> None:
        if self._control.stopped:
            self.stop_search()
            return
        self.solutions += 1
        if self.first is None:
            self.first = self.wall_time
        self._on_solution(
            SolveUpdate(
                self.solutions, self.objective_value, self.best_objective_bound, self.wall_time
            )
        )


def solve(
    snapshot: Snapshot,
    availability: dict[int, Availability],
    *,
    prior: dict[int, Prior],
    absence_credit: dict[tuple[int, date], int],
    time_limit: float,
    threads: int,
    control: SolveControl,
    on_solution: Callable[[SolveUpdate], None],
    seed: int = 0,
    hint: set[tuple[int, date, int, int]] | None = None,
) -> SolveResult:
    """Build the model, solve it within ``time_limit`` seconds, and return the choice.

    ``hint`` holds (employee, day, day model, start) of shifts to start the search
    from, e.g. the current schedule: the solver then improves on it from the start.
    """
    model = cp_model.CpModel()
    chosen_vars: list[tuple[Option, cp_model.IntVar]] = []
    cost: list[cp_model.LinearExpr] = []
    coverage: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    requirements = _requirements(snapshot)
    weeks = week_starts(snapshot.start, snapshot.end)
    for employee in snapshot.employees:
        works: dict[date, cp_model.IntVar] = {}
        starts: dict[date, cp_model.LinearExpr] = {}
        ends: dict[date, cp_model.LinearExpr] = {}
        paid: dict[date, cp_model.LinearExpr] = {}
        for day, options in availability[employee.id].options.items():
            if not options:
                continue
            pairs = [
                (o, model.new_bool_var(f"x{employee.id}_{day}_{i}")) for i, o in enumerate(options)
            ]
            chosen_vars.extend(pairs)
            if hint is not None:
                for option, var in pairs:
                    key = (option.employee_id, option.day, option.template_id, option.start)
                    model.add_hint(var, key in hint)
            work = model.new_bool_var(f"w{employee.id}_{day}")
            variables = [v for _, v in pairs]
            model.add(Expr.sum(variables) == work)
            works[day] = work
            starts[day] = Expr.weighted_sum(variables, [o.begin for o, _ in pairs])
            ends[day] = Expr.weighted_sum(variables, [o.finish for o, _ in pairs])
            paid[day] = Expr.weighted_sum(variables, [o.paid for o, _ in pairs])
            for option, var in pairs:
                idle = 0
                for k in option.covered:
                    if requirements.get((option.activity_id, k), 0) > 0:
                        coverage[(option.activity_id, k)].append(var)
                    else:
                        idle += 1
                weight = W_HOURS * option.paid + W_OVER * INTERVAL_MINUTES * idle
                cost.append(Expr.term(var, weight))
        _contract_rules(
            model,
            snapshot,
            employee.id,
            weeks,
            works,
            starts,
            ends,
            paid,
            prior.get(employee.id, Prior()),
            absence_credit,
            cost,
        )
    for (activity_id, k), required in requirements.items():
        helpers = coverage.get((activity_id, k), [])
        priority = max(1, snapshot.activities[activity_id].priority)
        under = model.new_int_var(0, required, f"u{activity_id}_{k}")
        model.add(Expr.sum([under, *helpers]) >= required)
        # over = covered - required + under, at W_OVER; under at W_UNDER x priority.
        cost.append(Expr.term(under, INTERVAL_MINUTES * (W_UNDER * priority + W_OVER)))
        if helpers:
            cost.append(Expr.term(Expr.sum(helpers), INTERVAL_MINUTES * W_OVER))
        cost.append(Expr.constant(-INTERVAL_MINUTES * W_OVER * required))
    model.minimize(Expr.sum(cost))
    return _run(model, chosen_vars, time_limit, threads, control, on_solution, seed)


def _requirements(snapshot: Snapshot) -> dict[tuple[int, int], int]:
    """(activity, interval index) → whole people required (the solver rounds)."""
    origin = snapshot.start
    result = {}
    for activity_id, needs in snapshot.requirements.items():
        for moment, required in needs.items():
            k = ((moment.date() - origin).days * 24 * 60 + moment.hour * 60 + moment.minute) // 15
            if round(required) > 0:
                result[(activity_id, k)] = round(required)
    return result


def _contract_rules(
    model: cp_model.CpModel,
    snapshot: Snapshot,
    employee_id: int,
    weeks: list[date],
    works: dict[date, cp_model.IntVar],
    starts: dict[date, cp_model.LinearExpr],
    ends: dict[date, cp_model.LinearExpr],
    paid: dict[date, cp_model.LinearExpr],
    prior: Prior,
    absence_credit: dict[tuple[int, date], int],
    cost: list[cp_model.LinearExpr],
) -> None:
    employee = snapshot.employee(employee_id)
    for monday in weeks:
        week = [monday + timedelta(days=i) for i in range(7)]
        rules = next((employee.contract[d] for d in week if d in employee.contract), None)
        if rules is None:
            continue
        worked = [works[d] for d in week if d in works]
        model.add(Expr.sum(worked) <= 7 - rules.min_days_off)
        credit = absence_credit.get((employee_id, monday), 0)
        hours = Expr.sum([paid[d] for d in week if d in paid])
        model.add(hours <= rules.max_minutes - credit)
        short = model.new_int_var(0, rules.min_minutes, f"short{employee_id}_{monday}")
        model.add(Expr.sum([short, hours]) >= rules.min_minutes - credit)
        below = model.new_int_var(0, rules.target_minutes, f"below{employee_id}_{monday}")
        model.add(Expr.sum([below, hours]) >= rules.target_minutes - credit)
        cost.append(Expr.weighted_sum([short, below], [W_MINIMUM, W_TARGET]))
    _consecutive_and_rest(model, snapshot, employee.contract, works, starts, ends, prior)


def _consecutive_and_rest(
    model: cp_model.CpModel,
    snapshot: Snapshot,
    contracts: dict[date, ContractRules],
    works: dict[date, cp_model.IntVar],
    starts: dict[date, cp_model.LinearExpr],
    ends: dict[date, cp_model.LinearExpr],
    prior: Prior,
) -> None:
    span = [
        snapshot.start + timedelta(days=i) for i in range((snapshot.end - snapshot.start).days + 1)
    ]
    for index, day in enumerate(span):
        rules = contracts.get(day)
        if rules is None or day not in works:
            continue
        limit = rules.max_consecutive_days
        # The window of limit + 1 days ending today holds at most `limit` work days.
        window = [span[i] for i in range(max(0, index - limit), index + 1)]
        before = max(0, limit + 1 - len(window))
        fixed = min(prior.streak, before)
        model.add(Expr.sum([works[d] for d in window if d in works]) <= limit - fixed)
        yesterday = day - timedelta(days=1)
        if yesterday in works:
            rest = Expr.sum([starts[day], Expr.term(ends[yesterday], -1)])
            model.add(rest >= rules.min_rest_minutes).only_enforce_if(
                [works[day], works[yesterday]]
            )
        elif index == 0 and prior.last_end is not None:
            model.add(starts[day] >= rules.min_rest_minutes + prior.last_end).only_enforce_if(
                works[day]
            )


def _run(
    model: cp_model.CpModel,
    chosen_vars: list[tuple[Option, cp_model.IntVar]],
    time_limit: float,
    threads: int,
    control: SolveControl,
    on_solution: Callable[[SolveUpdate], None],
    seed: int,
) -> SolveResult:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = threads
    solver.parameters.random_seed = seed
    solver.parameters.log_search_progress = False
    callback = _Callback(on_solution, control)
    control._solver = solver
    done = threading.Event()

    def keep_stopping() -> None:
        # stop_search before solve() has set up its search is a no-op: repeat it.
        while not done.wait(0.05):
            if control.stopped:
                solver.stop_search()

    watcher = threading.Thread(target=keep_stopping, name="solver-stop", daemon=True)
    watcher.start()
    began = time.monotonic()
    try:
        status = solver.solve(model, callback) if not control.stopped else cp_model.UNKNOWN
    finally:
        done.set()
        control._solver = None
    seconds = time.monotonic() - began
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    proto = model.proto
    return SolveResult(
        status=solver.status_name(status) if not control.stopped else "STOPPED",
        chosen=[o for o, v in chosen_vars if solver.boolean_value(v)] if found else [],
        objective=solver.objective_value if found else None,
        bound=solver.best_objective_bound if found else None,
        solutions=callback.solutions,
        first_solution_seconds=callback.first,
        seconds=seconds,
        stopped=control.stopped,
        variables=len(proto.variables),
        constraints=len(proto.constraints),
    )
