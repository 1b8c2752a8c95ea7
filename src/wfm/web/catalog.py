"""Which job starts from which page, under which name, and the forms the pages show.

The JobProcessor page never starts a job; these pages do: Scheduling (injixo's
scheduling actions, in its order), Reports and Employees (the mass update).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from jobprocessor.registry import JobType
from wfm.web.forms import Answers, FormField, Hints, build_fields

Page = Literal["scheduling", "reports", "employees"]


@dataclass(frozen=True)
class Action:
    """A job type as a page offers it."""

    type: str
    title: str
    page: Page


ACTIONS = (
    Action("wfm.insert_shift_sequences", "Insert shift sequences", "scheduling"),
    Action("wfm.create_optimized_schedule", "Create optimized schedule", "scheduling"),
    Action("wfm.job_optimization", "Job optimization", "scheduling"),
    Action("wfm.replace_activities", "Replace activities", "scheduling"),
    Action("wfm.empty_levels", "Empty levels", "scheduling"),
    Action("wfm.copy_level", "Copy level content", "scheduling"),
    Action("wfm.report.weekly_schedule", "Weekly schedule", "reports"),
    Action("wfm.report.coverage", "Coverage", "reports"),
    Action("wfm.report.absences", "Absence statistics", "reports"),
    Action("wfm.mass_update", "Mass update of employees", "employees"),
)
BY_TYPE = {action.type: action for action in ACTIONS}
#: Each page's heading, address and what it says about its jobs.
PAGES: dict[Page, tuple[str, str, str]] = {
    "scheduling": (
        "Scheduling",
        "/wfm/scheduling",
        "Fill, optimize, copy and clean up the levels of a planning unit's schedule.",
    ),
    "reports": (
        "Reports",
        "/wfm/reports",
        "Each report is written as a page, a CSV and an XLSX file in the job's report.",
    ),
    "employees": (
        "Employees",
        "/wfm/employees",
        "Add, delete or replace a contract, skill, planning unit or shift sequence "
        "of many employees at once, for a validity period.",
    ),
}


@dataclass
class JobForm:
    """A form that starts one job type."""

    action: Action
    summary: str
    fields: list[FormField]
    errors: list[str] = field(default_factory=list)
    open: bool = False

    @property
    def anchor(self) -> str:
        return self.action.type.replace(".", "-").replace("_", "-")


@dataclass(frozen=True)
class Submitted:
    """Answers the service refused, to be shown again with their errors."""

    type: str
    answers: Answers
    errors: dict[str, str]
    general: list[str]


def summary(job_type: JobType) -> str:
    """The first paragraph of the job function's docstring, on one line."""
    return " ".join(job_type.description.split("\n\n", 1)[0].replace("``", "").split())


def page_forms(
    page: Page,
    types: dict[str, JobType],
    hints: Hints,
    *,
    submitted: Submitted | None = None,
    open_type: str | None = None,
) -> list[JobForm]:
    """The forms of a page; the one submitted (or asked for) is open."""
    forms = []
    for action in ACTIONS:
        job_type = types.get(action.type)
        if action.page != page or job_type is None:
            continue
        again = submitted if submitted is not None and submitted.type == action.type else None
        forms.append(
            JobForm(
                action=action,
                summary=summary(job_type),
                fields=build_fields(
                    job_type.params_schema(),
                    hints,
                    again.answers if again else None,
                    again.errors if again else None,
                ),
                errors=again.general if again else [],
                open=again is not None or action.type == open_type,
            )
        )
    if forms and not any(f.open for f in forms) and len(forms) == 1:
        forms[0].open = True
    return forms
