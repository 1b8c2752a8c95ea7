"""Forms generated from the job types' parameter schemas (no database needed)."""

from __future__ import annotations

from datetime import date

import pytest
from starlette.datastructures import FormData

from jobprocessor.registry import registry
from wfm.model import ActivityType
from wfm.snapshot import ActivityInfo
from wfm.web.forms import build_fields, choice_errors, field_errors, params_from_form
from wfm.web.hints import WfmHints
from wfm.web.lookups import Lookups, Named

LOOKUPS = Lookups(
    levels=[Named(1000, "Schedule"), Named(8000, "Version 1")],
    planning_units=[Named(3, "Tiny")],
    employees=[Named(7, "A Ann"), Named(8, "B Bob")],
    activities=[
        ActivityInfo(
            11, "BACK", "Back office", ActivityType.PRESENCE, True, True, True, 1, None, ""
        ),
        ActivityInfo(12, "PHONE", "Phone", ActivityType.PRESENCE, True, True, False, 3, 1, ""),
        ActivityInfo(13, "VAC", "Vacation", ActivityType.VACATION, True, False, False, 9, None, ""),
    ],
    contracts=[Named(1, "Full-time")],
    skills=[Named(1, "Phone"), Named(2, "Chat")],
    sequences=[Named(1, "Rotation")],
    first_day=date(2026, 1, 5),
    last_day=date(2026, 2, 1),
)
HINTS = WfmHints(LOOKUPS, today=date(2026, 1, 14))


def form(type_name: str):
    return {f.name: f for f in build_fields(registry.get(type_name).params_schema(), HINTS)}


def test_each_parameter_gets_the_field_its_schema_asks_for() -> None:
    fields = form("wfm.job_optimization")
    widgets = {name: f.widget for name, f in fields.items()}
    assert widgets == {
        "start": "date",
        "end": "date",
        "level": "select",
        "planning_unit": "select",
        "employees": "multi",
        "replace_activities": "checkbox",
        "move_breaks": "checkbox",
        "block_minutes": "select",
        "min_skill_level": "number",
    }
    assert [(c.value, c.label) for c in fields["level"].choices] == [
        ("1000", "1000 Schedule"),
        ("8000", "8000 Version 1"),
    ]
    assert [c.label for c in fields["block_minutes"].choices] == [
        "15 minutes",
        "30 minutes",
        "60 minutes",
    ]
    assert [c.label for c in fields["employees"].choices] == ["A Ann", "B Bob"]
    # First values: the week the data covers (today's), the schema's defaults.
    assert (fields["start"].value, fields["end"].value) == ("2026-01-12", "2026-01-18")
    assert (fields["level"].value, fields["planning_unit"].value) == ("1000", "3")
    assert fields["replace_activities"].value is True
    assert (fields["min_skill_level"].minimum, fields["min_skill_level"].maximum) == ("1", "100")
    assert fields["start"].required
    assert not fields["level"].required
    assert fields["employees"].nullable
    assert "every employee" in fields["employees"].help


def test_choices_come_from_the_data_and_fit_the_parameter() -> None:
    replace = form("wfm.replace_activities")
    assert [c.label for c in replace["from_activity"].choices] == ["Back office"]
    assert [c.label for c in replace["to_activity"].choices] == ["Back office", "Phone"]
    assert replace["levels"].widget == "multi"
    update = form("wfm.mass_update")
    assert update["level"].widget == "number"  # a skill level in percent, not a schedule level
    assert update["level"].label == "Skill level (%)"
    assert [(c.group, c.label) for c in update["value"].choices] == [
        ("Contract", "Full-time"),
        ("Skill", "Phone"),
        ("Skill", "Chat"),
        ("Planning unit", "Tiny"),
        ("Shift sequence", "Rotation"),
    ]
    assert update["value"].depends_on == "kind"
    assert [c.label for c in update["kind"].choices] == [
        "Contract",
        "Skill",
        "Planning unit",
        "Shift sequence",
    ]
    assert form("wfm.copy_level")["new_start"].nullable


def test_answers_become_json_values_and_empty_ones_are_left_out() -> None:
    fields = build_fields(registry.get("wfm.job_optimization").params_schema(), HINTS)
    answers = FormData(
        [
            ("start", "2026-01-05"),
            ("end", "2026-01-11"),
            ("level", "8000"),
            ("planning_unit", "3"),
            ("employees", "7"),
            ("employees", "8"),
            ("move_breaks", "on"),
            ("block_minutes", "15"),
            ("min_skill_level", ""),
        ]
    )
    assert params_from_form(fields, answers) == {
        "start": "2026-01-05",
        "end": "2026-01-11",
        "level": 8000,
        "planning_unit": 3,
        "employees": [7, 8],
        "replace_activities": False,
        "move_breaks": True,
        "block_minutes": 15,
    }
    assert params_from_form(fields, FormData([("min_skill_level", "many")]))["min_skill_level"] == (
        "many"
    )  # left as text, for validation to refuse by name


def test_a_value_of_another_kind_is_not_a_choice() -> None:
    fields = build_fields(registry.get("wfm.mass_update").params_schema(), HINTS)
    answers = FormData([("employees", "7"), ("action", "add"), ("kind", "skill"), ("value", "1")])
    assert choice_errors(fields, params_from_form(fields, answers)) == {}
    wrong = FormData([("employees", "9"), ("kind", "contract"), ("value", "2")])
    assert choice_errors(fields, params_from_form(fields, wrong)) == {
        "employees": "9 is not one of the choices",
        "value": "2 is not one of the choices of the kind chosen",
    }


@pytest.mark.parametrize(
    ("errors", "by_field", "general"),
    [
        ({"employees.0": "bad"}, {"employees": "bad"}, []),
        ({"end": "Value error, must not be before start"}, {"end": "must not be before start"}, []),
        ({"title": "length"}, {}, ["title: length"]),
        ({"": "refused"}, {}, ["refused"]),
    ],
)
def test_errors_go_to_their_field(errors, by_field, general) -> None:
    assert field_errors(errors, ["employees", "end"]) == (by_field, general)
