"""Job optimization: exact results on hand-made data (both databases).

The tiny data's day model D has a 15-minute break (corridor 120-180 minutes into the
shift) and a 30-minute lunch (240-300); Phone needs 2 people from 09:00 to 17:00.
Here Monday needs only 1 at 10:00 and 12:00-12:30, so a break there costs nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import update
from wfm_data import MONDAY, at, level_content, shift

from jobprocessor import InvalidInput, JobCanceled
from jobprocessor.context import JobContext
from jobprocessor.registry import registry
from jobprocessor.worker.messages import FromJob, LogEntry, MessageReporter
from wfm.coverage import scheduled_counts, summarize
from wfm.db import read_session, write_session
from wfm.demo.generate import seed
from wfm.model import Activity, ActivityType, EmployeeSkill, ScheduleEntry, StaffRequirement
from wfm.snapshot import load_snapshot

JOB = "wfm.job_optimization"
MONDAY_ONLY = {"start": "2026-01-05", "end": "2026-01-07"}
TRAINING = ("C", "01-05 11:00", "01-05 12:00", "TRAIN")
MEETING_DAY = ("A", "01-07 00:00", "01-08 00:00", "MEET")
OFF_GRID = ("C", "01-06 09:10", "01-06 12:00", "BACK")
A_OPTIMIZED = [
    ("A", "01-05 08:00", "01-05 10:00", "PHONE"),
    ("A", "01-05 10:00", "01-05 10:15", "BREAK"),
    ("A", "01-05 10:15", "01-05 12:00", "PHONE"),
    ("A", "01-05 12:00", "01-05 12:30", "LUNCH"),
    ("A", "01-05 12:30", "01-05 16:30", "PHONE"),
]
C_BEFORE = [
    ("C", "01-05 09:00", "01-05 11:00", "BACK"),
    TRAINING,
    ("C", "01-05 12:00", "01-05 13:00", "BACK"),
]


@pytest.fixture
def planned(engine, tiny):
    """Monday: A and B on D at 08:00 with breaks in the middle of their corridors (both at
    once), C on back office around a training; a day-long meeting; an off-grid shift."""
    with write_session(engine) as s:
        training = Activity(
            code="TRAIN", name="Training", type=ActivityType.MEETING, replaceable=False
        )
        s.add(training)
        s.flush()
        codes = {**tiny.activity, "TRAIN": training.id}
        for number, employee in (("A", tiny.a), ("B", tiny.b)):
            for _, begin, finish, code in shift(number, "01-05", "08:00"):
                s.add(entry(employee, begin, finish, codes[code], tiny.day_model))
        for _, begin, finish, code in [*C_BEFORE, OFF_GRID]:
            s.add(entry(tiny.c, begin, finish, codes[code]))
        s.add(entry(tiny.a, MEETING_DAY[1], MEETING_DAY[2], codes["MEET"]))
        for minute in (10 * 60, 12 * 60, 12 * 60 + 15):
            s.execute(
                update(StaffRequirement)
                .where(StaffRequirement.start == at(MONDAY, minute))
                .values(required=1.0)
            )
    return level_content(engine, 1000)


def entry(employee: int, begin: str, finish: str, activity: int, model: int | None = None):
    start, end = moment(begin), moment(finish)
    return ScheduleEntry(
        level=1000,
        employee_id=employee,
        day=start.date(),
        start=start,
        end=end,
        activity_id=activity,
        day_model_id=model,
    )


def moment(text: str):
    month_day, clock = text.split()
    hours, minutes = map(int, clock.split(":"))
    day = date(2026, int(month_day[:2]), int(month_day[3:]))
    return at(day, hours * 60 + minutes)


def rows_of(content, number: str, day: str = "01-05"):
    return [row for row in content if row[0] == number and row[1].startswith(day)]


def spans(content) -> dict[tuple[str, str], tuple[str, str]]:
    """(employee, day) → (first start, last end): what job optimization never changes."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for number, begin, finish, _ in content:
        found[(number, begin[:5])] += [begin, finish]
    return {key: (min(times), max(times)) for key, times in found.items()}


def test_breaks_move_and_back_office_covers_the_gaps(engine, tiny, planned, run_job) -> None:
    done = run_job(JOB, planning_unit=tiny.unit, **MONDAY_ONLY)

    after = level_content(engine, 1000)
    assert rows_of(after, "A") == A_OPTIMIZED
    assert rows_of(after, "B") == shift("B", "01-05", "08:00")  # as good where it is
    assert rows_of(after, "C") == [
        ("C", "01-05 09:00", "01-05 10:30", "BACK"),
        ("C", "01-05 10:30", "01-05 11:00", "PHONE"),  # B's break
        TRAINING,  # not replaceable: untouched
        ("C", "01-05 12:00", "01-05 12:30", "BACK"),
        ("C", "01-05 12:30", "01-05 13:00", "PHONE"),  # B's lunch
    ]
    assert MEETING_DAY in after  # a day-long entry is not a shift
    assert OFF_GRID in after
    assert spans(after) == spans(planned)
    # Monday needs 61 people-intervals (3 of them at 1), Tuesday and Wednesday 64 each.
    assert done.result["before"]["required_hours"] == 47.25
    assert done.result["before"]["met_hours"] == 12.75  # 10 missing on Monday
    assert done.result["after"]["met_hours"] == 14.25  # only 16:30-17:00 is short
    assert (done.result["shifts"], done.result["shifts_changed"]) == (3, 2)
    assert done.result["breaks_moved"] == 2
    assert done.result["replaced_hours"] == {"Back office > Phone": 1.0}
    warnings = done.lines("WARNING")
    assert warnings == [
        "C Tester (C) on 2026-01-06: shift left as it was, "
        "its entries are not on the 15-minute grid"
    ]
    steps = "\n".join(done.lines("INFO"))
    assert "Replaced 1.00 h of Back office by Phone" in steps
    assert "Coverage 27.0 % before, 30.2 % after" in steps


def test_breaks_stay_in_their_corridors_and_phone_time_is_kept(
    engine, tiny, planned, run_job
) -> None:
    run_job(JOB, planning_unit=tiny.unit, **MONDAY_ONLY)
    after = level_content(engine, 1000)
    for number in ("A", "B"):
        mine = rows_of(after, number)
        start = moment(mine[0][1])
        offsets = {
            code: (moment(begin) - start) / timedelta(minutes=1)
            for _, begin, _, code in mine
            if code in ("BREAK", "LUNCH")
        }
        assert 120 <= offsets["BREAK"] <= 180
        assert 240 <= offsets["LUNCH"] <= 300

        def phone_minutes(rows):
            return sum(
                (moment(end) - moment(begin)) / timedelta(minutes=1)
                for _, begin, end, code in rows
                if code == "PHONE"
            )

        assert phone_minutes(mine) == phone_minutes(rows_of(planned, number))


def test_only_the_chosen_employees_change_and_options_limit_the_moves(
    engine, tiny, planned, run_job
) -> None:
    done = run_job(JOB, planning_unit=tiny.unit, employees=[tiny.a], **MONDAY_ONLY)
    after = level_content(engine, 1000)
    assert rows_of(after, "A") == A_OPTIMIZED
    assert [row for row in after if row[0] != "A"] == [row for row in planned if row[0] != "A"]
    assert done.result["replaced_hours"] == {}

    run_job(JOB, planning_unit=tiny.unit, move_breaks=False, block_minutes=15, **MONDAY_ONLY)
    again = level_content(engine, 1000)
    assert rows_of(again, "B") == shift("B", "01-05", "08:00")
    # A's breaks now sit apart from B's: back office covers B's break and lunch only.
    assert rows_of(again, "C") == [
        ("C", "01-05 09:00", "01-05 10:30", "BACK"),
        ("C", "01-05 10:30", "01-05 10:45", "PHONE"),
        ("C", "01-05 10:45", "01-05 11:00", "BACK"),
        TRAINING,
        ("C", "01-05 12:00", "01-05 12:30", "BACK"),
        ("C", "01-05 12:30", "01-05 13:00", "PHONE"),
    ]


def test_back_office_turns_only_into_what_the_employee_is_skilled_for(
    engine, tiny, planned, run_job
) -> None:
    with write_session(engine) as s:
        s.execute(update(EmployeeSkill).where(EmployeeSkill.employee_id == tiny.c).values(level=50))
    options = {"planning_unit": tiny.unit, "move_breaks": False, **MONDAY_ONLY}
    done = run_job(JOB, min_skill_level=60, **options)
    assert (done.result["shifts_changed"], done.result["replaced_hours"]) == (0, {})
    assert level_content(engine, 1000) == planned

    done = run_job(JOB, min_skill_level=50, **options)
    assert done.result["replaced_hours"] == {"Back office > Phone": 1.0}
    assert rows_of(level_content(engine, 1000), "C") == [
        ("C", "01-05 09:00", "01-05 10:30", "BACK"),
        ("C", "01-05 10:30", "01-05 11:00", "PHONE"),
        TRAINING,
        ("C", "01-05 12:00", "01-05 12:30", "BACK"),
        ("C", "01-05 12:30", "01-05 13:00", "PHONE"),
    ]


def test_a_cancel_while_saving_leaves_the_level_as_it_was(engine, tiny, planned) -> None:
    job_type = registry.get(JOB)
    stored = job_type.validate({"planning_unit": tiny.unit, **MONDAY_ONLY})
    ctx: JobContext

    def send(message: FromJob) -> None:
        if isinstance(message, LogEntry) and message.message.startswith("Saving"):
            ctx.request_cancel()  # arrives after the job started writing

    ctx = JobContext(uuid.uuid4().int % 10_000, stored, "tester", MessageReporter(send))
    with pytest.raises(JobCanceled):
        job_type.function(ctx, **job_type.load(stored))
    assert level_content(engine, 1000) == planned


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-01-07", "end": "2026-01-05"}, "end"),
        ({**MONDAY_ONLY, "replace_activities": False, "move_breaks": False}, "move_breaks"),
        ({**MONDAY_ONLY, "block_minutes": 20}, "block_minutes"),
        ({**MONDAY_ONLY, "level": 1234}, "level"),
        ({**MONDAY_ONLY, "min_skill_level": 0}, "min_skill_level"),
    ],
)
def test_bad_settings_name_the_field(params, field) -> None:
    with pytest.raises(InvalidInput) as refused:
        registry.get(JOB).validate(params)
    assert list(refused.value.fields) == [field]


def test_demo_week_coverage_improves_inside_the_same_shifts(engine, run_job) -> None:
    demo = seed(engine, start=MONDAY, weeks=1)
    before = level_content(engine, 1000)
    done = run_job(JOB, start=str(demo.start), end=str(demo.end))
    after = level_content(engine, 1000)
    assert spans(after) == spans(before)
    assert done.result["after"]["coverage_pct"] > done.result["before"]["coverage_pct"]
    assert done.result["breaks_moved"] > 0
    assert done.result["replaced_hours"]
    with read_session(engine) as session:
        snap = load_snapshot(session, demo.planning_unit_id, demo.start, demo.end, level=1000)
    again = summarize(snap.requirements, scheduled_counts(snap.entries, demo.start, demo.end))
    assert round(again.coverage_pct, 2) == done.result["after"]["coverage_pct"]
