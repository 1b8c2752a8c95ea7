"""wfm's domain model (SQLAlchemy ORM), one concept per module."""

from wfm.model.activities import Activity, ActivityType, Skill
from wfm.model.base import Base
from wfm.model.benchmark import BenchmarkInstance
from wfm.model.organisation import (
    Contract,
    ContractDayModelLimit,
    Employee,
    EmployeeContract,
    EmployeePlanningUnit,
    EmployeeShiftSequence,
    EmployeeSkill,
    EmployeeWish,
    PlanningPeriod,
    PlanningUnit,
)
from wfm.model.planning import (
    BreakRule,
    DayModel,
    ForbiddenSuccession,
    ShiftSequence,
    ShiftSequenceCell,
)
from wfm.model.schedule import (
    LEVEL_NAMES,
    Level,
    LevelNumber,
    ScheduleEntry,
    StaffRequirement,
)

__all__ = [
    "LEVEL_NAMES",
    "Activity",
    "ActivityType",
    "Base",
    "BenchmarkInstance",
    "BreakRule",
    "Contract",
    "ContractDayModelLimit",
    "DayModel",
    "Employee",
    "EmployeeContract",
    "EmployeePlanningUnit",
    "EmployeeShiftSequence",
    "EmployeeSkill",
    "EmployeeWish",
    "ForbiddenSuccession",
    "Level",
    "LevelNumber",
    "PlanningPeriod",
    "PlanningUnit",
    "ScheduleEntry",
    "ShiftSequence",
    "ShiftSequenceCell",
    "Skill",
    "StaffRequirement",
]
