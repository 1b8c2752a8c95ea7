"""The engine's tables (SQLAlchemy Core). Migrations in ``migrations/`` create them.

Indexes follow the questions asked most: the console's "newest first, filtered by
user and/or status" (keyset on ``id``), a worker's "next queued job" (a partial
index over queued rows only, so the hot set stays small whatever the history),
and "which jobs does this worker hold".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no timezone type; storing naive UTC there and attaching UTC on
    read keeps comparisons and ordering right on both databases.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


Id = BigInteger().with_variant(Integer, "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")

#: Longest exception name a job's record keeps (longer ones are cut when stored).
ERROR_TYPE_LENGTH = 200
#: Longest queue name.
QUEUE_NAME_LENGTH = 100


def _partial(condition: str) -> dict[str, Any]:
    """An index's predicate, the same on both databases (a partial index)."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


#: The partial index of delayed queued jobs (named where a query must be bound to it).
RUN_AT_INDEX = "ix_jobprocessor_jobs_run_at"

jobs = Table(
    "jobprocessor_jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("type", String(200), nullable=False),
    Column("category", String(50), nullable=False),
    Column("title", String(500), nullable=False),
    Column("status", String(20), nullable=False),
    Column("params", Json, nullable=False),
    Column("submitted_by", String(150), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("queue", String(QUEUE_NAME_LENGTH), nullable=False, server_default=text("''")),
    #: Higher runs sooner (-100..100).
    Column("priority", Integer, nullable=False, server_default=text("0")),
    #: Seconds the job may run before it is stopped; NULL: no limit.
    Column("timeout", Float),
    #: Not before this time (a delayed job); NULL: at once.
    Column("run_at", UTCDateTime),
    #: The limit this job counts against (a ``lock`` is a limit of 1), its size, and
    #: while the job is held, which of the limit's places it takes (unique per key).
    Column("limit_key", String(500)),
    Column("concurrency_limit", Integer),
    Column("limit_slot", Integer),
    #: The schedule that submitted the job and its tick (unique together).
    Column("schedule", String(100)),
    Column("scheduled_for", UTCDateTime),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("max_retries", Integer, nullable=False, server_default=text("0")),
    Column("cancel_grace", Float, nullable=False),
    Column("worker_id", String(64)),
    Column("progress_done", Float),
    Column("progress_total", Float),
    Column("progress_message", String(1000)),
    Column("restarted_from", Id),
    Column("cancel_requested_by", String(150)),
    Column("cancel_requested_at", UTCDateTime),
    Column("error_type", String(ERROR_TYPE_LENGTH)),
    Column("error_message", Text),
    Column("error_traceback", Text),
    Column("result", Json),
    Index("ix_jobprocessor_jobs_submitted_by_id", "submitted_by", "id"),
    Index("ix_jobprocessor_jobs_status_id", "status", "id"),
    Index("ix_jobprocessor_jobs_submitted_by_status_id", "submitted_by", "status", "id"),
    # On PostgreSQL with its search table these two are the search table's
    # (``MOVED_TO_SEARCH_PG``).
    Index("ix_jobprocessor_jobs_type_id", "type", "id"),
    Index("ix_jobprocessor_jobs_queue_id", "queue", "id"),
    # Partial (migration 0004): a status change writes only the indexes whose
    # predicate its row meets, and these are asked about those rows alone.
    Index(
        "ix_jobprocessor_jobs_restarted_from",
        "restarted_from",
        **_partial("restarted_from IS NOT NULL"),
    ),
    Index(
        "ix_jobprocessor_jobs_worker_id",
        "worker_id",
        **_partial("status IN ('running', 'canceling')"),
    ),
    Index(
        "ix_jobprocessor_jobs_finished_at",
        "finished_at",
        **_partial("finished_at IS NOT NULL"),
    ),
    # When the next delayed job is due.
    Index(
        RUN_AT_INDEX,
        "run_at",
        **_partial("status = 'queued' AND run_at IS NOT NULL"),
    ),
    # Fair share: when each submitter's latest job started.
    Index(
        "ix_jobprocessor_jobs_submitted_by_started_at",
        "submitted_by",
        "started_at",
        **_partial("started_at IS NOT NULL"),
    ),
    # One job per tick of a schedule, however many processes try to submit it.
    Index(
        "ux_jobprocessor_jobs_schedule_tick",
        "schedule",
        "scheduled_for",
        unique=True,
        **_partial("schedule IS NOT NULL"),
    ),
    # The hard guarantee behind `limit` (and `lock`): each place of a limit is taken by
    # one held job at most, so no more than N run, whatever the races between workers.
    Index(
        "ux_jobprocessor_jobs_held_limit",
        "limit_key",
        "limit_slot",
        unique=True,
        **_partial("limit_key IS NOT NULL AND status IN ('running', 'canceling')"),
    ),
)

# The claim's: the submitters of queued jobs, and each one's queued jobs, most urgent
# first (fair share looks at every submitter's first few). The submitter leads: led by
# `status`, PostgreSQL passed it over for the walk from one submitter to the next and
# stepped over the finished jobs in `(submitted_by, id)` instead (migration 0007).
QUEUED_INDEX = "ix_jobprocessor_jobs_queued"
Index(
    QUEUED_INDEX,
    jobs.c.submitted_by,
    jobs.c.priority.desc(),
    jobs.c.id,
    **_partial("status = 'queued'"),
)

#: The title search's index, built by migrations outside these tables and kept by
#: triggers on the jobs table: on PostgreSQL a search table (each job's title and the
#: other columns a search filters by that never change) with a trigram GIN index
#: (pg_trgm's operator class on ``lower(title)``; migration 0009 moved it off the
#: jobs table, whose rows every claim and outcome update), on SQLite an FTS5 table
#: (migration 0003). See ``store/listing.py``.
SEARCH_TABLE_PG = "jobprocessor_job_search"
TITLE_INDEX_PG = "ix_jobprocessor_job_search_title_trgm"
#: Indexes of the jobs table that PostgreSQL keeps on its search table instead, where
#: every claim and outcome does not write them (migration 0010): the list's filters
#: by type and by queue.
MOVED_TO_SEARCH_PG = ("ix_jobprocessor_jobs_type_id", "ix_jobprocessor_jobs_queue_id")
TITLE_INDEX_SQLITE = "jobprocessor_jobs_title"

job_entries = Table(
    "jobprocessor_job_entries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, ForeignKey(jobs.c.id, ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("level", String(20), nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_jobprocessor_job_entries_job_id_id", "job_id", "id"),
)

job_artifacts = Table(
    "jobprocessor_job_artifacts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, ForeignKey(jobs.c.id, ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("media_type", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("job_id", "name"),
)

#: A job's timeline. Its ``job_id`` has no foreign key: a worker's round writes two
#: events per job, and PostgreSQL's check of each (a query and a lock on the job's
#: row) cost a sixth of the round (migration 0008). The store deletes a job's
#: events with the job (``JobStore.delete_finished`` and ``purge_finished``).
job_events = Table(
    "jobprocessor_job_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("event", String(50), nullable=False),
    Column("by", String(150)),
    Column("detail", Text),
    Index("ix_jobprocessor_job_events_job_id_id", "job_id", "id"),
)

workers = Table(
    "jobprocessor_workers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("slots", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("stopping", Boolean, nullable=False, server_default=text("false")),
    #: The queues it serves, as given to ``--queues`` (NULL: every queue).
    Column("queues", String(1000)),
)

schedules = Table(
    "jobprocessor_schedules",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("cron", String(100), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("type", String(200), nullable=False),
    Column("params", Json, nullable=False),
    Column("user_name", String(150), nullable=False),
    Column("missed", String(10), nullable=False),
    Column("paused", Boolean, nullable=False, server_default=text("false")),
    #: Who keeps it: "app" (declared with recurring()) or "cli".
    Column("source", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    #: Every tick up to this one is done (submitted, or skipped as missed).
    Column("last_tick", UTCDateTime, nullable=False),
    #: Its next tick after ``last_tick``: due once this has passed.
    Column("next_run_at", UTCDateTime, nullable=False),
    Column("last_job_id", Id),
    Index("ix_jobprocessor_schedules_next_run_at", "next_run_at"),
)

users = Table(
    "jobprocessor_users",
    metadata,
    Column("name", String(150), primary_key=True),
    Column("display_name", String(255), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(255)),
    Column("created_at", UTCDateTime, nullable=False),
)

api_tokens = Table(
    "jobprocessor_api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "user_name",
        String(150),
        ForeignKey(users.c.name, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
)

sessions = Table(
    "jobprocessor_sessions",
    metadata,
    # The SHA-256 of the cookie's random token: a leaked table opens no session.
    Column("token_hash", String(64), primary_key=True),
    Column(
        "user_name",
        String(150),
        ForeignKey(users.c.name, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_jobprocessor_sessions_expires_at", "expires_at"),
)

login_failures = Table(
    "jobprocessor_login_failures",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # Who tried from where ("name|address"): limits guessing one account or from one place.
    Column("key", String(300), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_jobprocessor_login_failures_key_at", "key", "at"),
)
