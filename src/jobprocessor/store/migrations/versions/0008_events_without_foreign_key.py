"""the timeline's events no longer checked against the jobs table

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 15:20:00

A worker's round writes two events per job, and PostgreSQL checked each against the
jobs table: a query of its own and a row lock on the job, the round's own update of
that very row notwithstanding. Measured on rounds alone, that check was a sixth of
the database's time per round. Events are written only by the store, always for a
job it holds or has just created, and the store deletes a job's events with the job
(``JobStore.delete_finished``, ``purge_finished``), so the foreign key and its
cascade go.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_EVENTS = "jobprocessor_job_events"
_FOREIGN_KEY = "fk_jobprocessor_job_events_job_id_jobprocessor_jobs"


def upgrade() -> None:
    with op.batch_alter_table(_EVENTS) as batch:
        batch.drop_constraint(_FOREIGN_KEY, type_="foreignkey")


def downgrade() -> None:
    # Events of jobs deleted meanwhile would fail the key: they go first.
    op.execute(f"DELETE FROM {_EVENTS} WHERE job_id NOT IN (SELECT id FROM jobprocessor_jobs)")
    with op.batch_alter_table(_EVENTS) as batch:
        batch.create_foreign_key(
            _FOREIGN_KEY, "jobprocessor_jobs", ["job_id"], ["id"], ondelete="CASCADE"
        )
