"""An independent checker of Curtois & Qu rosters: the hard rules and the objective.

Written from ``/work/shared/nrp/RULES.md`` alone, apart from the solver and from
``wfm.benchmark.instance``: it reads the instance text itself, so that a mistake in
the parser or the model cannot hide behind the same mistake here. A roster is
``{"employee id": ["D", "", ...]}``, one entry per day, "" for a day off.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Raw:
    """The instance as plain tables, read with no validation."""

    days: int = 0
    lengths: dict[str, int] = field(default_factory=dict)
    not_after: dict[str, set[str]] = field(default_factory=dict)
    staff: dict[str, list[str]] = field(default_factory=dict)
    days_off: dict[str, set[int]] = field(default_factory=dict)
    on: list[tuple[str, int, str, int]] = field(default_factory=list)
    off: list[tuple[str, int, str, int]] = field(default_factory=list)
    cover: list[tuple[int, str, int, int, int]] = field(default_factory=list)


def read(text: str) -> Raw:
    raw = Raw()
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("SECTION_"):
            section = line
            continue
        f = line.split(",")
        if section == "SECTION_HORIZON":
            raw.days = int(f[0])
        elif section == "SECTION_SHIFTS":
            raw.lengths[f[0]] = int(f[1])
            raw.not_after[f[0]] = {s for s in f[2].split("|") if s}
        elif section == "SECTION_STAFF":
            raw.staff[f[0]] = f[1:]
        elif section == "SECTION_DAYS_OFF":
            raw.days_off[f[0]] = {int(d) for d in f[1:]}
        elif section == "SECTION_SHIFT_ON_REQUESTS":
            raw.on.append((f[0], int(f[1]), f[2], int(f[3])))
        elif section == "SECTION_SHIFT_OFF_REQUESTS":
            raw.off.append((f[0], int(f[1]), f[2], int(f[3])))
        elif section == "SECTION_COVER":
            raw.cover.append((int(f[0]), f[1], int(f[2]), int(f[3]), int(f[4])))
    return raw


def _runs(worked: list[bool], value: bool) -> list[tuple[int, int]]:
    """Maximal runs of ``value`` as (first day, length)."""
    runs: list[tuple[int, int]] = []
    start = None
    for day, w in enumerate([*worked, not value]):
        if w == value and start is None:
            start = day
        elif w != value and start is not None:
            runs.append((start, day - start))
            start = None
    return runs


def violations(text: str, roster: dict[str, list[str]]) -> list[str]:
    """Every broken hard rule, as readable lines (empty: the roster is feasible)."""
    raw = read(text)
    out: list[str] = []
    if set(roster) != set(raw.staff):
        out.append(f"employees differ: {sorted(set(roster) ^ set(raw.staff))}")
    last = raw.days - 1
    for emp, spec in raw.staff.items():
        row = roster.get(emp, [])
        if len(row) != raw.days:
            out.append(f"{emp}: {len(row)} days, expected {raw.days}")
            continue
        for day, shift in enumerate(row):
            if shift and shift not in raw.lengths:
                out.append(f"{emp} day {day}: unknown shift {shift!r}")
        limits = dict(p.split("=") for p in spec[0].split("|"))
        for shift, most in limits.items():
            if row.count(shift) > int(most):
                out.append(f"{emp}: {row.count(shift)} x {shift} > {most}")
        minutes = sum(raw.lengths.get(s, 0) for s in row if s)
        if not int(spec[2]) <= minutes <= int(spec[1]):
            out.append(f"{emp}: {minutes} minutes outside [{spec[2]}, {spec[1]}]")
        for day in range(last):
            if row[day] and row[day + 1] in raw.not_after.get(row[day], set()):
                out.append(f"{emp} day {day}: {row[day + 1]} may not follow {row[day]}")
        worked = [bool(s) for s in row]
        for start, length in _runs(worked, True):
            if length > int(spec[3]):
                out.append(f"{emp}: {length} shifts in a row from day {start}")
            inner = start > 0 and start + length - 1 < last
            if inner and length < int(spec[4]):
                out.append(f"{emp}: only {length} shifts in a row from day {start}")
        for start, length in _runs(worked, False):
            inner = start > 0 and start + length - 1 < last
            if inner and length < int(spec[5]):
                out.append(f"{emp}: only {length} days off in a row from day {start}")
        weekends = sum(1 for k in range(raw.days // 7) if worked[7 * k + 5] or worked[7 * k + 6])
        if weekends > int(spec[6]):
            out.append(f"{emp}: {weekends} weekends > {spec[6]}")
        for day in raw.days_off.get(emp, set()):
            if worked[day]:
                out.append(f"{emp}: works on day off {day}")
    return out


def objective(text: str, roster: dict[str, list[str]]) -> int:
    """The benchmark's penalty of a roster (whether or not it is feasible)."""
    raw = read(text)
    total = 0
    for emp, day, shift, weight in raw.on:
        if roster[emp][day] != shift:
            total += weight
    for emp, day, shift, weight in raw.off:
        if roster[emp][day] == shift:
            total += weight
    for day, shift, required, under, over in raw.cover:
        working = sum(1 for row in roster.values() if row[day] == shift)
        if working < required:
            total += under * (required - working)
        else:
            total += over * (working - required)
    return total
