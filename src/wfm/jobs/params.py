"""Parameter types of wfm's job types, validated when a job is submitted.

Each type names its field in the error (pydantic puts the field in the location),
and cross-field rules (an end not before its start, at most N weeks) read the
fields declared before them, so job functions must declare ``start`` before ``end``.
Existence in the database (an activity, an employee) is checked when the job starts.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, WithJsonSchema

from wfm.model import LEVEL_NAMES, LevelNumber

#: The most days a scheduling or report job may cover.
MAX_DAYS = 7 * 8
MAX_EMPLOYEES = 1000


def _known_level(value: int) -> int:
    if value not in {lv.value for lv in LevelNumber}:
        known = ", ".join(f"{lv.value} {name}" for lv, name in LEVEL_NAMES.items())
        raise ValueError(f"level {value} does not exist; the levels are {known}")
    return value


_LEVEL_SCHEMA = {
    "type": "integer",
    "enum": [lv.value for lv in LevelNumber],
    "description": "1000 Schedule, 3000 Actual, 8000-8002 Version 1-3",
}

#: A level number: 1000 Schedule, 3000 Actual, 8000-8002 Version 1-3.
Level = Annotated[int, AfterValidator(_known_level), WithJsonSchema(_LEVEL_SCHEMA)]


def _distinct_levels(value: list[int]) -> list[int]:
    if len(set(value)) != len(value):
        raise ValueError("each level may be named once")
    return value


Levels = Annotated[list[Level], Field(min_length=1), AfterValidator(_distinct_levels)]


def _monday(value: date) -> date:
    if value.weekday() != 0:
        raise ValueError(f"{value} is a {value:%A}; weekly planning starts on a Monday")
    return value


#: A date that must be a Monday (weekly contract rules are counted Monday to Sunday).
Monday = Annotated[date, AfterValidator(_monday)]


def ends_after(start_field: str = "start", max_days: int = MAX_DAYS) -> AfterValidator:
    """An end date no earlier than ``start_field`` and at most ``max_days`` days on."""

    def check(value: date, info: ValidationInfo) -> date:
        start = info.data.get(start_field)
        if not isinstance(start, date):
            return value  # the start is itself invalid and reported on its own
        if value < start:
            raise ValueError(f"must not be before {start_field} ({start})")
        if (value - start).days + 1 > max_days:
            raise ValueError(
                f"covers {(value - start).days + 1} days from {start_field}; "
                f"at most {max_days} days ({max_days // 7} weeks) are allowed"
            )
        return value

    return AfterValidator(check)


#: The end of a date range that starts at the ``start`` parameter.
End = Annotated[date, ends_after()]


def _distinct_ids(value: list[int] | None) -> list[int] | None:
    if value is None:
        return None
    if len(set(value)) != len(value):
        raise ValueError("each employee may be named once")
    return value


#: Employee ids; None (the default) means every employee of the planning unit.
EmployeeIds = Annotated[
    list[Annotated[int, Field(gt=0)]] | None,
    Field(max_length=MAX_EMPLOYEES),
    AfterValidator(_distinct_ids),
]

PositiveId = Annotated[int, Field(gt=0)]


def differs_from(other: str) -> AfterValidator:
    """A value that must not equal the parameter ``other`` (declared before it)."""

    def check(value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get(other) == value:
            raise ValueError(f"must differ from {other}")
        return value

    return AfterValidator(check)


def week_span(start: date, weeks: int) -> tuple[date, date]:
    return start, start + timedelta(days=7 * weeks - 1)
