"""What the WFM pages add to the job types' schemas: labels, help, choices, first values.

Field names mean the same in every wfm job type (``planning_unit``, ``employees``,
``start``...), so hints go by name; where one name means two things (``level`` is a
schedule level, except in the mass update where it is a skill level in percent),
the schema tells them apart (a schedule level is an enum).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from wfm.model import ActivityType
from wfm.web.forms import Choice, FormValue
from wfm.web.lookups import Lookups

LEVEL_FIELDS = frozenset({"level", "levels", "source", "target"})
EVERYONE = "None chosen: every employee of the planning unit."
PICK_SEVERAL = "Ctrl-click (⌘-click) to choose several."

LABELS = {
    "planning_unit": "Planning unit",
    "new_start": "New start date",
    "empty_source": "Empty the source level afterwards",
    "keep_full_day_absences": "Keep full-day absences",
    "delete": "Delete first",
    "time_limit": "Time limit (seconds)",
    "threads": "Solver threads",
    "start_step": "Shift starts every",
    "min_skill_level": "Minimum skill level (%)",
    "block_minutes": "Replace in blocks of",
    "replace_activities": "Turn replaceable activities into work with requirements",
    "move_breaks": "Move breaks within their corridors",
    "from_activity": "Replace activity",
    "to_activity": "By activity",
    "valid_from": "Valid from",
    "valid_to": "Valid to",
    "value": "Value",
    "new_value": "New value (replace only)",
    "row": "Shift sequence row",
    "week": "Week (a Monday)",
}
HELP = {
    "delete": "Full-day absences are never deleted.",
    "new_start": "Empty: the same dates. Needed to copy a level onto itself.",
    "valid_to": "Empty: open-ended.",
    "time_limit": "The best schedule found by then is saved.",
    "from_activity": "Only replaceable activities.",
    "row": "For a shift sequence: the row the employees follow (empty: the first).",
    "block_minutes": "Replaced stretches start on the clock's grid of this many minutes.",
    "value": "Of the kind chosen above.",
}
ENUM_LABELS = {
    "nothing": "Nothing (days that have content keep it)",
    "days_inserted": "The days the sequence fills",
    "whole_range": "Everything in the date range",
    "add": "Add",
    "delete": "Delete",
    "replace": "Replace",
    "contract": "Contract",
    "skill": "Skill",
    "planning_unit": "Planning unit",
    "shift_sequence": "Shift sequence",
}
MINUTE_ENUMS = frozenset({"start_step", "block_minutes"})
WORK = frozenset({ActivityType.PRESENCE, ActivityType.MEETING})


class WfmHints:
    """Hints for the forms of wfm's job types, from the data in ``lookups``."""

    def __init__(self, lookups: Lookups, today: date | None = None) -> None:
        self.lookups = lookups
        self.today = today

    def label(self, name: str, schema: Mapping[str, Any]) -> str:
        if name == "level" and not _is_level(schema):
            return "Skill level (%)"
        return LABELS.get(name) or str(schema.get("title") or name.replace("_", " ").capitalize())

    def help(self, name: str, schema: Mapping[str, Any]) -> str:
        if name == "employees":
            return f"{EVERYONE} {PICK_SEVERAL}" if schema.get("nullable") else PICK_SEVERAL
        if name == "levels":
            return PICK_SEVERAL
        if name == "level" and not _is_level(schema):
            return "For a skill: the level in percent (empty: 100)."
        return HELP.get(name, "")

    def choices(self, name: str, schema: Mapping[str, Any]) -> list[Choice] | None:
        data = self.lookups
        if name in LEVEL_FIELDS and _is_level(schema):
            allowed = {str(v) for v in schema.get("enum", [])}
            return [
                Choice(str(lv.id), f"{lv.id} {lv.name}")
                for lv in data.levels
                if not allowed or str(lv.id) in allowed
            ]
        if "enum" in schema:
            return [Choice(str(v), _enum_label(name, v)) for v in schema["enum"]]
        if name == "planning_unit":
            return [Choice(str(u.id), u.name) for u in data.planning_units]
        if name == "employees":
            return [Choice(str(e.id), e.name) for e in data.employees]
        if name == "from_activity":
            return [Choice(str(a.id), a.name) for a in data.activities if a.replaceable]
        if name == "to_activity":
            return [
                Choice(str(a.id), a.name) for a in data.activities if a.plannable and a.type in WORK
            ]
        if name in ("value", "new_value"):
            groups = (
                ("contract", data.contracts),
                ("skill", data.skills),
                ("planning_unit", data.planning_units),
                ("shift_sequence", data.sequences),
            )
            return [
                Choice(str(item.id), item.name, ENUM_LABELS[kind])
                for kind, items in groups
                for item in items
            ]
        return None

    def initial(self, name: str, schema: Mapping[str, Any]) -> FormValue | None:
        week = self.lookups.week(self.today)
        if name in ("start", "week", "valid_from"):
            return week.isoformat()
        if name == "end":
            return (week + timedelta(days=6)).isoformat()
        if name == "planning_unit" and self.lookups.planning_units:
            ids = [str(u.id) for u in self.lookups.planning_units]
            default = str(schema.get("default", ""))
            return default if default in ids else ids[0]
        return None

    def depends_on(self, name: str) -> str:
        return "kind" if name in ("value", "new_value") else ""


def _is_level(schema: Mapping[str, Any]) -> bool:
    values = schema.get("enum") or schema.get("items", {}).get("enum") or []
    return 1000 in values


def _enum_label(name: str, value: Any) -> str:
    if name in MINUTE_ENUMS:
        return f"{value} minutes"
    return ENUM_LABELS.get(str(value), str(value).replace("_", " ").capitalize())
