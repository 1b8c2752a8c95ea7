"""wfm period rostering: contract rules per planning period, wishes, cover weights

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 22:40:00

The benchmark import now writes its instance into the WFM model, so the roster is
kept as Schedule entries and ``wfm_benchmark_instances.roster`` goes. Units imported
before this revision have no planning period: import them again to optimize them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wfm_contracts") as batch:
        batch.add_column(
            sa.Column("min_consecutive_work_days", sa.Integer(), server_default="1", nullable=False)
        )
        batch.add_column(
            sa.Column("min_consecutive_days_off", sa.Integer(), server_default="1", nullable=False)
        )
        batch.add_column(sa.Column("max_weekends", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("period_minutes_min", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("period_minutes_max", sa.Integer(), nullable=True))
    with op.batch_alter_table("wfm_staff_requirements") as batch:
        batch.add_column(sa.Column("under_weight", sa.Float(), nullable=True))
        batch.add_column(sa.Column("over_weight", sa.Float(), nullable=True))
    with op.batch_alter_table("wfm_benchmark_instances") as batch:
        batch.drop_column("roster")
    op.create_table(
        "wfm_contract_day_model_limits",
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("day_model_id", sa.Integer(), nullable=False),
        sa.Column("max_per_period", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "max_per_period >= 0",
            name=op.f("ck_wfm_contract_day_model_limits_max_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["wfm_contracts.id"],
            name=op.f("fk_wfm_contract_day_model_limits_contract_id_wfm_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["day_model_id"],
            ["wfm_day_models.id"],
            name=op.f("fk_wfm_contract_day_model_limits_day_model_id_wfm_day_models"),
        ),
        sa.PrimaryKeyConstraint(
            "contract_id", "day_model_id", name=op.f("pk_wfm_contract_day_model_limits")
        ),
    )
    op.create_table(
        "wfm_planning_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("planning_unit_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.CheckConstraint("days > 0", name=op.f("ck_wfm_planning_periods_days_positive")),
        sa.ForeignKeyConstraint(
            ["planning_unit_id"],
            ["wfm_planning_units.id"],
            name=op.f("fk_wfm_planning_periods_planning_unit_id_wfm_planning_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_planning_periods")),
        sa.UniqueConstraint(
            "planning_unit_id", name=op.f("uq_wfm_planning_periods_planning_unit_id")
        ),
    )
    op.create_table(
        "wfm_forbidden_successions",
        sa.Column("day_model_id", sa.Integer(), nullable=False),
        sa.Column("next_day_model_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["day_model_id"],
            ["wfm_day_models.id"],
            name=op.f("fk_wfm_forbidden_successions_day_model_id_wfm_day_models"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["next_day_model_id"],
            ["wfm_day_models.id"],
            name=op.f("fk_wfm_forbidden_successions_next_day_model_id_wfm_day_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "day_model_id", "next_day_model_id", name=op.f("pk_wfm_forbidden_successions")
        ),
    )
    op.create_table(
        "wfm_employee_wishes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("day_model_id", sa.Integer(), nullable=False),
        sa.Column("wanted", sa.Boolean(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.CheckConstraint("weight >= 0", name=op.f("ck_wfm_employee_wishes_weight_not_negative")),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["wfm_employees.id"],
            name=op.f("fk_wfm_employee_wishes_employee_id_wfm_employees"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["day_model_id"],
            ["wfm_day_models.id"],
            name=op.f("fk_wfm_employee_wishes_day_model_id_wfm_day_models"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_employee_wishes")),
    )
    op.create_index(
        "ix_wfm_employee_wishes_employee_day", "wfm_employee_wishes", ["employee_id", "day"]
    )


def downgrade() -> None:
    op.drop_index("ix_wfm_employee_wishes_employee_day", table_name="wfm_employee_wishes")
    op.drop_table("wfm_employee_wishes")
    op.drop_table("wfm_forbidden_successions")
    op.drop_table("wfm_planning_periods")
    op.drop_table("wfm_contract_day_model_limits")
    with op.batch_alter_table("wfm_benchmark_instances") as batch:
        batch.add_column(sa.Column("roster", sa.Text(), nullable=True))
    with op.batch_alter_table("wfm_staff_requirements") as batch:
        batch.drop_column("over_weight")
        batch.drop_column("under_weight")
    with op.batch_alter_table("wfm_contracts") as batch:
        batch.drop_column("period_minutes_max")
        batch.drop_column("period_minutes_min")
        batch.drop_column("max_weekends")
        batch.drop_column("min_consecutive_days_off")
        batch.drop_column("min_consecutive_work_days")
