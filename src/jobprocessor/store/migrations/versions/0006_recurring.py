"""recurring jobs: schedules, and each job's schedule and tick

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 07:10:00

A schedule's jobs carry its name and their tick, unique together: two processes that
submit one tick at the same moment cannot both succeed. The schedules table keeps each
schedule's definition, whether it is paused, the last tick it has dealt with and its
next one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_JOBS = "jobprocessor_jobs"


def upgrade() -> None:
    op.add_column(_JOBS, sa.Column("schedule", sa.String(100)))
    op.add_column(_JOBS, sa.Column("scheduled_for", sa.DateTime(timezone=True)))
    op.create_index(
        "ux_jobprocessor_jobs_schedule_tick",
        _JOBS,
        ["schedule", "scheduled_for"],
        unique=True,
        postgresql_where=sa.text("schedule IS NOT NULL"),
        sqlite_where=sa.text("schedule IS NOT NULL"),
    )
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "jobprocessor_schedules",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("cron", sa.String(100), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("params", json, nullable=False),
        sa.Column("user_name", sa.String(150), nullable=False),
        sa.Column("missed", sa.String(10), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_tick", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
        sa.PrimaryKeyConstraint("name", name="pk_jobprocessor_schedules"),
    )
    op.create_index(
        "ix_jobprocessor_schedules_next_run_at", "jobprocessor_schedules", ["next_run_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_jobprocessor_schedules_next_run_at", "jobprocessor_schedules")
    op.drop_table("jobprocessor_schedules")
    op.drop_index("ux_jobprocessor_jobs_schedule_tick", _JOBS)
    op.drop_column(_JOBS, "scheduled_for")
    op.drop_column(_JOBS, "schedule")
