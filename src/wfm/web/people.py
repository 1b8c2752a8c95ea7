"""The Employees page's table: each employee's assignments on one day.

A mass update changes assignments for a validity period; the table shows what holds
on the day chosen, so a planner sees the effect of a finished mass update there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select
from sqlalchemy.orm import selectinload

from wfm.db import read_session
from wfm.model import (
    Employee,
    EmployeeContract,
    EmployeePlanningUnit,
    EmployeeShiftSequence,
    EmployeeSkill,
)


@dataclass(frozen=True)
class EmployeeRow:
    """One employee's assignments valid on the day shown."""

    id: int
    number: str
    name: str
    contract: str
    planning_unit: str
    skills: str
    shift_sequence: str


def employee_rows(engine: Engine, day: date) -> list[EmployeeRow]:
    """Every employee, by number, with the assignments that hold on ``day``."""
    with read_session(engine) as session:
        employees = session.scalars(
            select(Employee)
            .order_by(Employee.number)
            .options(
                selectinload(Employee.contracts).selectinload(EmployeeContract.contract),
                selectinload(Employee.skills).selectinload(EmployeeSkill.skill),
                selectinload(Employee.planning_units).selectinload(
                    EmployeePlanningUnit.planning_unit
                ),
                selectinload(Employee.shift_sequences).selectinload(
                    EmployeeShiftSequence.shift_sequence
                ),
            )
        )
        rows = []
        for employee in employees:
            contract = next((a for a in employee.contracts if a.valid_on(day)), None)
            unit = next((a for a in employee.planning_units if a.valid_on(day)), None)
            sequence = next((a for a in employee.shift_sequences if a.valid_on(day)), None)
            skills = sorted((a.skill.name, a.level) for a in employee.skills if a.valid_on(day))
            rows.append(
                EmployeeRow(
                    id=employee.id,
                    number=employee.number,
                    name=employee.name,
                    contract=contract.contract.name if contract else "",
                    planning_unit=unit.planning_unit.name if unit else "",
                    skills=", ".join(f"{name} {level} %" for name, level in skills),
                    shift_sequence=(
                        f"{sequence.shift_sequence.name}, row {sequence.row}" if sequence else ""
                    ),
                )
            )
        return rows
