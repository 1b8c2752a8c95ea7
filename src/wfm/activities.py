"""Activities detached from the database, for code that plans and checks schedules."""

from __future__ import annotations

from dataclasses import dataclass

from wfm.model import Activity, ActivityType


@dataclass(frozen=True, slots=True)
class ActivityInfo:
    """An activity, detached from the database."""

    id: int
    code: str
    name: str
    type: ActivityType
    paid: bool
    plannable: bool
    replaceable: bool
    priority: int
    skill_id: int | None
    color: str

    @classmethod
    def from_model(cls, activity: Activity) -> ActivityInfo:
        return cls(
            id=activity.id,
            code=activity.code,
            name=activity.name,
            type=activity.type,
            paid=activity.paid,
            plannable=activity.plannable,
            replaceable=activity.replaceable,
            priority=activity.priority,
            skill_id=activity.skill_id,
            color=activity.color,
        )
