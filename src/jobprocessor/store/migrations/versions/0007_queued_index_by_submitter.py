"""the queued jobs' index led by the submitter

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 08:30:00

The claim walks the submitters of queued jobs (``min(submitted_by)``, then the next
one). Led by ``status``, the queued index was passed over for that walk: PostgreSQL
took ``(submitted_by, id)`` and stepped over every finished job of the first
submitter, a millisecond per round once a few thousand had run. Led by the
submitter, the partial index answers the walk and each submitter's most urgent jobs
alone, on both databases.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_JOBS = "jobprocessor_jobs"
_NAME = "ix_jobprocessor_jobs_queued"
_QUEUED = sa.text("status = 'queued'")


def upgrade() -> None:
    op.drop_index(_NAME, _JOBS)
    op.create_index(
        _NAME,
        _JOBS,
        ["submitted_by", sa.text("priority DESC"), "id"],  # as tables.py
        postgresql_where=_QUEUED,
        sqlite_where=_QUEUED,
    )


def downgrade() -> None:
    op.drop_index(_NAME, _JOBS)
    op.create_index(
        _NAME,
        _JOBS,
        ["status", "submitted_by", sa.text("priority DESC"), "id"],
        postgresql_where=_QUEUED,
        sqlite_where=_QUEUED,
    )
