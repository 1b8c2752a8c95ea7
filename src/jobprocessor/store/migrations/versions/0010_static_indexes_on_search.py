"""the list's type and queue filters served by the search table (PostgreSQL)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:30:00

The jobs table's ``(type, id)`` and ``(queue, id)`` indexes serve the console's
filters by type and by queue. Their columns never change, yet PostgreSQL writes an
entry into both at every claim and every outcome, as into every index of a row it
cannot update in place: a tenth of the server's time in a round of four jobs
(``bench/engine_changes.md``, change 43). The search table of migration 0009 holds
both columns and is only ever written when a job is stored, so the two indexes move
there, and a list filtered by type or queue reads its newest matches from it. SQLite
keeps them on the jobs table: it writes an index only where a column of it changes.
Without the search table (no pg_trgm) nothing moves.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SEARCH = "jobprocessor_job_search"
#: column: (the jobs table's index, the search table's)
MOVED = {
    "type": ("ix_jobprocessor_jobs_type_id", "ix_jobprocessor_job_search_type_job_id"),
    "queue": ("ix_jobprocessor_jobs_queue_id", "ix_jobprocessor_job_search_queue_job_id"),
}
#: A user's own jobs of a type: without it, the type's index walked every job of the
#: type to find none of the user's (0.2 s in a million jobs).
BY_SUBMITTER = "ix_jobprocessor_job_search_submitted_by_job_id"


def _has_search_table() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    return bind.exec_driver_sql(f"SELECT to_regclass('{SEARCH}')").scalar() is not None


def upgrade() -> None:
    if not _has_search_table():
        return
    for column, (on_jobs, on_search) in MOVED.items():
        op.execute(f"CREATE INDEX {on_search} ON {SEARCH} ({column}, job_id)")
        op.execute(f"DROP INDEX {on_jobs}")
    op.execute(f"CREATE INDEX {BY_SUBMITTER} ON {SEARCH} (submitted_by, job_id)")


def downgrade() -> None:
    if not _has_search_table():
        return
    op.execute(f"DROP INDEX {BY_SUBMITTER}")
    for column, (on_jobs, on_search) in MOVED.items():
        op.execute(f"CREATE INDEX {on_jobs} ON jobprocessor_jobs ({column}, id)")
        op.execute(f"DROP INDEX {on_search}")
