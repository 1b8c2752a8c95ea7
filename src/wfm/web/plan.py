"""The schedule view of a level: each employee's day or week, and coverage against the
requirements per 15-minute interval.

Built from the same snapshot and coverage code the jobs use, so that the view, the
coverage report and job optimization count people the same way. Pure: no database,
no web; ``wfm.web.plan_page`` reads the snapshot and renders this.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Literal

from wfm.activities import ActivityInfo
from wfm.calendar import INTERVAL, at_minute, days
from wfm.coverage import CoverageSummary, scheduled_counts, summarize
from wfm.model import ActivityType
from wfm.shifts import Placed
from wfm.snapshot import Snapshot, Wish

Span = Literal["week", "day"]
#: Hours shown when neither requirements nor entries say more.
DEFAULT_HOURS = (7, 20)


@dataclass(frozen=True)
class Run:
    """Consecutive quarter-hours of one activity (or none) in a day's timeline."""

    columns: int
    activity_id: int | None
    label: str
    title: str


@dataclass(frozen=True)
class WishMark:
    """An employee's wish shown in the day's cell: granted by the level or not."""

    text: str
    granted: bool
    title: str


@dataclass(frozen=True)
class DayCell:
    """One employee's day in the week view."""

    text: str
    detail: str
    activity_id: int | None
    title: str
    wishes: tuple[WishMark, ...] = ()


@dataclass
class Line:
    """One employee's row: a week of day cells, or a day's timeline."""

    number: str
    name: str
    paid_hours: float
    cells: list[DayCell] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)


@dataclass(frozen=True)
class Cell:
    """People scheduled against people required in one interval."""

    required: float | None
    scheduled: float
    title: str

    @property
    def required_text(self) -> str:
        return "" if self.required is None else _number(self.required)

    @property
    def scheduled_text(self) -> str:
        return _number(self.scheduled) if self.required is not None or self.scheduled else ""

    @property
    def state(self) -> str:
        if self.required is None:
            return "none"
        if self.scheduled + 1e-9 < self.required:
            return "under"
        return "over" if self.scheduled > self.required + 1e-9 else "met"


@dataclass(frozen=True)
class CoverageRow:
    """A row of intervals: one day (week view) or required/scheduled (day view)."""

    label: str
    cells: list[Cell]
    summary: str
    #: "required" rows are the demand itself and are not coloured.
    kind: Literal["required", "scheduled"] = "scheduled"


@dataclass(frozen=True)
class ActivityCoverage:
    activity: ActivityInfo
    rows: list[CoverageRow]


@dataclass
class PlanView:
    """Everything the schedule view shows."""

    span: Span
    start: date
    end: date
    columns: list[time]
    lines: list[Line]
    coverage: list[ActivityCoverage]
    summary: CoverageSummary
    activities: list[ActivityInfo]

    @property
    def days(self) -> list[date]:
        return list(days(self.start, self.end))

    @property
    def hours(self) -> list[tuple[str, int]]:
        """Header of the interval columns: each hour and how many quarters it spans."""
        counts = Counter(c.hour for c in self.columns)
        return [(f"{hour:02d}", counts[hour]) for hour in sorted(counts)]


def plan_view(snapshot: Snapshot, span: Span) -> PlanView:
    """The view of the snapshot's level from ``snapshot.start`` to ``snapshot.end``."""
    start, end = snapshot.start, snapshot.end
    entries = [e for e in snapshot.entries if start <= e.day <= end]
    first, last = _window(snapshot, entries)
    columns = [(datetime.min + timedelta(minutes=m)).time() for m in range(first, last, INTERVAL)]
    lines = []
    for employee in snapshot.employees:
        mine = [e for e in entries if e.employee_id == employee.id]
        line = Line(employee.number, employee.name, _paid_hours(mine, snapshot.activities))
        if span == "week":
            wishes = [w for w in snapshot.wishes if w.employee_id == employee.id]
            for day in days(start, end):
                todays = [e for e in mine if e.day == day]
                cell = _day_cell(todays, snapshot)
                marks = tuple(_wish_mark(w, todays) for w in wishes if w.day == day)
                line.cells.append(replace(cell, wishes=marks) if marks else cell)
        else:
            line.runs = _runs(mine, start, first, last, snapshot.activities)
        lines.append(line)
    counts = scheduled_counts(entries, start, end)
    coverage = []
    for activity_id in sorted(
        snapshot.requirements, key=lambda a: (-snapshot.activities[a].priority, a)
    ):
        info = snapshot.activities[activity_id]
        needs, have = snapshot.requirements[activity_id], counts.get(activity_id, {})
        if span == "week":
            rows = [_day_row(info, day, needs, have, first, last) for day in days(start, end)]
        else:
            rows = _required_and_scheduled(info, start, needs, have, first, last)
        coverage.append(ActivityCoverage(info, rows))
    used = {e.activity_id for e in entries}
    return PlanView(
        span=span,
        start=start,
        end=end,
        columns=columns,
        lines=lines,
        coverage=coverage,
        summary=summarize(snapshot.requirements, counts),
        activities=[a for a in snapshot.activities.values() if a.id in used],
    )


def _window(snapshot: Snapshot, entries: list[Placed]) -> tuple[int, int]:
    """Minutes of the day shown: from the earliest requirement or shift, to the latest."""
    starts = [m.hour * 60 + m.minute for needs in snapshot.requirements.values() for m in needs]
    ends = [m + INTERVAL for m in starts]
    for entry in entries:
        if not _whole_day(entry):
            starts.append(entry.start.hour * 60 + entry.start.minute)
            minutes = (entry.end - at_minute(entry.day, 0)).total_seconds() // 60
            ends.append(min(24 * 60, int(minutes)))
    if not starts:
        return DEFAULT_HOURS[0] * 60, DEFAULT_HOURS[1] * 60
    first, last = min(starts), max(ends)
    return first - first % 60, min(24 * 60, last + (-last) % 60)


def _paid_hours(entries: list[Placed], activities: dict[int, ActivityInfo]) -> float:
    """Paid hours of the shifts (whole-day entries are not shifts)."""
    minutes = sum(
        (e.end - e.start).total_seconds() / 60
        for e in entries
        if activities[e.activity_id].paid and not _whole_day(e)
    )
    return round(minutes / 60, 2)


def _whole_day(entry: Placed) -> bool:
    return entry.end - entry.start >= timedelta(days=1)


def _day_cell(entries: list[Placed], snapshot: Snapshot) -> DayCell:
    activities = snapshot.activities
    if not entries:
        return DayCell("", "", None, "")
    title = "; ".join(
        f"{activities[e.activity_id].name} {e.start:%H:%M}-{e.end:%H:%M}" for e in entries
    )
    whole = next((e for e in entries if _whole_day(e)), None)
    if whole is not None:  # an absence, or a day-long meeting or training
        name = activities[whole.activity_id].name
        return DayCell(name, "full day", whole.activity_id, title)
    work = Counter(
        e.activity_id
        for e in entries
        for _ in range(int((e.end - e.start).total_seconds() // 60 // INTERVAL))
        if activities[e.activity_id].type is not ActivityType.BREAK
    )
    main = work.most_common(1)[0][0] if work else entries[0].activity_id
    others = [activities[a].name for a in work if a != main]
    detail = activities[main].name + (f" + {', '.join(others)}" if others else "")
    span = f"{min(e.start for e in entries):%H:%M}-{max(e.end for e in entries):%H:%M}"
    return DayCell(span, detail, main, title)


def _wish_mark(wish: Wish, entries: list[Placed]) -> WishMark:
    granted = wish.granted(entries)
    verb = "work" if wish.wanted else "not work"
    title = (
        f"Wishes to {verb} {wish.day_model_name} (weight {wish.weight}): "
        f"{'granted' if granted else 'not granted'}"
    )
    text = f"{'wish' if wish.wanted else 'no'} {wish.day_model_name}"
    return WishMark(text, granted, title)


def _runs(
    entries: list[Placed],
    day: date,
    first: int,
    last: int,
    activities: dict[int, ActivityInfo],
) -> list[Run]:
    """The day's timeline in quarter-hours, merged into runs of one activity."""
    slots: list[Placed | None] = []
    for minute in range(first, last, INTERVAL):
        moment = at_minute(day, minute)
        slots.append(next((e for e in entries if e.start <= moment < e.end), None))
    runs: list[Run] = []
    begin = 0
    for index in range(1, len(slots) + 1):
        if index < len(slots) and slots[index] == slots[begin]:
            continue
        entry = slots[begin]
        columns = index - begin
        if entry is None:
            runs.append(Run(columns, None, "", ""))
        else:
            name = activities[entry.activity_id].name
            title = f"{name} {entry.start:%H:%M}-{entry.end:%H:%M}"
            runs.append(Run(columns, entry.activity_id, name if columns >= 4 else "", title))
        begin = index
    return runs


def _cell(
    info: ActivityInfo, moment: datetime, needs: dict[datetime, float], have: dict[datetime, float]
) -> Cell:
    required, scheduled = needs.get(moment), round(have.get(moment, 0.0), 2)
    title = (
        f"{info.name} {moment:%a %H:%M}: required {_number(required or 0)}, "
        f"scheduled {_number(scheduled)}"
    )
    return Cell(required, scheduled, title)


def _day_row(
    info: ActivityInfo,
    day: date,
    needs: dict[datetime, float],
    have: dict[datetime, float],
    first: int,
    last: int,
) -> CoverageRow:
    cells = [_cell(info, at_minute(day, m), needs, have) for m in range(first, last, INTERVAL)]
    required = sum(c.required or 0 for c in cells)
    met = sum(min(c.required or 0, c.scheduled) for c in cells)
    share = f"{100 * met / required:.0f} %" if required else "—"
    summary = f"{_number(required / 4)} h required, {_number(met / 4)} h met ({share})"
    return CoverageRow(f"{day:%a %d.%m}", cells, summary)


def _required_and_scheduled(
    info: ActivityInfo,
    day: date,
    needs: dict[datetime, float],
    have: dict[datetime, float],
    first: int,
    last: int,
) -> list[CoverageRow]:
    day_row = _day_row(info, day, needs, have, first, last)
    wanted = [Cell(c.required, c.required or 0.0, c.title) for c in day_row.cells]
    return [
        CoverageRow("Required", wanted, "", "required"),
        CoverageRow("Scheduled", day_row.cells, day_row.summary),
    ]


def _number(value: float) -> str:
    """1.0 → '1', 1.25 → '1.25': people and hours without noise."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
