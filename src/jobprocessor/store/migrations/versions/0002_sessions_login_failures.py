"""console sessions and failed sign-ins

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jobprocessor.store.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_UTC = jobprocessor.store.tables.UTCDateTime()


def upgrade() -> None:
    op.create_table(
        "jobprocessor_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=150), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("expires_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_name"],
            ["jobprocessor_users.name"],
            name=op.f("fk_jobprocessor_sessions_user_name_jobprocessor_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_jobprocessor_sessions")),
    )
    op.create_index("ix_jobprocessor_sessions_expires_at", "jobprocessor_sessions", ["expires_at"])
    op.create_table(
        "jobprocessor_login_failures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobprocessor_login_failures")),
    )
    op.create_index(
        "ix_jobprocessor_login_failures_key_at", "jobprocessor_login_failures", ["key", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_jobprocessor_login_failures_key_at", "jobprocessor_login_failures")
    op.drop_table("jobprocessor_login_failures")
    op.drop_index("ix_jobprocessor_sessions_expires_at", "jobprocessor_sessions")
    op.drop_table("jobprocessor_sessions")
