"""Column generation over employee rosters, and a dive from its linear relaxation.

No hard rule links two employees, so the problem is also: pick one feasible roster
per employee, paying each roster's own requests and the cover of their sum. The
linear relaxation of that choice ("the master": a weight per roster, the weights of
an employee summing to one) is far tighter than the shift model's, whose bound
loses the under-cover by spreading an employee over several shifts. The master
starts from a few rosters per employee and grows by pricing: each employee's
cheapest roster with the cover rows' dual values as prices, a one-employee CP-SAT
model built once and given a new objective each time; every roster the solver
passes on the way with a negative reduced cost is added, not only the last.

The master's solution is fractional (rounding it, or solving it as an integer
program over the rosters found, gave far worse rosters than the search: see
docs/nrp-benchmark.md), so the dive fixes employees one batch at a time to their
heaviest roster and prices the others again against the changed duals, until every
employee is fixed: any employees' feasible rosters together are a feasible roster.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

from wfm.benchmark.control import StopFlag
from wfm.benchmark.instance import Instance
from wfm.benchmark.model import Cell, Model, employee_model

#: Pricing objectives are integers: cover duals are scaled by this and rounded.
SCALE = 100
#: Seconds one pricing solve may take (its best roster so far is used after that).
PRICE_SECONDS = 0.3
#: A roster enters the master only with a reduced cost below this.
EPSILON = 1e-6
#: Pricing stops when two turns gained less than this share of the master's value; 0:
#: only when no roster enters (or at the deadline). 0 measured better than 0.01 (120 s,
#: seeds 0 and 1): Instance12 4,162 and 4,160 against 4,190 and 4,168, lower bound
#: 4,031 against 3,763-3,771; Instance11 3,443, bound 3,435 against 3,279; on
#: instances 2-4 the dive's roster was 828 against 1,234 on Instance2.
GAIN = 0.0
#: Pricing turns after each batch of the dive (fewer if no roster enters).
DIVE_TURNS = 3
#: ... the second and third only while the master's value is this share above its
#: value before the batch.
DIVE_SLACK = 0.002
#: Weight of a roster in the master from which the dive fixes it without a turn of its own.
SURE = 0.9

Roster = frozenset[Cell]


@dataclass
class _Employee:
    model: Model
    #: The constant part of this employee's request costs (every on-request missed).
    on_total: int
    #: The request cost of working each cell, less ``on_total``'s share.
    cell_cost: dict[Cell, int]
    columns: list[Roster] = field(default_factory=list)
    variables: list[pywraplp.Variable] = field(default_factory=list)


class RosterMaster:
    """The master over the rosters found so far, with pricing to find more."""

    def __init__(self, instance: Instance, stop: StopFlag, threads: int, seed: int = 0) -> None:
        self.instance = instance
        self.stop = stop
        self.threads = max(1, threads)
        self.seed = seed
        self.lp = pywraplp.Solver.CreateSolver("GLOP")
        self.objective = self.lp.Objective()
        self.objective.SetMinimization()
        self.value = float("inf")
        #: A lower bound on the benchmark's objective (0 until pricing gives one).
        self.bound = 0
        #: Whether the last solve of the master was optimal (else its duals prove nothing).
        self.optimal = False
        self.fixed: dict[str, Roster] = {}
        infinity = self.lp.infinity()
        self.convexity = {s.id: self.lp.Constraint(1, 1) for s in instance.staff}
        self.cover: dict[tuple[int, str], pywraplp.Constraint] = {}
        for c in instance.cover:
            row = self.lp.Constraint(c.requirement, c.requirement)
            under, over = self.lp.NumVar(0, infinity, ""), self.lp.NumVar(0, infinity, "")
            row.SetCoefficient(under, 1)
            row.SetCoefficient(over, -1)
            self.objective.SetCoefficient(under, c.under_weight)
            self.objective.SetCoefficient(over, c.over_weight)
            self.cover[(c.day, c.shift)] = row
        self.employees: dict[str, _Employee] = {}
        for staff in instance.staff:
            m = employee_model(instance, staff)
            on_total, cost = 0, dict.fromkeys(m.x, 0)
            for r in instance.on_requests:
                if r.employee == staff.id:
                    on_total += r.weight
                    if (cell := (r.employee, r.day, r.shift)) in cost:
                        cost[cell] -= r.weight
            for r in instance.off_requests:
                if (cell := (r.employee, r.day, r.shift)) in cost:
                    cost[cell] += r.weight
            self.employees[staff.id] = _Employee(m, on_total, cost)

    def cost(self, employee: str, roster: Roster) -> int:
        """The requests ``roster`` misses: its cost in the master."""
        e = self.employees[employee]
        return e.on_total + sum(e.cell_cost[c] for c in roster)

    def add(self, employee: str, roster: Roster) -> bool:
        """A roster (assumed feasible for that employee) as a column; False if known."""
        e = self.employees[employee]
        if roster in e.columns:
            return False
        fixed = self.fixed.get(employee)
        var = self.lp.NumVar(0, 0 if fixed not in (None, roster) else 1, "")
        self.objective.SetCoefficient(var, self.cost(employee, roster))
        self.convexity[employee].SetCoefficient(var, 1)
        for _, day, shift in roster:
            row = self.cover.get((day, shift))
            if row is not None:
                row.SetCoefficient(var, 1)
        e.columns.append(roster)
        e.variables.append(var)
        return True

    def solve(self) -> float:
        """Solve the master (every employee needs a column first); its value."""
        self.optimal = self.lp.Solve() == pywraplp.Solver.OPTIMAL
        self.value = self.objective.Value()
        return self.value

    def weights(self, employee: str) -> list[tuple[float, Roster]]:
        e = self.employees[employee]
        return [(v.solution_value(), r) for v, r in zip(e.variables, e.columns, strict=True)]

    def _heaviest(self, employee: str) -> tuple[float, Roster]:
        """The employee's roster of the largest weight in the master's solution, weighed."""
        return max(self.weights(employee), key=lambda w: w[0])

    def price(self, employees: Collection[str]) -> int:
        """Price ``employees`` against the current duals; how many columns were added.

        Pricing everybody with nothing fixed also gives a lower bound on the objective
        (the master's value plus every employee's least reduced cost, taken from the
        pricing solver's own bound, so valid whether or not it finished), kept in
        ``bound``.
        """
        duals = {key: row.dual_value() for key, row in self.cover.items()}
        convexity = {e: self.convexity[e].dual_value() for e in employees}
        value = self.value if self.optimal else None

        def one(employee: str) -> tuple[str, list[Roster], float | None]:
            return employee, *self._price_one(employee, duals)

        added = 0
        lagrangian = value
        with ThreadPoolExecutor(self.threads) as pool:
            for employee, found, least in pool.map(one, employees):
                if least is None or lagrangian is None:
                    lagrangian = None
                else:
                    lagrangian += min(0.0, least - convexity[employee])
                for roster in found:
                    reduced = self.cost(employee, roster) - convexity[employee]
                    reduced -= sum(duals.get((d, s), 0.0) for _, d, s in roster)
                    if reduced < -EPSILON and self.add(employee, roster):
                        added += 1
        everybody = len(employees) == len(self.employees) and not self.fixed
        if everybody and lagrangian is not None:
            # Less a hundredth for the linear solver's tolerances.
            self.bound = max(self.bound, math.floor(lagrangian - 0.01))
        return added

    def _price_one(
        self, employee: str, duals: dict[tuple[int, str], float]
    ) -> tuple[list[Roster], float | None]:
        """The rosters the pricing solve passed, and a lower bound on the employee's
        least cost at these duals (less the convexity dual; None without one)."""
        if self.stop.stopped:
            return [], None
        e = self.employees[employee]
        m = e.model
        cells = list(m.x)
        coefficients = [
            SCALE * e.cell_cost[c] - round(SCALE * duals.get((c[1], c[2]), 0.0)) for c in cells
        ]
        m.model.minimize(cp_model.LinearExpr.weighted_sum([m.x[c] for c in cells], coefficients))
        found: list[Roster] = []

        class Collect(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                found.append(frozenset(c for c in cells if self.boolean_value(m.x[c])))

        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = PRICE_SECONDS
        solver.parameters.random_seed = self.seed
        with self.stop.watching(solver):
            status = solver.solve(m.model, Collect())
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return found, None
        # The duals were rounded to 1/SCALE: each worked day may be off by half of that.
        rounding = self.instance.days * 0.5 / SCALE
        return found, e.on_total + solver.best_objective_bound / SCALE - rounding

    def generate(self, deadline: float, *, gain: float = GAIN) -> int:
        """Price every employee in turn until no roster enters, the master's value gains
        less than ``gain`` (a share; 0 for no such rule) over two turns, or the
        deadline; the turns taken."""
        turns, history = 0, [self.solve()]
        everybody = [s.id for s in self.instance.staff]
        while time.monotonic() < deadline and not self.stop.stopped:
            turns += 1
            if not self.price(everybody):
                break
            history.append(self.solve())
            # The value never rises as rosters enter, but it carries the linear solver's
            # rounding: with no rule asked for, a stall must not look like a rise.
            if gain > 0 and len(history) > 2 and history[-3] - history[-1] < gain * history[-1]:
                break
        return turns

    def dive(
        self,
        deadline: float,
        *,
        leave: int = 0,
        batch: int = 2,
        share: int = 4,
        turns: int = DIVE_TURNS,
    ) -> dict[str, Roster]:
        """Fix employees to their heaviest roster, pricing the others again after each
        batch, until ``leave`` are left or the deadline; the fixed rosters. A batch is
        every employee whose heaviest roster weighs ``SURE`` or more, at least ``batch``
        and at least one in ``share`` of those still free: smaller batches keep the
        master's value nearer its start but cost a pricing turn each."""
        everybody = [s.id for s in self.instance.staff]
        while not self.stop.stopped and time.monotonic() < deadline:
            free = [e for e in everybody if e not in self.fixed]
            if len(free) <= leave:
                break
            heaviest = sorted(
                ((self._heaviest(e), e) for e in free),
                key=lambda item: item[0][0],
                reverse=True,
            )
            sure = sum(1 for (w, _), _ in heaviest if w >= SURE)
            count = min(max(batch, sure, len(free) // share), len(free) - leave)
            for (_, roster), employee in heaviest[:count]:
                self._fix(employee, roster)
            before = self.value
            self.solve()
            rest = [e for e in everybody if e not in self.fixed]
            for turn in range(turns):
                # Price again only while the batch still costs the master something.
                if turn and self.value <= before * (1 + DIVE_SLACK):
                    break
                if time.monotonic() >= deadline or not self.price(rest):
                    break
                self.solve()
        return dict(self.fixed)

    def _fix(self, employee: str, roster: Roster) -> None:
        self.fixed[employee] = roster
        e = self.employees[employee]
        for var, column in zip(e.variables, e.columns, strict=True):
            keep = 1 if column == roster else 0
            var.SetBounds(keep, keep)

    def heaviest(self, employees: Iterable[str]) -> dict[str, Roster]:
        """Each employee's roster of the largest weight in the master's solution."""
        return {e: self._heaviest(e)[1] for e in employees}


def seed_master(master: RosterMaster, rosters: Iterable[Cell]) -> None:
    """Every employee's roster in ``rosters`` (a whole feasible roster) as a column:
    the master needs one per employee before it can be solved."""
    by_employee: dict[str, set[Cell]] = {e: set() for e in master.employees}
    for cell in rosters:
        by_employee[cell[0]].add(cell)
    for employee, cells in by_employee.items():
        master.add(employee, frozenset(cells))
