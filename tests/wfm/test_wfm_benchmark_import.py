"""A benchmark instance in the WFM model: what the import writes, and what reads back.

On SQLite and PostgreSQL: every development instance, imported, reads back from the
model (planning period, contracts, day models, rest rules, absences, wishes, weighted
requirements) as the instance parsed from its file, so the optimizer's objective is
the benchmark's although it never reads the file; Instance2's rules land in the WFM
concepts a planner knows; ids too long for the model and a start that is not a
Monday are refused with nothing stored.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobprocessor.errors import InvalidInput
from jobprocessor.registry import registry
from wfm.benchmark.importing import import_instance
from wfm.benchmark.instance import Instance, parse_instance
from wfm.benchmark.period import load_period_unit
from wfm.db import read_session, write_session
from wfm.errors import WfmError
from wfm.model import (
    Activity,
    ActivityType,
    Contract,
    DayModel,
    Employee,
    EmployeeWish,
    ForbiddenSuccession,
    PlanningPeriod,
    PlanningUnit,
    ScheduleEntry,
    StaffRequirement,
)

INSTANCES = Path("/work/shared/nrp/instances")


def _comparable(instance: Instance) -> dict[str, object]:
    """The instance with the file's incidental order and empty lines left out."""
    return {
        "days": instance.days,
        "shifts": instance.shifts,
        "staff": instance.staff,
        "days_off": {k: v for k, v in instance.days_off.items() if v},
        "on": instance.on_requests,
        "off": instance.off_requests,
        "cover": sorted(instance.cover, key=lambda c: (c.day, c.shift)),
    }


@pytest.mark.parametrize("number", [1, 2, 3, 4, 11, 12])
def test_an_imported_instance_reads_back_from_the_model_unchanged(engine, number) -> None:
    text = (INSTANCES / f"Instance{number}.txt").read_text()
    unit, _ = import_instance(engine, text, f"Instance{number}")
    loaded = load_period_unit(engine, unit)
    assert loaded is not None
    assert _comparable(loaded.instance) == _comparable(parse_instance(text))
    assert loaded.start == date(2014, 1, 6)


def test_instance_2_becomes_day_models_contracts_absences_wishes_and_requirements(
    engine,
) -> None:
    text = (INSTANCES / "Instance2.txt").read_text()
    instance = parse_instance(text)
    unit, _ = import_instance(engine, text, "Instance2", start=date(2026, 1, 5))
    with read_session(engine) as session:
        period = session.scalars(select(PlanningPeriod)).one()
        assert (period.planning_unit_id, period.start, period.days) == (unit, date(2026, 1, 5), 14)
        models = {m.name: m for m in session.scalars(select(DayModel))}
        assert sorted(models) == ["E", "L"]
        assert {m.code for m in models.values()} == {f"{unit}.E", f"{unit}.L"}
        assert all(m.length == 480 for m in models.values())
        assert models["E"].earliest_start == 6 * 60
        assert models["L"].earliest_start == 14 * 60
        # "L,480,E": an early shift may not follow a late one.
        rest_rules = session.execute(
            select(ForbiddenSuccession.day_model_id, ForbiddenSuccession.next_day_model_id)
        ).all()
        assert rest_rules == [(models["L"].id, models["E"].id)]

        employees = {e.last_name: e for e in session.scalars(select(Employee))}
        assert len(employees) == 14
        assert employees["D"].number == f"{unit}.D"
        # Staff lines with the same rules share a contract: A-C and F-J, D, E, K-L, M-N.
        contracts = list(session.scalars(select(Contract)))
        assert len(contracts) == 5
        d = employees["D"].contracts[0].contract
        assert {lim.day_model_id: lim.max_per_period for lim in d.day_model_limits} == {
            models["E"].id: 14,
            models["L"].id: 0,
        }
        assert (d.period_minutes_min, d.period_minutes_max) == (3360, 4320)
        assert (d.max_consecutive_work_days, d.min_consecutive_work_days) == (5, 2)
        assert (d.min_consecutive_days_off, d.max_weekends) == (2, 1)

        # A's day off (day 3): a full-day absence on Thursday 8 January.
        off = session.scalars(
            select(ScheduleEntry).where(ScheduleEntry.employee_id == employees["A"].id)
        ).one()
        assert (off.day, off.level, off.day_model_id) == (date(2026, 1, 8), 1000, None)
        assert (off.start, off.end) == (datetime(2026, 1, 8), datetime(2026, 1, 9))
        assert session.get(Activity, off.activity_id).type is ActivityType.ABSENCE

        wishes = session.scalars(select(EmployeeWish).order_by(EmployeeWish.id)).all()
        assert len(wishes) == len(instance.on_requests) + len(instance.off_requests)
        first = wishes[0]  # "A,5,L,1": A wishes to work L on Saturday
        assert (first.employee_id, first.day, first.day_model_id) == (
            employees["A"].id,
            date(2026, 1, 10),
            models["L"].id,
        )
        assert (first.wanted, first.weight) == (True, 1)

        # Cover: the shift's activity over its eight hours, with its weights.
        cover = instance.cover[0]
        model = models[cover.shift]
        rows = session.scalars(
            select(StaffRequirement)
            .where(StaffRequirement.activity_id == model.base_activity_id)
            .where(StaffRequirement.start >= datetime(2026, 1, 5 + cover.day))
            .where(StaffRequirement.start < datetime(2026, 1, 6 + cover.day))
            .order_by(StaffRequirement.start)
        ).all()
        assert len(rows) == 32
        assert rows[0].start.hour * 60 == model.earliest_start
        assert {(r.required, r.under_weight, r.over_weight) for r in rows} == {
            (cover.requirement, cover.under_weight, cover.over_weight)
        }


def test_two_units_from_one_file_keep_apart(engine) -> None:
    text = (INSTANCES / "Instance1.txt").read_text()
    first, _ = import_instance(engine, text, "first")
    second, _ = import_instance(engine, text, "second")
    one, two = load_period_unit(engine, first), load_period_unit(engine, second)
    assert one is not None
    assert two is not None
    assert one.instance == two.instance
    assert set(one.employees.values()).isdisjoint(two.employees.values())
    assert one.shifts["D"].id != two.shifts["D"].id


def _counts(engine) -> tuple[int, int, int]:
    with read_session(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(PlanningUnit)) or 0,
            session.scalar(select(func.count()).select_from(Employee)) or 0,
            session.scalar(select(func.count()).select_from(DayModel)) or 0,
        )


def test_an_id_too_long_for_the_model_is_refused_and_nothing_stored(engine) -> None:
    text = (INSTANCES / "Instance1.txt").read_text()
    long_id = "A" * 13
    text = text.replace("\nA,", f"\n{long_id},")
    with pytest.raises(WfmError, match=f"employee id '{long_id}' is longer than 12"):
        import_instance(engine, text, "long")
    assert _counts(engine) == (0, 0, 0)


def test_a_start_that_is_not_a_monday_is_refused_at_submission() -> None:
    text = (INSTANCES / "Instance1.txt").read_text()
    with pytest.raises(InvalidInput, match="start"):
        registry.get("wfm.import_benchmark").validate(
            {"text": text, "unit_name": "x", "start": "2026-01-06"}
        )


def test_a_period_that_is_not_whole_weeks_from_a_monday_is_refused(engine) -> None:
    text = (INSTANCES / "Instance1.txt").read_text()
    unit, _ = import_instance(engine, text, "Instance1")
    with write_session(engine) as session:
        session.scalars(select(PlanningPeriod)).one().days = 10
    with pytest.raises(WfmError, match="must start on a Monday and last whole weeks"):
        load_period_unit(engine, unit)


def test_a_code_taken_by_a_hand_made_activity_is_refused_and_nothing_stored(engine) -> None:
    with write_session(engine) as session:  # the first unit's id is 1
        session.add(Activity(code="1.D", name="Mine", type=ActivityType.PRESENCE))
    text = (INSTANCES / "Instance1.txt").read_text()
    with pytest.raises(WfmError, match=r"an activity coded '1\.D' exists already"):
        import_instance(engine, text, "Instance1")
    assert _counts(engine) == (0, 0, 0)
