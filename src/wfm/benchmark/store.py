"""Benchmark instances in the WFM database: import one as a planning unit, load, save.

An import parses the whole file before it writes anything, and writes the planning
unit and its instance in one transaction, so a bad file leaves no trace.
"""

from __future__ import annotations

import json

from sqlalchemy import Engine, select

from wfm.benchmark.instance import Instance, parse_instance
from wfm.db import read_session, write_session
from wfm.errors import WfmError
from wfm.model import BenchmarkInstance, PlanningUnit

Roster = dict[str, list[str]]


def import_instance(engine: Engine, text: str, name: str) -> tuple[int, Instance]:
    """Create planning unit ``name`` from the instance in ``text``; its id and the instance."""
    instance = parse_instance(text)
    with write_session(engine) as session:
        if session.scalar(select(PlanningUnit.id).where(PlanningUnit.name == name)) is not None:
            raise WfmError(f"a planning unit named {name!r} exists already")
        unit = PlanningUnit(name=name)
        session.add(unit)
        session.flush()
        session.add(
            BenchmarkInstance(planning_unit_id=unit.id, name=name, text=text, days=instance.days)
        )
        return unit.id, instance


def load_instance(engine: Engine, planning_unit_id: int) -> Instance | None:
    """The benchmark instance of a planning unit, or None for an ordinary unit."""
    with read_session(engine) as session:
        text = session.scalar(
            select(BenchmarkInstance.text).where(
                BenchmarkInstance.planning_unit_id == planning_unit_id
            )
        )
    return None if text is None else parse_instance(text)


def save_roster(engine: Engine, planning_unit_id: int, roster: Roster, objective: int) -> None:
    """Keep ``roster`` as the unit's schedule (replacing the previous one)."""
    with write_session(engine) as session:
        row = session.scalars(
            select(BenchmarkInstance).where(BenchmarkInstance.planning_unit_id == planning_unit_id)
        ).one()
        row.roster = json.dumps(roster)
        row.objective = objective


def load_roster(engine: Engine, planning_unit_id: int) -> tuple[Roster, int] | None:
    """The saved roster of a benchmark unit and its objective, if one was saved."""
    with read_session(engine) as session:
        row = session.execute(
            select(BenchmarkInstance.roster, BenchmarkInstance.objective).where(
                BenchmarkInstance.planning_unit_id == planning_unit_id
            )
        ).one_or_none()
    if row is None or row.roster is None or row.objective is None:
        return None
    roster: Roster = json.loads(row.roster)
    return roster, row.objective
