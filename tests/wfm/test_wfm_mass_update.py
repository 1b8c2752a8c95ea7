"""Mass update validity rules: add, delete and replace an assignment for a period."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from jobprocessor import InvalidInput
from jobprocessor.registry import registry
from wfm.assignments import describe
from wfm.db import read_session, write_session
from wfm.model import Contract, Employee, Skill

SINCE = date(2025, 12, 6)  # the tiny data's assignments start here, open-ended


def held(engine, employee_id: int, attribute: str, column: str):
    with read_session(engine) as s:
        employee = s.scalars(
            select(Employee)
            .where(Employee.id == employee_id)
            .options(selectinload(getattr(Employee, attribute)))
        ).one()
        return describe(getattr(employee, attribute), column)


@pytest.fixture
def second_contract(engine, tiny) -> int:
    with write_session(engine) as s:
        contract = Contract(
            name="Tiny 40 h",
            hours_min=36,
            hours_target=40,
            hours_max=44,
            max_consecutive_work_days=6,
            min_rest_hours=11,
            min_days_off_per_week=2,
        )
        s.add(contract)
        s.flush()
        return contract.id


def test_add_an_exclusive_assignment_splits_the_one_it_overlaps(
    engine, tiny, run_job, second_contract
) -> None:
    done = run_job(
        "wfm.mass_update",
        employees=[tiny.a, tiny.b],
        action="add",
        kind="contract",
        value=second_contract,
        valid_from="2026-02-01",
        valid_to="2026-02-28",
    )
    assert done.result == {"changed": 2, "unchanged": 0}
    assert held(engine, tiny.a, "contracts", "contract_id") == [
        (1, SINCE, date(2026, 1, 31)),
        (1, date(2026, 3, 1), None),
        (second_contract, date(2026, 2, 1), date(2026, 2, 28)),
    ]
    assert held(engine, tiny.c, "contracts", "contract_id") == [(1, SINCE, None)]


def test_add_open_ended_cuts_the_rest_of_the_old_one(engine, tiny, run_job, second_contract):
    run_job(
        "wfm.mass_update",
        employees=[tiny.a],
        action="add",
        kind="contract",
        value=second_contract,
        valid_from="2026-02-01",
    )
    assert held(engine, tiny.a, "contracts", "contract_id") == [
        (1, SINCE, date(2026, 1, 31)),
        (second_contract, date(2026, 2, 1), None),
    ]


def test_added_skill_keeps_other_skills(engine, tiny, run_job) -> None:
    with write_session(engine) as s:
        email = Skill(name="Email")
        s.add(email)
        s.flush()
        email_id = email.id
    run_job(
        "wfm.mass_update",
        employees=[tiny.a],
        action="add",
        kind="skill",
        value=email_id,
        valid_from="2026-01-01",
        level=70,
    )
    assert held(engine, tiny.a, "skills", "skill_id") == [
        (1, SINCE, None),
        (email_id, date(2026, 1, 1), None),
    ]


def test_delete_in_the_middle_leaves_both_ends(engine, tiny, run_job) -> None:
    run_job(
        "wfm.mass_update",
        employees=[tiny.a],
        action="delete",
        kind="planning_unit",
        value=tiny.unit,
        valid_from="2026-01-10",
        valid_to="2026-01-20",
    )
    assert held(engine, tiny.a, "planning_units", "planning_unit_id") == [
        (tiny.unit, SINCE, date(2026, 1, 9)),
        (tiny.unit, date(2026, 1, 21), None),
    ]


def test_delete_of_what_is_not_there_is_a_warning(engine, tiny, run_job, second_contract):
    done = run_job(
        "wfm.mass_update",
        employees=[tiny.a],
        action="delete",
        kind="contract",
        value=second_contract,
        valid_from="2026-01-10",
    )
    assert done.result == {"changed": 0, "unchanged": 1}
    assert any("nothing to delete" in line for line in done.lines("WARNING"))
    assert held(engine, tiny.a, "contracts", "contract_id") == [(1, SINCE, None)]


def test_replace_gives_the_new_value_where_the_old_one_held(
    engine, tiny, run_job, second_contract
) -> None:
    run_job(
        "wfm.mass_update",
        employees=[tiny.b],
        action="replace",
        kind="contract",
        value=1,
        new_value=second_contract,
        valid_from="2026-03-01",
    )
    assert held(engine, tiny.b, "contracts", "contract_id") == [
        (1, SINCE, date(2026, 2, 28)),
        (second_contract, date(2026, 3, 1), None),
    ]


def test_a_value_that_does_not_exist_fails_and_changes_nothing(engine, tiny, run_job) -> None:
    from wfm.errors import WfmError

    with pytest.raises(WfmError, match="value: contract 99 does not exist"):
        run_job(
            "wfm.mass_update",
            employees=[tiny.a],
            action="add",
            kind="contract",
            value=99,
            valid_from="2026-01-01",
        )
    assert held(engine, tiny.a, "contracts", "contract_id") == [(1, SINCE, None)]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"valid_from": "2026-02-01", "valid_to": "2026-01-01"}, "valid_to", "before valid_from"),
        ({"action": "replace"}, "new_value", "replace needs the new value"),
        ({"action": "replace", "new_value": 1}, "new_value", "must differ from value"),
        ({"new_value": 2}, "new_value", "only replace"),
        ({"employees": []}, "employees", "at least 1"),
        ({"employees": [1, 1]}, "employees", "once"),
        ({"kind": "badge"}, "kind", "contract"),
    ],
)
def test_mass_update_settings_are_checked_at_submission(params, field, message) -> None:
    base = {
        "employees": [1],
        "action": "add",
        "kind": "contract",
        "value": 1,
        "valid_from": "2026-01-01",
    }
    with pytest.raises(InvalidInput) as caught:
        registry.get("wfm.mass_update").validate({**base, **params})
    assert message in caught.value.fields[field]
