"""wfm benchmark instances: planning units imported from the Curtois & Qu benchmark

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 08:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wfm_benchmark_instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("planning_unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("roster", sa.Text(), nullable=True),
        sa.Column("objective", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["planning_unit_id"],
            ["wfm_planning_units.id"],
            name=op.f("fk_wfm_benchmark_instances_planning_unit_id_wfm_planning_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_benchmark_instances")),
        sa.UniqueConstraint(
            "planning_unit_id", name=op.f("uq_wfm_benchmark_instances_planning_unit_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("wfm_benchmark_instances")
