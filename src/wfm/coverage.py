"""Coverage: how many people a level schedules on each activity per 15-minute interval,
set against the staff requirements.

Figures are in people per interval; sums are turned into hours (an interval is a
quarter of an hour). Over-staffing is counted on activities that have
requirements only: back office time, which nobody asked for, is not "over".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from wfm.calendar import INTERVAL, interval_starts, midnight
from wfm.shifts import Placed

Counts = dict[int, dict[datetime, float]]


def scheduled_counts(entries: Iterable[Placed], start: date, end: date) -> Counts:
    """activity → interval start → people scheduled (partial intervals count in part)."""
    low, high = midnight(start), midnight(end + timedelta(days=1))
    counts: Counts = defaultdict(lambda: defaultdict(float))
    for entry in entries:
        begin, finish = max(entry.start, low), min(entry.end, high)
        for moment in interval_starts(begin, finish):
            stop = moment + timedelta(minutes=INTERVAL)
            overlap = (min(stop, finish) - max(moment, begin)).total_seconds()
            counts[entry.activity_id][moment] += overlap / (INTERVAL * 60)
    return counts


@dataclass(frozen=True, slots=True)
class CoverageSummary:
    """Required against scheduled, in hours, over activities that have requirements."""

    required_hours: float
    met_hours: float
    under_hours: float
    over_hours: float
    scheduled_hours: float

    @property
    def coverage_pct(self) -> float:
        """Share of the required interval-hours that are met, in percent."""
        return 100.0 * self.met_hours / self.required_hours if self.required_hours else 100.0

    def as_dict(self) -> dict[str, float]:
        return {
            "required_hours": round(self.required_hours, 2),
            "met_hours": round(self.met_hours, 2),
            "under_hours": round(self.under_hours, 2),
            "over_hours": round(self.over_hours, 2),
            "scheduled_hours": round(self.scheduled_hours, 2),
            "coverage_pct": round(self.coverage_pct, 2),
        }


def summarize(requirements: Counts, scheduled: Counts) -> CoverageSummary:
    required = met = under = over = total = 0.0
    for activity_id, needs in requirements.items():
        have = scheduled.get(activity_id, {})
        for moment in set(needs) | set(have):
            need, got = needs.get(moment, 0.0), have.get(moment, 0.0)
            required += need
            met += min(need, got)
            under += max(0.0, need - got)
            over += max(0.0, got - need)
            total += got
    hour = INTERVAL / 60
    return CoverageSummary(required * hour, met * hour, under * hour, over * hour, total * hour)
