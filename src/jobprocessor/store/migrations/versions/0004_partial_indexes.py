"""three indexes of the jobs table hold only the rows they are asked about

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 03:00:00

A status change cannot be a heap-only update (``status`` is indexed), so each one
adds an entry to every index whose predicate the new row version meets: a job
wrote 8 full indexes at its claim and again at its finish. Each of these three
is only ever asked about some rows: ``worker_id`` about held jobs (a lost
worker's rescue, a finish), ``restarted_from`` and ``finished_at`` about
non-NULL values (a job's restarts; the retention purge). As partial indexes
they skip the rest: a claim writes two fewer entries, a finish two fewer, a
submission three fewer.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TABLE = "jobprocessor_jobs"
_PARTIAL = {
    "ix_jobprocessor_jobs_worker_id": ("worker_id", "status IN ('running', 'canceling')"),
    "ix_jobprocessor_jobs_restarted_from": ("restarted_from", "restarted_from IS NOT NULL"),
    "ix_jobprocessor_jobs_finished_at": ("finished_at", "finished_at IS NOT NULL"),
}


def upgrade() -> None:
    for name, (column, where) in _PARTIAL.items():
        op.drop_index(name, _TABLE)
        op.create_index(
            name,
            _TABLE,
            [column],
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    for name, (column, _) in _PARTIAL.items():
        op.drop_index(name, _TABLE)
        op.create_index(name, _TABLE, [column])
