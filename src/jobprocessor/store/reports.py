"""What running jobs report and what the report page reads back.

Progress, log entries and files are written by the worker's slots while a job
runs; the report page, the REST API and the CLI read them with the timeline.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from jobprocessor.model import ArtifactInfo, Event, Progress, ReportEntry, TimelineEvent, utcnow
from jobprocessor.store._sql import INSERT_EVENTS, clip, event_row, held_by
from jobprocessor.store.engine import reading
from jobprocessor.store.records import RunLease
from jobprocessor.store.tables import job_artifacts, job_entries, job_events, jobs

#: Longer progress messages are cut to this many characters.
PROGRESS_MESSAGE_MAX = 1000


class ReportStore:
    """A job's report: progress, log entries, files and timeline."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- written while a job runs ---------------------------------------------
    #
    # Each write names the run that makes it (a ``RunLease``) and is refused, writing
    # nothing, once that run no longer holds the job: False tells the run to stop.

    def record_progress(self, lease: RunLease, progress: Progress) -> bool:
        """Store the latest progress; False if the run no longer holds the job."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(jobs)
                .where(held_by(lease))
                .values(
                    progress_done=progress.done,
                    progress_total=progress.total,
                    progress_message=clip(progress.message, PROGRESS_MESSAGE_MAX),
                )
            )
            return bool(result.rowcount)

    def add_entries(self, lease: RunLease, entries: Sequence[ReportEntry]) -> bool:
        """Store log entries; False (nothing stored) if the run no longer holds the job."""
        with self.engine.begin() as connection:
            if not _still_held(connection, lease):
                return False
            if entries:
                rows = [
                    {"job_id": lease.job_id, "at": e.at, "level": e.level, "message": e.message}
                    for e in entries
                ]
                connection.execute(insert(job_entries), rows)
            return True

    def add_artifact(self, lease: RunLease, name: str, media_type: str, data: bytes) -> bool:
        """Store a report file (a second file of one name replaces the first); False
        (nothing stored) if the run no longer holds the job."""
        with self.engine.begin() as connection:
            if not _still_held(connection, lease):
                return False
            connection.execute(
                delete(job_artifacts).where(
                    job_artifacts.c.job_id == lease.job_id, job_artifacts.c.name == name
                )
            )
            connection.execute(
                insert(job_artifacts).values(
                    job_id=lease.job_id,
                    name=name,
                    media_type=media_type,
                    size=len(data),
                    data=data,
                    created_at=utcnow(),
                )
            )
            return True

    def add_event(self, lease: RunLease, event: Event, detail: str | None = None) -> bool:
        """Add an event of the run to the job's timeline; False (nothing added) if the
        run no longer holds the job."""
        with self.engine.begin() as connection:
            if not _still_held(connection, lease):
                return False
            connection.execute(
                INSERT_EVENTS, [event_row(lease.job_id, event, None, utcnow(), detail)]
            )
            return True

    # -- read by the report page ----------------------------------------------

    def entries(
        self,
        job_id: int,
        *,
        levels: Sequence[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[ReportEntry]:
        """Log entries in the order they were written, optionally of some levels only."""
        statement = (
            select(job_entries.c.at, job_entries.c.level, job_entries.c.message)
            .where(job_entries.c.job_id == job_id)
            .order_by(job_entries.c.id)
            .offset(offset)
            .limit(limit)
        )
        if levels is not None:
            statement = statement.where(job_entries.c.level.in_(levels))
        with reading(self.engine) as connection:
            return [ReportEntry(r.at, r.level, r.message) for r in connection.execute(statement)]

    def entry_counts(self, job_id: int) -> dict[str, int]:
        """How many log entries a job has of each level."""
        statement = (
            select(job_entries.c.level, func.count())
            .where(job_entries.c.job_id == job_id)
            .group_by(job_entries.c.level)
        )
        with reading(self.engine) as connection:
            return {level: count for level, count in connection.execute(statement)}

    def artifacts(self, job_id: int) -> list[ArtifactInfo]:
        statement = (
            select(job_artifacts.c.name, job_artifacts.c.media_type, job_artifacts.c.size)
            .where(job_artifacts.c.job_id == job_id)
            .order_by(job_artifacts.c.id)
        )
        with reading(self.engine) as connection:
            return [
                ArtifactInfo(r.name, r.media_type, r.size) for r in connection.execute(statement)
            ]

    def artifact(self, job_id: int, name: str) -> tuple[ArtifactInfo, bytes] | None:
        statement = select(job_artifacts).where(
            job_artifacts.c.job_id == job_id, job_artifacts.c.name == name
        )
        with reading(self.engine) as connection:
            row = connection.execute(statement).first()
        if row is None:
            return None
        return ArtifactInfo(row.name, row.media_type, row.size), bytes(row.data)

    def events(self, job_id: int) -> list[TimelineEvent]:
        statement = (
            select(job_events.c.at, job_events.c.event, job_events.c.by, job_events.c.detail)
            .where(job_events.c.job_id == job_id)
            .order_by(job_events.c.id)
        )
        with reading(self.engine) as connection:
            return [
                TimelineEvent(r.at, r.event, r.by, r.detail) for r in connection.execute(statement)
            ]


def _still_held(connection: Connection, lease: RunLease) -> bool:
    """Whether the run holds the job, keeping it so until the transaction ends.

    On PostgreSQL the row is locked ``FOR SHARE``: a rescue (which skips locked rows)
    or a cancel cannot move the job away between this look and the write. SQLite's
    ``BEGIN IMMEDIATE`` already lets no other writer in.
    """
    statement = select(jobs.c.id).where(held_by(lease)).with_for_update(read=True)
    return connection.execute(statement).first() is not None
