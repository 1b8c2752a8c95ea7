"""Exact level content after insert shift sequences, copy, empty and replace (both databases)."""

from __future__ import annotations

import pytest
from wfm_data import level_content, shift

from jobprocessor import InvalidInput
from jobprocessor.registry import registry
from wfm.errors import WfmError

WEEKS = {"start": "2026-01-05", "end": "2026-01-18"}
VACATION = ("B", "01-08 00:00", "01-09 00:00", "VAC")
MEETING = ("A", "01-07 00:00", "01-08 00:00", "MEET")
INSERTED = [
    *shift("A", "01-05", "08:00"),
    *shift("A", "01-06", "08:00"),
    MEETING,
    *shift("A", "01-12", "09:00"),
    VACATION,
]


def insert(run_job, tiny, **extra):
    return run_job("wfm.insert_shift_sequences", planning_unit=tiny.unit, **{**WEEKS, **extra})


def test_insert_writes_the_pattern_and_keeps_full_day_absences(engine, tiny, run_job) -> None:
    done = insert(run_job, tiny)
    assert level_content(engine, 1000) == INSERTED
    assert done.result["shifts"] == 4
    assert done.result["absence_days_kept"] == 1
    assert any("C Tester (C) follows no shift sequence" in line for line in done.lines("WARNING"))
    again = insert(run_job, tiny)  # whole_range: the same content again, not twice
    assert level_content(engine, 1000) == INSERTED
    assert again.result["deleted"] == len(INSERTED) - 1


def test_insert_with_delete_nothing_keeps_days_that_have_content(engine, tiny, run_job) -> None:
    insert(run_job, tiny, start="2026-01-07", end="2026-01-07", level=8000)
    run_job(
        "wfm.replace_activities",
        planning_unit=tiny.unit,
        levels=[8000],
        start="2026-01-07",
        end="2026-01-07",
        from_activity=tiny.activity["MEET"],
        to_activity=tiny.activity["BACK"],
    )
    done = insert(run_job, tiny, level=8000, delete="nothing")
    back_office = ("A", "01-07 00:00", "01-08 00:00", "BACK")
    assert level_content(engine, 8000) == [
        *shift("A", "01-05", "08:00"),
        *shift("A", "01-06", "08:00"),
        back_office,
        *shift("A", "01-12", "09:00"),
        *shift("B", "01-08", "08:00"),  # no vacation in 8000
    ]
    assert done.result["days_kept"] == 1


def test_copy_to_another_level_and_date_overwrites_the_target(engine, tiny, run_job) -> None:
    insert(run_job, tiny)
    insert(run_job, tiny, level=8001)  # the target's old content must go
    run_job(
        "wfm.copy_level",
        planning_unit=tiny.unit,
        source=1000,
        target=8001,
        start="2026-01-05",
        end="2026-01-11",
        new_start="2026-01-12",
    )
    # Week 2 of 8001 is the copy of week 1 of 1000; week 1 of 8001 is its own.
    assert level_content(engine, 8001) == [
        *shift("A", "01-05", "08:00"),
        *shift("A", "01-06", "08:00"),
        MEETING,
        *shift("A", "01-12", "08:00"),
        *shift("A", "01-13", "08:00"),
        ("A", "01-14 00:00", "01-15 00:00", "MEET"),
        *shift("B", "01-08", "08:00"),
        ("B", "01-15 00:00", "01-16 00:00", "VAC"),
    ]
    assert level_content(engine, 1000) == INSERTED


def test_copy_can_empty_the_source(engine, tiny, run_job) -> None:
    insert(run_job, tiny)
    done = run_job(
        "wfm.copy_level",
        planning_unit=tiny.unit,
        source=1000,
        target=8002,
        empty_source=True,
        **WEEKS,
    )
    assert level_content(engine, 8002) == INSERTED
    assert level_content(engine, 1000) == []
    assert done.result == {
        "copied": len(INSERTED),
        "overwritten": 0,
        "source_emptied": len(INSERTED),
    }


def test_empty_levels_for_dates_and_employees(engine, tiny, run_job) -> None:
    insert(run_job, tiny)
    run_job(
        "wfm.empty_levels",
        planning_unit=tiny.unit,
        levels=[1000],
        start="2026-01-06",
        end="2026-01-18",
        employees=[tiny.a],
    )
    assert level_content(engine, 1000) == [*shift("A", "01-05", "08:00"), VACATION]
    run_job(
        "wfm.empty_levels",
        planning_unit=tiny.unit,
        levels=[1000, 3000],
        keep_full_day_absences=True,
        **WEEKS,
    )
    assert level_content(engine, 1000) == [VACATION]


def test_replace_activities_in_levels_dates_and_employees(engine, tiny, run_job) -> None:
    insert(run_job, tiny)
    done = run_job(
        "wfm.replace_activities",
        planning_unit=tiny.unit,
        levels=[1000],
        start="2026-01-07",
        end="2026-01-07",
        from_activity=tiny.activity["MEET"],
        to_activity=tiny.activity["BACK"],
    )
    assert done.result["replaced"] == {"1000": 1}
    assert level_content(engine, 1000) == [
        e if e != MEETING else ("A", "01-07 00:00", "01-08 00:00", "BACK") for e in INSERTED
    ]


def test_replace_refuses_an_activity_that_is_not_replaceable(engine, tiny, run_job) -> None:
    insert(run_job, tiny)
    with pytest.raises(WfmError, match="from_activity: Phone is not replaceable"):
        run_job(
            "wfm.replace_activities",
            planning_unit=tiny.unit,
            levels=[1000],
            **WEEKS,
            from_activity=tiny.activity["PHONE"],
            to_activity=tiny.activity["BACK"],
        )
    assert level_content(engine, 1000) == INSERTED


@pytest.mark.parametrize(
    ("name", "params", "field", "message"),
    [
        (
            "wfm.empty_levels",
            {"levels": [1000], "start": "2026-01-05", "end": "2026-01-04"},
            "end",
            "must not be before start",
        ),
        (
            "wfm.empty_levels",
            {"levels": [1000], "start": "2026-01-05", "end": "2026-06-01"},
            "end",
            "at most 56 days",
        ),
        (
            "wfm.empty_levels",
            {"levels": [1001], "start": "2026-01-05", "end": "2026-01-05"},
            "levels.0",
            "level 1001 does not exist",
        ),
        (
            "wfm.copy_level",
            {"source": 1000, "target": 1000, "start": "2026-01-05", "end": "2026-01-11"},
            "new_start",
            "needs a new start date",
        ),
        (
            "wfm.replace_activities",
            {
                "levels": [1000],
                "start": "2026-01-05",
                "end": "2026-01-05",
                "from_activity": 3,
                "to_activity": 3,
            },
            "to_activity",
            "must differ from from_activity",
        ),
        ("wfm.create_optimized_schedule", {"start": "2026-01-06"}, "start", "weekly planning"),
        ("wfm.create_optimized_schedule", {"start": "2026-01-05", "weeks": 9}, "weeks", "4"),
    ],
)
def test_settings_are_checked_at_submission(name, params, field, message) -> None:
    with pytest.raises(InvalidInput) as caught:
        registry.get(name).validate(params)
    assert field in caught.value.fields
    assert message in caught.value.fields[field]


def test_run_start_checks_name_what_is_missing(engine, tiny, run_job) -> None:
    with pytest.raises(WfmError, match="employees: 999 do not exist"):
        run_job(
            "wfm.empty_levels", planning_unit=tiny.unit, levels=[1000], employees=[999], **WEEKS
        )
    with pytest.raises(WfmError, match="planning unit 77 does not exist"):
        run_job("wfm.empty_levels", planning_unit=77, levels=[1000], **WEEKS)
