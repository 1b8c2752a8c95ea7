"""[mass_update] Mass update of employees: add / delete / replace an assignment."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from jobprocessor import JobContext, job
from wfm.assignments import Action, Change, Kind, apply, check_values
from wfm.db import write_session
from wfm.errors import WfmError
from wfm.jobs._runtime import job_database
from wfm.jobs.params import MAX_EMPLOYEES, PositiveId, differs_from
from wfm.model import Employee
from wfm.validity import Period


def _valid_to(value: date | None, info: ValidationInfo) -> date | None:
    start = info.data.get("valid_from")
    if value is not None and isinstance(start, date) and value < start:
        raise ValueError(f"must not be before valid_from ({start})")
    return value


def _new_value(value: int | None, info: ValidationInfo) -> int | None:
    if info.data.get("action") == Action.REPLACE and value is None:
        raise ValueError("replace needs the new value")
    if info.data.get("action") != Action.REPLACE and value is not None:
        raise ValueError("only replace takes a new value")
    return value


def _distinct(value: list[int]) -> list[int]:
    if len(set(value)) != len(value):
        raise ValueError("each employee may be named once")
    return value


@job(
    "wfm.mass_update",
    category="mass_update",
    title="Mass update: {action} {kind} {value} from {valid_from}",
    lock="wfm:assignments",
)
def mass_update_job(
    ctx: JobContext,
    employees: Annotated[
        list[PositiveId], Field(min_length=1, max_length=MAX_EMPLOYEES), AfterValidator(_distinct)
    ],
    action: Action,
    kind: Kind,
    value: PositiveId,
    valid_from: date,
    valid_to: Annotated[date | None, AfterValidator(_valid_to)] = None,
    new_value: Annotated[
        PositiveId | None,
        AfterValidator(_new_value),
        differs_from("value"),
        Field(validate_default=True),
    ] = None,
    level: Annotated[int | None, Field(ge=1, le=100)] = None,
    row: Annotated[int | None, Field(ge=0)] = None,
) -> dict[str, Any]:
    """Adds, deletes or replaces an assignment (contract, skill, planning unit or shift
    sequence) of each employee for the validity period ``valid_from``..``valid_to``
    (open-ended without ``valid_to``); other periods stay as they were."""
    change = Change(action, kind, value, Period(valid_from, valid_to), new_value, level, row)
    with job_database(ctx) as (engine, run), write_session(engine) as session:
        check_values(session, change)
        loaded = {
            e.id: e
            for e in session.scalars(
                select(Employee)
                .where(Employee.id.in_(employees))
                .options(
                    selectinload(Employee.contracts),
                    selectinload(Employee.skills),
                    selectinload(Employee.planning_units),
                    selectinload(Employee.shift_sequences),
                )
            )
        }
        missing = [i for i in employees if i not in loaded]
        if missing:
            raise WfmError(f"employees: {', '.join(map(str, missing))} do not exist")
        run.step(
            "%s %s %d for %s, %d employees", action, kind, value, change.period, len(employees)
        )
        changed = 0
        for index, employee_id in enumerate(employees):
            run.check_canceled()
            employee = loaded[employee_id]
            if apply(session, employee, change):
                changed += 1
            else:
                run.warning(
                    "%s (%s) has no %s %d from %s: nothing to %s",
                    employee.name,
                    employee.number,
                    kind.replace("_", " "),
                    value,
                    change.period,
                    action,
                    kind="nothing",
                )
            run.progress(index + 1, len(employees), f"employee {index + 1} of {len(employees)}")
        session.flush()
        run.check_canceled()
        run.step("%d employees changed, %d unchanged", changed, len(employees) - changed)
    return {"changed": changed, "unchanged": len(employees) - changed}
