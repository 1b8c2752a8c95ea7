"""The benchmark model and search, against the independent checker (no database).

The model's edge rules are compared with the checker on every roster of small
instances (each roster fixed in the model: feasible there exactly when the checker
finds no violation), instance 1 is solved to its proven optimum, and a stop ends a
long solve early with a feasible roster.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path

import nrp_checker
import pytest
from ortools.sat.python import cp_model

import wfm.benchmark.search as search_module
from wfm.benchmark.columns import GAIN, RosterMaster, seed_master
from wfm.benchmark.control import StopFlag
from wfm.benchmark.instance import parse_instance
from wfm.benchmark.model import build, roster_of
from wfm.benchmark.search import Outcome, Progress, Settings, solve

INSTANCES = Path("/work/shared/nrp/instances")

#: One employee, 7 days: every run-length rule is tight, and day 3 is a day off.
RUNS = """SECTION_HORIZON
7
SECTION_SHIFTS
D,480,
SECTION_STAFF
A,D=7,3360,960,3,2,2,1
SECTION_DAYS_OFF
A,3
SECTION_COVER
0,D,1,100,1
"""

#: One employee, 7 days, two shift types: N may not be followed by D; N at most twice.
ROTATION = """SECTION_HORIZON
7
SECTION_SHIFTS
D,480,
N,600,D
SECTION_STAFF
A,D=7|N=2,3000,1080,4,1,1,1
SECTION_COVER
0,D,1,100,1
0,N,1,100,1
"""


def _fixed_feasible(text: str) -> Callable[[dict[str, list[str]]], bool]:
    """A test of whether the model accepts exactly a given roster (the model built once;
    each roster is a set of assumptions)."""
    m = build(parse_instance(text))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1

    def accepts(roster: dict[str, list[str]]) -> bool:
        m.model.clear_assumptions()
        for employee, row in roster.items():
            for day, chosen in enumerate(row):
                for shift in ("D", "N"):
                    var = m.x.get((employee, day, shift))
                    if var is None:
                        if chosen == shift:
                            return False  # the model cannot even express this roster
                        continue
                    m.model.add_assumption(var if chosen == shift else var.Not())
        return solver.solve(m.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)

    return accepts


@pytest.mark.parametrize(("text", "choices"), [(RUNS, ("", "D")), (ROTATION, ("", "D", "N"))])
def test_model_and_checker_agree_on_every_roster(text: str, choices: tuple[str, ...]) -> None:
    accepts = _fixed_feasible(text)
    feasible = 0
    for row in itertools.product(choices, repeat=7):
        roster = {"A": list(row)}
        expected = not nrp_checker.violations(text, roster)
        assert accepts(roster) == expected, (row, nrp_checker.violations(text, roster))
        feasible += expected
    # Both outcomes occur, so the comparison means something.
    assert 0 < feasible < len(choices) ** 7


def test_checker_finds_broken_rules() -> None:
    text = (INSTANCES / "Instance1.txt").read_text()
    roster = {e: [""] * 14 for e in "ABCDEFGH"}
    found = "\n".join(nrp_checker.violations(text, roster))
    assert "0 minutes outside" in found
    roster["A"] = ["D"] * 14
    found = "\n".join(nrp_checker.violations(text, roster))
    assert "A: 14 shifts in a row" in found
    assert "A: works on day off 0" in found
    assert "A: 2 weekends > 1" in found


def test_instance_1_is_solved_to_its_best_known_value() -> None:
    text = (INSTANCES / "Instance1.txt").read_text()
    seen: list[Progress] = []
    outcome = solve(parse_instance(text), time_limit=60, threads=2, on_progress=seen.append)
    assert outcome.status == "OPTIMAL"
    assert outcome.objective == 607
    assert outcome.roster is not None
    assert nrp_checker.violations(text, outcome.roster) == []
    assert nrp_checker.objective(text, outcome.roster) == 607
    # Progress reports each better roster, ending with the one returned.
    assert seen[-1].objective == 607
    assert [p.objective for p in seen] == sorted((p.objective for p in seen), reverse=True)
    assert outcome.first_solution_seconds is not None


@pytest.mark.parametrize("lanes", [1, 2])
def test_neighbourhood_search_only_ever_returns_feasible_rosters(lanes: int) -> None:
    text = (INSTANCES / "Instance2.txt").read_text()
    instance = parse_instance(text)
    seen: list[Progress] = []
    # Instance2 is small enough for CP-SAT alone: small_model=0 sends it to the search.
    settings = Settings(full_share=0.01, seed=7, lanes=lanes, small_model=0, columns_share=0)
    outcome = solve(instance, time_limit=5, settings=settings, on_progress=seen.append)
    assert outcome.roster is not None
    assert outcome.rounds > 0
    # The neighbourhoods improved on the first roster (lanes merge their results).
    assert any(p.phase == "neighbourhood" for p in seen)
    assert outcome.objective is not None
    assert outcome.objective < seen[0].objective
    assert nrp_checker.violations(text, outcome.roster) == []
    assert nrp_checker.objective(text, outcome.roster) == outcome.objective


def _solve_in_background(text: str, flag: StopFlag) -> tuple[threading.Thread, list[Outcome]]:
    """A long solve of ``text`` in a thread, once it has offered its first roster."""
    first = threading.Event()
    outcome_box: list[Outcome] = []
    thread = threading.Thread(
        target=lambda: outcome_box.append(
            solve(
                parse_instance(text),
                time_limit=600,
                stop=flag,
                on_progress=lambda _: first.set(),
            )
        )
    )
    thread.start()
    assert first.wait(120)
    return thread, outcome_box


def test_stop_ends_a_long_solve_with_a_feasible_roster() -> None:
    text = (INSTANCES / "Instance4.txt").read_text()
    flag = StopFlag()
    thread, outcome_box = _solve_in_background(text, flag)
    flag.stop()
    thread.join(120)
    assert not thread.is_alive(), "the solve did not stop"
    (outcome,) = outcome_box
    assert outcome.stopped
    assert outcome.roster is not None
    assert nrp_checker.violations(text, outcome.roster) == []


def test_a_stop_before_the_solve_returns_at_once_without_a_roster() -> None:
    flag = StopFlag()
    flag.stop()
    instance = parse_instance((INSTANCES / "Instance1.txt").read_text())
    outcome = solve(instance, time_limit=60, stop=flag)
    assert outcome.stopped
    assert outcome.roster is None
    assert outcome.status == "UNKNOWN"


def test_the_dive_of_column_generation_fixes_every_employee_to_a_feasible_roster() -> None:
    text = (INSTANCES / "Instance2.txt").read_text()
    instance = parse_instance(text)
    first = solve(instance, time_limit=5, settings=Settings(neighbourhoods=False, full_share=0.0))
    assert first.roster is not None
    assert first.objective is not None
    master = RosterMaster(instance, StopFlag(), threads=2)
    seed_master(
        master, [(e, d, s) for e, row in first.roster.items() for d, s in enumerate(row) if s]
    )
    master.generate(time.monotonic() + 20, gain=0.0)  # until no roster enters
    # The master's value, a relaxation over more rosters than the first, is no worse,
    # and pricing everybody gave a lower bound below the proven optimum.
    assert master.value <= first.objective + 1e-6  # the LP's value is a float
    assert 0 < master.bound <= 828
    fixed = master.dive(time.monotonic() + 20)
    assert sorted(fixed) == sorted(s.id for s in instance.staff)
    roster = roster_of(instance, [c for cells in fixed.values() for c in cells])
    assert nrp_checker.violations(text, roster) == []
    # The master's value with every employee fixed is the benchmark's objective.
    assert nrp_checker.objective(text, roster) == round(master.value)


def test_stop_during_column_generation_ends_the_solve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = (INSTANCES / "Instance11.txt").read_text()
    pricing = threading.Event()

    class WatchedMaster(RosterMaster):
        def generate(self, deadline: float, *, gain: float = GAIN) -> int:
            pricing.set()
            return super().generate(deadline, gain=gain)

    monkeypatch.setattr(search_module, "RosterMaster", WatchedMaster)
    flag = StopFlag()
    thread, outcome_box = _solve_in_background(text, flag)
    assert pricing.wait(120)
    flag.stop()
    thread.join(30)  # of a 600-second time limit: the stop, not the clock, ended it
    assert not thread.is_alive(), "the solve did not stop"
    (outcome,) = outcome_box
    assert outcome.stopped
    assert nrp_checker.violations(text, outcome.roster) == []
