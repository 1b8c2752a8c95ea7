"""Insert shift sequences: write each employee's repeating pattern into a level.

Full-day absences in the level are never overwritten: their days get nothing
from the sequence. What else is deleted first is the caller's choice
(``DeleteMode``). Everything is written in one transaction.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine

from wfm.db import read_session, write_session
from wfm.levels import delete_entries, insert_entries, is_full_day_absence, select_entries
from wfm.model import ScheduleEntry
from wfm.reporting import Run
from wfm.scheduling.sequences import load_sequences, planned_days
from wfm.shifts import Placed
from wfm.snapshot import load_snapshot


class DeleteMode(enum.StrEnum):
    """What existing content of the level to delete before inserting."""

    #: Nothing: days that already have entries keep them and get nothing inserted.
    NOTHING = "nothing"
    #: The entries of the days the sequence fills (a day off keeps what it has).
    DAYS_INSERTED = "days_inserted"
    #: Every entry of the selected employees in the date range.
    WHOLE_RANGE = "whole_range"


def insert_shift_sequences(
    engine: Engine,
    *,
    planning_unit_id: int,
    level: int,
    start: date,
    end: date,
    delete: DeleteMode,
    employee_ids: Sequence[int] | None = None,
    run: Run | None = None,
) -> dict[str, Any]:
    """Unroll the sequences into ``level`` for ``start``..``end``; returns the counts."""
    run = run or Run()
    with read_session(engine) as session:
        snapshot = load_snapshot(
            session, planning_unit_id, start, end, employee_ids=employee_ids, level=level
        )
        sequences = load_sequences(session)
    run.step(
        "Loaded %d employees of %s and %d shift sequences",
        len(snapshot.employees),
        snapshot.planning_unit_name,
        len(sequences),
    )
    planned = planned_days(snapshot, sequences)
    for employee in snapshot.employees:
        if not any(key[0] == employee.id for key in planned):
            run.warning(
                "%s (%s) follows no shift sequence in the planning unit from %s to %s: "
                "nothing inserted",
                employee.name,
                employee.number,
                start,
                end,
                kind="no-sequence",
            )
    counts = {"deleted": 0, "inserted": 0, "shifts": 0, "absence_days_kept": 0, "days_kept": 0}
    with write_session(engine) as session:
        existing: dict[tuple[int, date], list[ScheduleEntry]] = defaultdict(list)
        for entry in select_entries(session, level, start, end, snapshot.employee_ids):
            existing[(entry.employee_id, entry.day)].append(entry)
        absent = {
            key
            for key, entries in existing.items()
            if any(is_full_day_absence(e, snapshot.activities) for e in entries)
        }
        doomed: list[int] = []
        if delete is DeleteMode.WHOLE_RANGE:
            doomed = [
                e.id
                for key, entries in existing.items()
                for e in entries
                if not is_full_day_absence(e, snapshot.activities)
            ]
        new: list[Placed] = []
        total = max(1, len(planned))
        for done, (key, entries) in enumerate(sorted(planned.items())):
            if done % 200 == 0:
                run.check_canceled()
                run.progress(done, total, f"day {done} of {total}")
            if key in absent:
                counts["absence_days_kept"] += bool(entries)
                continue
            if not entries:
                continue
            there = existing.get(key, [])
            if delete is DeleteMode.NOTHING and there:
                counts["days_kept"] += 1
                continue
            if delete is DeleteMode.DAYS_INSERTED:
                doomed.extend(e.id for e in there)
            new.extend(entries)
            counts["shifts"] += 1
        run.check_canceled()
        counts["deleted"] = delete_entries(session, doomed)
        counts["inserted"] = insert_entries(session, level, new)
        run.check_canceled()
    run.progress(total, total, "saved")
    run.step(
        "Level %d: deleted %d entries, inserted %d shifts (%d entries) from %s to %s",
        level,
        counts["deleted"],
        counts["shifts"],
        counts["inserted"],
        start,
        end,
    )
    if counts["absence_days_kept"]:
        run.step("Kept %d days of full-day absences", counts["absence_days_kept"])
    if counts["days_kept"]:
        run.warning(
            "%d days already had entries and were left as they were (delete mode 'nothing')",
            counts["days_kept"],
        )
    return {"employees": len(snapshot.employees), **counts}
