"""scheduling of work: queues, priorities, limits, timeouts, delayed jobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 06:30:00

Each job gets its queue (its category until now), a timeout and a ``run_at``. A lock
becomes a limit of 1: ``lock_key`` is renamed ``limit_key``, beside the limit's size
and the place a held job takes in it (``limit_slot``); a unique index on held jobs'
(key, place) replaces the one on held lock values, so that no more than N jobs of a
limit ever run. The claim's index now serves fair share (each submitter's queued jobs,
most urgent first: priority is now "higher runs sooner"). Workers record the queues
they serve.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_JOBS = "jobprocessor_jobs"
_HELD = "status IN ('running', 'canceling')"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_index("ux_jobprocessor_jobs_held_lock", _JOBS)
    op.drop_index("ix_jobprocessor_jobs_queued", _JOBS)
    op.alter_column(_JOBS, "lock_key", new_column_name="limit_key")
    op.add_column(_JOBS, sa.Column("queue", sa.String(100), nullable=False, server_default=""))
    op.add_column(_JOBS, sa.Column("timeout", sa.Float()))
    op.add_column(_JOBS, sa.Column("run_at", _utc()))
    op.add_column(_JOBS, sa.Column("concurrency_limit", sa.Integer()))
    op.add_column(_JOBS, sa.Column("limit_slot", sa.Integer()))
    op.execute(f"UPDATE {_JOBS} SET queue = category")
    op.execute(f"UPDATE {_JOBS} SET concurrency_limit = 1 WHERE limit_key IS NOT NULL")
    op.execute(f"UPDATE {_JOBS} SET limit_slot = 0 WHERE limit_key IS NOT NULL AND {_HELD}")
    op.create_index(
        "ux_jobprocessor_jobs_held_limit",
        _JOBS,
        ["limit_key", "limit_slot"],
        unique=True,
        postgresql_where=sa.text(f"limit_key IS NOT NULL AND {_HELD}"),
        sqlite_where=sa.text(f"limit_key IS NOT NULL AND {_HELD}"),
    )
    op.create_index(
        "ix_jobprocessor_jobs_queued",
        _JOBS,
        ["status", "submitted_by", sa.text("priority DESC"), "id"],  # as tables.py
        postgresql_where=sa.text("status = 'queued'"),
        sqlite_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        "ix_jobprocessor_jobs_run_at",
        _JOBS,
        ["run_at"],
        postgresql_where=sa.text("status = 'queued' AND run_at IS NOT NULL"),
        sqlite_where=sa.text("status = 'queued' AND run_at IS NOT NULL"),
    )
    op.create_index(
        "ix_jobprocessor_jobs_submitted_by_started_at",
        _JOBS,
        ["submitted_by", "started_at"],
        postgresql_where=sa.text("started_at IS NOT NULL"),
        sqlite_where=sa.text("started_at IS NOT NULL"),
    )
    op.create_index("ix_jobprocessor_jobs_queue_id", _JOBS, ["queue", "id"])
    op.add_column("jobprocessor_workers", sa.Column("queues", sa.String(1000)))


def downgrade() -> None:
    op.drop_column("jobprocessor_workers", "queues")
    for name in (
        "ix_jobprocessor_jobs_queue_id",
        "ix_jobprocessor_jobs_submitted_by_started_at",
        "ix_jobprocessor_jobs_run_at",
        "ix_jobprocessor_jobs_queued",
        "ux_jobprocessor_jobs_held_limit",
    ):
        op.drop_index(name, _JOBS)
    for column in ("limit_slot", "concurrency_limit", "run_at", "timeout", "queue"):
        op.drop_column(_JOBS, column)
    op.alter_column(_JOBS, "limit_key", new_column_name="lock_key")
    op.create_index(
        "ix_jobprocessor_jobs_queued",
        _JOBS,
        ["status", "priority", "id"],
        postgresql_where=sa.text("status = 'queued'"),
        sqlite_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        "ux_jobprocessor_jobs_held_lock",
        _JOBS,
        ["lock_key"],
        unique=True,
        postgresql_where=sa.text(f"lock_key IS NOT NULL AND {_HELD}"),
        sqlite_where=sa.text(f"lock_key IS NOT NULL AND {_HELD}"),
    )
