"""wfm domain model: organisation, activities, templates, requirements, levels

Revision ID: 0001
Revises:
Create Date: 2026-11-25 17:08:50.449491
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wfm_contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("hours_min", sa.Float(), nullable=False),
        sa.Column("hours_target", sa.Float(), nullable=False),
        sa.Column("hours_max", sa.Float(), nullable=False),
        sa.Column("max_consecutive_work_days", sa.Integer(), nullable=False),
        sa.Column("min_rest_hours", sa.Float(), nullable=False),
        sa.Column("min_days_off_per_week", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "hours_min <= hours_target AND hours_target <= hours_max",
            name=op.f("ck_wfm_contracts_hours_ordered"),
        ),
        sa.CheckConstraint(
            "min_days_off_per_week BETWEEN 0 AND 7", name=op.f("ck_wfm_contracts_days_off_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_contracts")),
        sa.UniqueConstraint("name", name=op.f("uq_wfm_contracts_name")),
    )
    op.create_table(
        "wfm_employees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_employees")),
        sa.UniqueConstraint("number", name=op.f("uq_wfm_employees_number")),
    )
    levels = op.create_table(
        "wfm_levels",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_wfm_levels")),
    )
    # The levels are fixed (DESIGN.md): written here, never by the application.
    op.bulk_insert(
        levels,
        [
            {"number": 1000, "name": "Schedule"},
            {"number": 3000, "name": "Actual"},
            {"number": 8000, "name": "Version 1"},
            {"number": 8001, "name": "Version 2"},
            {"number": 8002, "name": "Version 3"},
        ],
    )
    op.create_table(
        "wfm_planning_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_planning_units")),
        sa.UniqueConstraint("name", name=op.f("uq_wfm_planning_units_name")),
    )
    op.create_table(
        "wfm_shift_sequences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("weeks", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.CheckConstraint("weeks >= 1 AND rows >= 1", name=op.f("ck_wfm_shift_sequences_shape")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_shift_sequences")),
        sa.UniqueConstraint("name", name=op.f("uq_wfm_shift_sequences_name")),
    )
    op.create_table(
        "wfm_skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_skills")),
        sa.UniqueConstraint("name", name=op.f("uq_wfm_skills_name")),
    )
    op.create_table(
        "wfm_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "presence",
                "break",
                "illness",
                "vacation",
                "absence",
                "meeting",
                name="activitytype",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("plannable", sa.Boolean(), nullable=False),
        sa.Column("replaceable", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=True),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["wfm_skills.id"], name=op.f("fk_wfm_activities_skill_id_wfm_skills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_activities")),
        sa.UniqueConstraint("code", name=op.f("uq_wfm_activities_code")),
    )
    op.create_table(
        "wfm_employee_contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from",
            name=op.f("ck_wfm_employee_contracts_period_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["wfm_contracts.id"],
            name=op.f("fk_wfm_employee_contracts_contract_id_wfm_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["wfm_employees.id"],
            name=op.f("fk_wfm_employee_contracts_employee_id_wfm_employees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_employee_contracts")),
    )
    with op.batch_alter_table("wfm_employee_contracts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wfm_employee_contracts_employee_id"), ["employee_id"], unique=False
        )

    op.create_table(
        "wfm_employee_planning_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("planning_unit_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from",
            name=op.f("ck_wfm_employee_planning_units_period_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["wfm_employees.id"],
            name=op.f("fk_wfm_employee_planning_units_employee_id_wfm_employees"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["planning_unit_id"],
            ["wfm_planning_units.id"],
            name=op.f("fk_wfm_employee_planning_units_planning_unit_id_wfm_planning_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_employee_planning_units")),
    )
    with op.batch_alter_table("wfm_employee_planning_units", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wfm_employee_planning_units_employee_id"), ["employee_id"], unique=False
        )

    op.create_table(
        "wfm_employee_shift_sequences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shift_sequence_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from",
            name=op.f("ck_wfm_employee_shift_sequences_period_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["wfm_employees.id"],
            name=op.f("fk_wfm_employee_shift_sequences_employee_id_wfm_employees"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shift_sequence_id"],
            ["wfm_shift_sequences.id"],
            name=op.f("fk_wfm_employee_shift_sequences_shift_sequence_id_wfm_shift_sequences"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_employee_shift_sequences")),
    )
    with op.batch_alter_table("wfm_employee_shift_sequences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wfm_employee_shift_sequences_employee_id"), ["employee_id"], unique=False
        )

    op.create_table(
        "wfm_employee_skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from",
            name=op.f("ck_wfm_employee_skills_period_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["wfm_employees.id"],
            name=op.f("fk_wfm_employee_skills_employee_id_wfm_employees"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["wfm_skills.id"], name=op.f("fk_wfm_employee_skills_skill_id_wfm_skills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_employee_skills")),
    )
    with op.batch_alter_table("wfm_employee_skills", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wfm_employee_skills_employee_id"), ["employee_id"], unique=False
        )

    op.create_table(
        "wfm_day_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("base_activity_id", sa.Integer(), nullable=False),
        sa.Column("earliest_start", sa.Integer(), nullable=False),
        sa.Column("latest_start", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("weekdays", sa.String(length=7), nullable=False),
        sa.CheckConstraint(
            "earliest_start <= latest_start", name=op.f("ck_wfm_day_models_start_window")
        ),
        sa.CheckConstraint("length > 0", name=op.f("ck_wfm_day_models_length_positive")),
        sa.ForeignKeyConstraint(
            ["base_activity_id"],
            ["wfm_activities.id"],
            name=op.f("fk_wfm_day_models_base_activity_id_wfm_activities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_day_models")),
        sa.UniqueConstraint("code", name=op.f("uq_wfm_day_models_code")),
    )
    op.create_table(
        "wfm_staff_requirements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("planning_unit_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("required", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["wfm_activities.id"],
            name=op.f("fk_wfm_staff_requirements_activity_id_wfm_activities"),
        ),
        sa.ForeignKeyConstraint(
            ["planning_unit_id"],
            ["wfm_planning_units.id"],
            name=op.f("fk_wfm_staff_requirements_planning_unit_id_wfm_planning_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_staff_requirements")),
        sa.UniqueConstraint(
            "planning_unit_id",
            "activity_id",
            "start",
            name=op.f("uq_wfm_staff_requirements_planning_unit_id"),
        ),
    )
    op.create_table(
        "wfm_break_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day_model_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("earliest_offset", sa.Integer(), nullable=False),
        sa.Column("latest_offset", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "earliest_offset <= latest_offset", name=op.f("ck_wfm_break_rules_corridor")
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["wfm_activities.id"],
            name=op.f("fk_wfm_break_rules_activity_id_wfm_activities"),
        ),
        sa.ForeignKeyConstraint(
            ["day_model_id"],
            ["wfm_day_models.id"],
            name=op.f("fk_wfm_break_rules_day_model_id_wfm_day_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_break_rules")),
    )
    with op.batch_alter_table("wfm_break_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wfm_break_rules_day_model_id"), ["day_model_id"], unique=False
        )

    op.create_table(
        "wfm_schedule_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("day_model_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["wfm_activities.id"],
            name=op.f("fk_wfm_schedule_entries_activity_id_wfm_activities"),
        ),
        sa.ForeignKeyConstraint(
            ["day_model_id"],
            ["wfm_day_models.id"],
            name=op.f("fk_wfm_schedule_entries_day_model_id_wfm_day_models"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["wfm_employees.id"],
            name=op.f("fk_wfm_schedule_entries_employee_id_wfm_employees"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["level"], ["wfm_levels.number"], name=op.f("fk_wfm_schedule_entries_level_wfm_levels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_schedule_entries")),
    )
    with op.batch_alter_table("wfm_schedule_entries", schema=None) as batch_op:
        batch_op.create_index("ix_wfm_schedule_entries_level_day", ["level", "day"], unique=False)
        batch_op.create_index(
            "ix_wfm_schedule_entries_level_employee_day",
            ["level", "employee_id", "day"],
            unique=False,
        )

    op.create_table(
        "wfm_shift_sequence_cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shift_sequence_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("day_model_id", sa.Integer(), nullable=True),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("start", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(day_model_id IS NULL) <> (activity_id IS NULL)",
            name=op.f("ck_wfm_shift_sequence_cells_day_model_or_activity"),
        ),
        sa.CheckConstraint(
            "weekday BETWEEN 0 AND 6", name=op.f("ck_wfm_shift_sequence_cells_weekday_range")
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["wfm_activities.id"],
            name=op.f("fk_wfm_shift_sequence_cells_activity_id_wfm_activities"),
        ),
        sa.ForeignKeyConstraint(
            ["day_model_id"],
            ["wfm_day_models.id"],
            name=op.f("fk_wfm_shift_sequence_cells_day_model_id_wfm_day_models"),
        ),
        sa.ForeignKeyConstraint(
            ["shift_sequence_id"],
            ["wfm_shift_sequences.id"],
            name=op.f("fk_wfm_shift_sequence_cells_shift_sequence_id_wfm_shift_sequences"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wfm_shift_sequence_cells")),
    )
    with op.batch_alter_table("wfm_shift_sequence_cells", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wfm_shift_sequence_cells_shift_sequence_id"),
            ["shift_sequence_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("wfm_shift_sequence_cells", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wfm_shift_sequence_cells_shift_sequence_id"))

    op.drop_table("wfm_shift_sequence_cells")
    with op.batch_alter_table("wfm_schedule_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_wfm_schedule_entries_level_employee_day")
        batch_op.drop_index("ix_wfm_schedule_entries_level_day")

    op.drop_table("wfm_schedule_entries")
    with op.batch_alter_table("wfm_break_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wfm_break_rules_day_model_id"))

    op.drop_table("wfm_break_rules")
    op.drop_table("wfm_staff_requirements")
    op.drop_table("wfm_day_models")
    with op.batch_alter_table("wfm_employee_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wfm_employee_skills_employee_id"))

    op.drop_table("wfm_employee_skills")
    with op.batch_alter_table("wfm_employee_shift_sequences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wfm_employee_shift_sequences_employee_id"))

    op.drop_table("wfm_employee_shift_sequences")
    with op.batch_alter_table("wfm_employee_planning_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wfm_employee_planning_units_employee_id"))

    op.drop_table("wfm_employee_planning_units")
    with op.batch_alter_table("wfm_employee_contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wfm_employee_contracts_employee_id"))

    op.drop_table("wfm_employee_contracts")
    op.drop_table("wfm_activities")
    op.drop_table("wfm_skills")
    op.drop_table("wfm_shift_sequences")
    op.drop_table("wfm_planning_units")
    op.drop_table("wfm_levels")
    op.drop_table("wfm_employees")
    op.drop_table("wfm_contracts")
