"""The CP-SAT model of a benchmark instance: which shift (if any) each employee works each day.

Every hard rule of RULES.md is a constraint, and the objective is exactly the
benchmark's penalty (requests missed, cover under and over), so that the solver's
objective value is the number the benchmark publishes. Variables exist only for
shifts an employee may work at all (a day off or a type with MaxShifts 0 has none),
which keeps the model small. The edge rules follow RULES.md: nothing is assumed
before day 0 or after the last day for successions; a run of shifts or days off that
touches day 0 or the last day is exempt from the minimum lengths but not from the
maximum consecutive shifts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from wfm.benchmark.instance import Instance, Staff

Expr = cp_model.LinearExpr

#: Employee, day, shift type.
Cell = tuple[str, int, str]


@dataclass
class Model:
    """The built model and the handles the search needs to read and fix it."""

    instance: Instance
    model: cp_model.CpModel
    #: One variable per shift an employee could work on a day.
    x: dict[Cell, cp_model.IntVar] = field(default_factory=dict)
    #: Whether an employee works on a day; None where nothing may be worked.
    works: dict[tuple[str, int], cp_model.IntVar | None] = field(default_factory=dict)
    #: The objective's constant part: on-requests that cannot be met at all.
    constant: int = 0
    #: The benchmark's penalty, as minimised.
    objective_expr: Expr = field(default_factory=lambda: Expr.constant(0))


def roster_of(instance: Instance, chosen: Collection[Cell]) -> dict[str, list[str]]:
    """The roster of the chosen cells, as the benchmark writes it ("" for a day off)."""
    out = {s.id: [""] * instance.days for s in instance.staff}
    for employee, day, shift in chosen:
        out[employee][day] = shift
    return out


def penalty(instance: Instance, chosen: Collection[Cell]) -> int:
    """The benchmark's objective of the chosen cells (the search's own account of it)."""
    cells = set(chosen)
    total = sum(r.weight for r in instance.on_requests if (r.employee, r.day, r.shift) not in cells)
    total += sum(r.weight for r in instance.off_requests if (r.employee, r.day, r.shift) in cells)
    counts: dict[tuple[int, str], int] = {}
    for _, day, shift in cells:
        counts[(day, shift)] = counts.get((day, shift), 0) + 1
    for c in instance.cover:
        x = counts.get((c.day, c.shift), 0)
        total += c.under_weight * max(0, c.requirement - x) + c.over_weight * max(
            0, x - c.requirement
        )
    return total


def build(
    instance: Instance,
    employees: Collection[str] | None = None,
    fixed: Mapping[tuple[int, str], int] | None = None,
) -> Model:
    """The model with every hard rule and the exact objective.

    With ``employees``, only their rosters are variables; ``fixed`` counts, per (day,
    shift), the other employees who work it. No rule links two employees, so such a
    model is all the rules of those employees, and its objective is the benchmark's
    less the requests of the others (a constant): the cheap neighbourhood of the
    search.
    """
    m = Model(instance, cp_model.CpModel())
    chosen = None if employees is None else set(employees)
    for staff in instance.staff:
        if chosen is None or staff.id in chosen:
            _employee(m, staff)
    _objective(m, chosen, fixed or {})
    return m


def employee_model(instance: Instance, staff: Staff) -> Model:
    """One employee's hard rules and no objective: the pricing model of column
    generation, which sets its own objective each time it is solved."""
    m = Model(instance, cp_model.CpModel())
    _employee(m, staff)
    return m


def _employee(m: Model, staff: Staff) -> None:
    instance, model = m.instance, m.model
    off = instance.days_off.get(staff.id, frozenset())
    allowed = [s for s in instance.shifts if staff.max_shifts[s.id] > 0]
    for day in range(instance.days):
        cells = []
        for shift in allowed if day not in off else []:
            var = model.new_bool_var(f"x_{staff.id}_{day}_{shift.id}")
            m.x[(staff.id, day, shift.id)] = var
            cells.append(var)
        work = model.new_bool_var(f"w_{staff.id}_{day}") if cells else None
        if work is not None:
            model.add(Expr.sum(cells) == work)
        m.works[(staff.id, day)] = work
    works = [m.works[(staff.id, d)] for d in range(instance.days)]
    for shift in allowed:
        row = [m.x[k] for d in range(instance.days) if (k := (staff.id, d, shift.id)) in m.x]
        if len(row) > staff.max_shifts[shift.id]:
            model.add(Expr.sum(row) <= staff.max_shifts[shift.id])
        for day in range(instance.days - 1):
            here = m.x.get((staff.id, day, shift.id))
            if here is None:
                continue
            following = (m.x.get((staff.id, day + 1, other)) for other in shift.cannot_follow)
            after = [var for var in following if var is not None]
            # One constraint for all of a shift's forbidden successors: they are on one
            # day, so at most one of them is worked anyway (the same rosters as a clause
            # per pair, built in a third of the calls: building is a third of a round).
            if after:
                model.add_at_most_one([here, *after])
    minutes_of = {s.id: s.minutes for s in instance.shifts}
    mine = [(var, minutes_of[c[2]]) for c, var in m.x.items() if c[0] == staff.id]
    minutes = Expr.weighted_sum([v for v, _ in mine], [n for _, n in mine])
    model.add_linear_constraint(minutes, staff.min_total_minutes, staff.max_total_minutes)
    _max_run(model, works, staff.max_consecutive_shifts)
    _min_runs(model, works, staff.min_consecutive_shifts, work=True)
    _min_runs(model, works, staff.min_consecutive_days_off, work=False)
    weekends = []
    for week in range(instance.weeks):
        days = [w for w in works[7 * week + 5 : 7 * week + 7] if w is not None]
        if not days:
            continue
        worked = model.new_bool_var(f"weekend_{staff.id}_{week}")
        # Equal to "Saturday or Sunday", so that a fixed neighbourhood reads the true count.
        model.add_max_equality(worked, days)
        weekends.append(worked)
    if len(weekends) > staff.max_weekends:
        model.add(Expr.sum(weekends) <= staff.max_weekends)


def _max_run(model: cp_model.CpModel, works: list[cp_model.IntVar | None], longest: int) -> None:
    """At most ``longest`` working days in any ``longest + 1`` consecutive days."""
    for first in range(len(works) - longest):
        window = works[first : first + longest + 1]
        if all(w is not None for w in window):
            model.add_bool_or([w.Not() for w in window if w is not None])


def _min_runs(
    model: cp_model.CpModel, works: list[cp_model.IntVar | None], shortest: int, *, work: bool
) -> None:
    """No inner run (touching neither end) of working days, or of days off, shorter than
    ``shortest``: for each too-short run the pattern "other, run, other" is forbidden.
    A day that cannot be worked (None) is a fixed day off.
    """
    days = len(works)
    for length in range(1, shortest):
        for first in range(1, days - length):
            run = works[first : first + length]
            border = [works[first - 1], works[first + length]]
            if work and (any(w is None for w in run)):
                continue  # a day off inside: this run of work cannot happen
            if not work and any(w is None for w in border):
                continue  # a fixed day off beside it: not a maximal run of days off
            clause = [w.Not() if work else w for w in run if w is not None]
            clause += [w if work else w.Not() for w in border if w is not None]
            model.add_bool_or(clause)


def _objective(m: Model, chosen: set[str] | None, fixed: Mapping[tuple[int, str], int]) -> None:
    instance, model = m.instance, m.model
    terms: list[Expr] = []
    for request in instance.on_requests:
        if chosen is not None and request.employee not in chosen:
            continue
        var = m.x.get((request.employee, request.day, request.shift))
        if var is None:
            m.constant += request.weight
        else:
            terms.append(request.weight * (1 - var))
    for request in instance.off_requests:
        var = m.x.get((request.employee, request.day, request.shift))
        if var is not None:
            terms.append(request.weight * var)
    # The variables of each (day, shift), gathered once: a group's model has few, and
    # looking up every employee for every cover row took a sixth of a round.
    by_cover: dict[tuple[int, str], list[cp_model.IntVar]] = {}
    for (_, day, shift), var in m.x.items():
        by_cover.setdefault((day, shift), []).append(var)
    for cover in instance.cover:
        working = by_cover.get((cover.day, cover.shift), [])
        need = cover.requirement - fixed.get((cover.day, cover.shift), 0)
        under = model.new_int_var(0, max(0, need), f"under_{cover.day}_{cover.shift}")
        over = model.new_int_var(0, max(0, len(working) - need), f"over_{cover.day}_{cover.shift}")
        model.add(Expr.sum(working) + under - over == need)
        terms.append(cover.under_weight * under + cover.over_weight * over)
    m.objective_expr = Expr.sum(terms) + m.constant
    model.minimize(m.objective_expr)
