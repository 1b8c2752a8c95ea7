"""Reading and writing a level's entries inside a job's one write transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from wfm.activities import ActivityInfo
from wfm.model import ScheduleEntry
from wfm.shifts import Placed

#: Rows per DELETE … IN (…) or INSERT batch, well under every driver's parameter limit.
BATCH = 500


def select_entries(
    session: Session,
    level: int,
    start: date,
    end: date,
    employee_ids: Sequence[int] | None = None,
) -> list[ScheduleEntry]:
    """A level's entries on days ``start``..``end``, optionally of some employees only."""
    query = (
        select(ScheduleEntry)
        .where(ScheduleEntry.level == level)
        .where(ScheduleEntry.day >= start)
        .where(ScheduleEntry.day <= end)
        .order_by(ScheduleEntry.employee_id, ScheduleEntry.start, ScheduleEntry.id)
    )
    if employee_ids is not None:
        query = query.where(ScheduleEntry.employee_id.in_(list(employee_ids)))
    return list(session.scalars(query))


def is_full_day_absence(entry: ScheduleEntry | Placed, activities: dict[int, ActivityInfo]) -> bool:
    """A whole-day illness, vacation or other absence: never overwritten by scheduling."""
    info = activities.get(entry.activity_id)
    if info is None or not info.type.is_absence:
        return False
    return (entry.end - entry.start).total_seconds() >= 24 * 3600 and entry.start.hour == 0


def delete_entries(session: Session, ids: Iterable[int]) -> int:
    """Delete entries by id, in batches; returns how many."""
    pending = list(ids)
    for offset in range(0, len(pending), BATCH):
        chunk = pending[offset : offset + BATCH]
        session.execute(delete(ScheduleEntry).where(ScheduleEntry.id.in_(chunk)))
    return len(pending)


def insert_entries(session: Session, level: int, entries: Iterable[Placed]) -> int:
    """Insert entries into a level, in batches; returns how many."""
    rows = [
        {
            "level": level,
            "employee_id": e.employee_id,
            "day": e.day,
            "start": e.start,
            "end": e.end,
            "activity_id": e.activity_id,
            "day_model_id": e.day_model_id,
        }
        for e in entries
    ]
    for offset in range(0, len(rows), BATCH):
        session.execute(insert(ScheduleEntry), rows[offset : offset + BATCH])
    return len(rows)


def as_placed(entry: ScheduleEntry) -> Placed:
    return Placed(
        entry.employee_id, entry.day, entry.start, entry.end, entry.activity_id, entry.day_model_id
    )
