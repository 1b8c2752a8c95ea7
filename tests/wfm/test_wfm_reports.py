"""Report jobs: their files open (CSV parses, XLSX loads with openpyxl, PNG is a PNG)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from wfm_data import MONDAY


@pytest.fixture
def scheduled(tiny, run_job):
    run_job(
        "wfm.insert_shift_sequences", planning_unit=tiny.unit, start=str(MONDAY), end="2026-01-18"
    )
    return tiny


def test_coverage_report_files_open(scheduled, run_job) -> None:
    done = run_job(
        "wfm.report.coverage", planning_unit=scheduled.unit, start=str(MONDAY), end="2026-01-11"
    )
    rows = list(csv.DictReader(io.StringIO(done.artifact("coverage.csv").decode())))
    assert rows[0].keys() == {"Interval", "Activity", "Required", "Scheduled", "Difference"}
    nine = next(r for r in rows if r["Interval"] == "2026-01-05 09:00")
    assert (nine["Required"], nine["Scheduled"]) == ("2.00", "1.00")  # A alone on Monday
    book = openpyxl.load_workbook(io.BytesIO(done.artifact("coverage.xlsx")))
    assert book.sheetnames == ["Intervals", "Summary"]
    assert done.artifact("coverage.png").startswith(b"\x89PNG")
    assert "data:image/png;base64" in done.artifact("report.html").decode()
    assert 0 < done.result["coverage_pct"] < 100


def test_weekly_schedule_and_absence_reports(scheduled, run_job) -> None:
    weekly = run_job("wfm.report.weekly_schedule", planning_unit=scheduled.unit, week=str(MONDAY))
    rows = list(csv.reader(io.StringIO(weekly.artifact("weekly-schedule.csv").decode())))
    assert rows[1][:4] == ["A", "A Tester", "08:00-16:30 Phone", "08:00-16:30 Phone"]
    assert rows[2][5] == "Vacation"
    openpyxl.load_workbook(io.BytesIO(weekly.artifact("weekly-schedule.xlsx")))
    absences = run_job(
        "wfm.report.absences", planning_unit=scheduled.unit, start=str(MONDAY), end="2026-01-18"
    )
    assert absences.result["days"] == {"Vacation": 1}
    table = list(csv.DictReader(io.StringIO(absences.artifact("absences.csv").decode())))
    assert [r["Total days"] for r in table] == ["0", "1", "0"]
    openpyxl.load_workbook(io.BytesIO(absences.artifact("absences.xlsx")))
