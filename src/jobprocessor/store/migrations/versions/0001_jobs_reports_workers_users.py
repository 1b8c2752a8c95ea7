"""jobs, reports, workers, users

Revision ID: 0001
Revises:
Create Date: 2026-11-25 04:11:39.484233
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import jobprocessor.store.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobprocessor_jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("submitted_by", sa.String(length=150), nullable=False),
        sa.Column(
            "created_at", jobprocessor.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "started_at", jobprocessor.store.tables.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "finished_at", jobprocessor.store.tables.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("lock_key", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_retries", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("cancel_grace", sa.Float(), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=True),
        sa.Column("progress_done", sa.Float(), nullable=True),
        sa.Column("progress_total", sa.Float(), nullable=True),
        sa.Column("progress_message", sa.String(length=1000), nullable=True),
        sa.Column(
            "restarted_from", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("cancel_requested_by", sa.String(length=150), nullable=True),
        sa.Column(
            "cancel_requested_at",
            jobprocessor.store.tables.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("error_type", sa.String(length=200), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_traceback", sa.Text(), nullable=True),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobprocessor_jobs")),
    )
    with op.batch_alter_table("jobprocessor_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobprocessor_jobs_finished_at", ["finished_at"], unique=False)
        batch_op.create_index(
            "ix_jobprocessor_jobs_queued",
            ["status", "priority", "id"],
            unique=False,
            postgresql_where=sa.text("status = 'queued'"),
            sqlite_where=sa.text("status = 'queued'"),
        )
        batch_op.create_index(
            "ix_jobprocessor_jobs_restarted_from", ["restarted_from"], unique=False
        )
        batch_op.create_index("ix_jobprocessor_jobs_status_id", ["status", "id"], unique=False)
        batch_op.create_index(
            "ix_jobprocessor_jobs_submitted_by_id", ["submitted_by", "id"], unique=False
        )
        batch_op.create_index(
            "ix_jobprocessor_jobs_submitted_by_status_id",
            ["submitted_by", "status", "id"],
            unique=False,
        )
        batch_op.create_index("ix_jobprocessor_jobs_type_id", ["type", "id"], unique=False)
        batch_op.create_index("ix_jobprocessor_jobs_worker_id", ["worker_id"], unique=False)
        batch_op.create_index(
            "ux_jobprocessor_jobs_held_lock",
            ["lock_key"],
            unique=True,
            postgresql_where=sa.text("lock_key IS NOT NULL AND status IN ('running', 'canceling')"),
            sqlite_where=sa.text("lock_key IS NOT NULL AND status IN ('running', 'canceling')"),
        )

    if op.get_bind().dialect.name == "postgresql":
        # A queue table churns: keep its statistics fresh so the claim keeps using
        # the queued index right after a burst of submissions.
        op.execute(
            "ALTER TABLE jobprocessor_jobs SET (autovacuum_analyze_scale_factor = 0.01,"
            " autovacuum_vacuum_scale_factor = 0.02)"
        )
    op.create_table(
        "jobprocessor_users",
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at", jobprocessor.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_jobprocessor_users")),
    )
    op.create_table(
        "jobprocessor_workers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column(
            "started_at", jobprocessor.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "heartbeat_at", jobprocessor.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("stopping", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobprocessor_workers")),
    )
    op.create_table(
        "jobprocessor_api_tokens",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_name", sa.String(length=150), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", jobprocessor.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_used_at", jobprocessor.store.tables.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["user_name"],
            ["jobprocessor_users.name"],
            name=op.f("fk_jobprocessor_api_tokens_user_name_jobprocessor_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobprocessor_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_jobprocessor_api_tokens_token_hash")),
    )
    op.create_table(
        "jobprocessor_job_artifacts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", jobprocessor.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobprocessor_jobs.id"],
            name=op.f("fk_jobprocessor_job_artifacts_job_id_jobprocessor_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobprocessor_job_artifacts")),
        sa.UniqueConstraint(
            "job_id", "name", name=op.f("uq_jobprocessor_job_artifacts_job_id_name")
        ),
    )
    op.create_table(
        "jobprocessor_job_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", jobprocessor.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobprocessor_jobs.id"],
            name=op.f("fk_jobprocessor_job_entries_job_id_jobprocessor_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobprocessor_job_entries")),
    )
    with op.batch_alter_table("jobprocessor_job_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jobprocessor_job_entries_job_id_id", ["job_id", "id"], unique=False
        )

    op.create_table(
        "jobprocessor_job_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", jobprocessor.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=50), nullable=False),
        sa.Column("by", sa.String(length=150), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobprocessor_jobs.id"],
            name=op.f("fk_jobprocessor_job_events_job_id_jobprocessor_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobprocessor_job_events")),
    )
    with op.batch_alter_table("jobprocessor_job_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jobprocessor_job_events_job_id_id", ["job_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("jobprocessor_job_events", schema=None) as batch_op:
        batch_op.drop_index("ix_jobprocessor_job_events_job_id_id")

    op.drop_table("jobprocessor_job_events")
    with op.batch_alter_table("jobprocessor_job_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_jobprocessor_job_entries_job_id_id")

    op.drop_table("jobprocessor_job_entries")
    op.drop_table("jobprocessor_job_artifacts")
    op.drop_table("jobprocessor_api_tokens")
    op.drop_table("jobprocessor_workers")
    op.drop_table("jobprocessor_users")
    with op.batch_alter_table("jobprocessor_jobs", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_jobprocessor_jobs_held_lock",
            postgresql_where=sa.text("lock_key IS NOT NULL AND status IN ('running', 'canceling')"),
            sqlite_where=sa.text("lock_key IS NOT NULL AND status IN ('running', 'canceling')"),
        )
        batch_op.drop_index("ix_jobprocessor_jobs_worker_id")
        batch_op.drop_index("ix_jobprocessor_jobs_type_id")
        batch_op.drop_index("ix_jobprocessor_jobs_submitted_by_status_id")
        batch_op.drop_index("ix_jobprocessor_jobs_submitted_by_id")
        batch_op.drop_index("ix_jobprocessor_jobs_status_id")
        batch_op.drop_index("ix_jobprocessor_jobs_restarted_from")
        batch_op.drop_index(
            "ix_jobprocessor_jobs_queued",
            postgresql_where=sa.text("status = 'queued'"),
            sqlite_where=sa.text("status = 'queued'"),
        )
        batch_op.drop_index("ix_jobprocessor_jobs_finished_at")

    op.drop_table("jobprocessor_jobs")
