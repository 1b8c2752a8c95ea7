"""Reading Curtois & Qu instances: the six published files, and bad input named by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfm.benchmark.instance import InstanceError, parse_instance

INSTANCES = Path("/work/shared/nrp/instances")

SMALL = """# comment
SECTION_HORIZON
14

SECTION_SHIFTS
E,480,
L,540,E

SECTION_STAFF
A,E=14|L=3,4800,960,5,2,2,1
B,E=0|L=14,4800,0,4,1,1,2

SECTION_DAYS_OFF
A,0,13

SECTION_SHIFT_ON_REQUESTS
B,3,L,2

SECTION_SHIFT_OFF_REQUESTS
A,4,E,3

SECTION_COVER
0,E,1,100,1
0,L,2,100,1
"""


def _bad(text: str, line: int, field: str) -> None:
    with pytest.raises(InstanceError) as caught:
        parse_instance(text)
    assert (caught.value.line, caught.value.field) == (line, field)
    assert f"line {line}: {field}:" in str(caught.value)


def test_small_instance_is_read_field_by_field() -> None:
    instance = parse_instance(SMALL)
    assert instance.days == 14
    assert instance.weeks == 2
    assert [(s.id, s.minutes, s.cannot_follow) for s in instance.shifts] == [
        ("E", 480, frozenset()),
        ("L", 540, frozenset({"E"})),
    ]
    a, b = instance.staff
    assert dict(a.max_shifts) == {"E": 14, "L": 3}
    assert (a.max_total_minutes, a.min_total_minutes) == (4800, 960)
    assert (a.max_consecutive_shifts, a.min_consecutive_shifts) == (5, 2)
    assert (a.min_consecutive_days_off, a.max_weekends) == (2, 1)
    assert b.max_shifts["E"] == 0
    assert dict(instance.days_off) == {"A": frozenset({0, 13})}
    assert [(r.employee, r.day, r.shift, r.weight) for r in instance.on_requests] == [
        ("B", 3, "L", 2)
    ]
    assert [(r.employee, r.day, r.shift, r.weight) for r in instance.off_requests] == [
        ("A", 4, "E", 3)
    ]
    assert [(c.day, c.shift, c.requirement) for c in instance.cover] == [(0, "E", 1), (0, "L", 2)]
    assert instance.shift("L").minutes == 540


@pytest.mark.parametrize(
    ("number", "days", "shifts", "staff", "on", "off"),
    [
        (1, 14, 1, 8, 21, 5),
        (2, 14, 2, 14, None, None),
        (3, 14, 3, 20, None, None),
        (4, 28, 2, 10, None, None),
        (11, 28, 6, 50, None, None),
        (12, 28, 10, 60, None, None),
    ],
)
def test_published_instances_are_read_whole(
    number: int, days: int, shifts: int, staff: int, on: int | None, off: int | None
) -> None:
    text = (INSTANCES / f"Instance{number}.txt").read_text()
    instance = parse_instance(text)
    assert instance.days == days
    assert len(instance.shifts) == shifts
    # Every (day, shift) has exactly one cover row (RULES.md).
    assert len(instance.cover) == days * shifts
    if on is not None:
        assert (len(instance.on_requests), len(instance.off_requests)) == (on, off)
    assert all(set(s.max_shifts) == {sh.id for sh in instance.shifts} for s in instance.staff)
    assert len(instance.staff) == staff


@pytest.mark.parametrize(
    ("old", "new", "line", "field"),
    [
        ("14\n", "fourteen\n", 3, "horizon"),
        ("14\n", "15\n", 3, "horizon"),
        ("L,540,E", "L,-5,E", 7, "minutes"),
        ("L,540,E", "L,540,X", 7, "cannot follow"),
        ("L,540,E", "E,540,", 7, "id"),
        ("E=14|L=3", "E=14|Q=3", 10, "max shifts"),
        ("E=14|L=3", "E=14", 10, "max shifts"),
        ("4800,960,5", "4800,960,x", 10, "max consecutive shifts"),
        ("4800,960,5,2,2,1", "4800,960,5,2,2", 10, "staff"),
        ("4800,960", "900,960", 10, "min total minutes"),
        ("A,0,13", "A,0,14", 14, "day"),
        ("A,0,13", "Z,0,13", 14, "employee"),
        ("B,3,L,2", "B,3,N,2", 17, "shift"),
        ("A,4,E,3", "A,4,E,-3", 20, "weight"),
        ("0,L,2,100,1", "0,E,2,100,1", 24, "cover"),
        ("0,L,2,100,1", "0,L,2,100", 24, "cover"),
        ("0,L,2,100,1", "0,L,two,100,1", 24, "requirement"),
        ("SECTION_COVER", "SECTION_COVERS", 22, "section"),
    ],
)
def test_bad_input_names_line_and_field(old: str, new: str, line: int, field: str) -> None:
    assert old in SMALL
    _bad(SMALL.replace(old, new, 1), line, field)


def test_data_before_any_section_is_refused() -> None:
    _bad("14\n" + SMALL, 1, "section")


def test_a_missing_section_is_named() -> None:
    with pytest.raises(InstanceError, match="SECTION_COVER: missing section"):
        parse_instance(SMALL.split("SECTION_COVER")[0])
