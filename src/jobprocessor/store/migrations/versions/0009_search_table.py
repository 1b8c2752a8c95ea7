"""the title search's index on a table of its own, off the worker's updates (PostgreSQL)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 16:00:00

Migration 0003 put the trigram index on ``lower(title)`` of the jobs table itself.
A worker's claim and its outcome each update the job's row, and PostgreSQL writes
a new entry into every index of a row it cannot update in place, the title's
trigrams included, although the title never changes: about a third of what the
indexes cost a round (``bench/engine_changes.md``, "What fewer indexes could give").

The index now lives on a search table: one row per job with the columns a search
filters by that never change (title, submitter, type, category, queue), written
once when a job is stored and removed with it by statement triggers on the jobs
table, as SQLite's FTS5 table already was. A search narrows its matches there and
reads only the page's jobs from the jobs table. Where 0003 could not build its
index (no pg_trgm) there is nothing to move. SQLite is unchanged.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JOBS = "jobprocessor_jobs"
OLD_INDEX = "ix_jobprocessor_jobs_title_trgm"
SEARCH = "jobprocessor_job_search"
INDEX = "ix_jobprocessor_job_search_title_trgm"
#: The jobs' columns the search table copies (beside ``id``, its ``job_id``).
COPIED = ("title", "submitted_by", "type", "category", "queue")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if bind.exec_driver_sql(f"SELECT to_regclass('{OLD_INDEX}')").scalar() is None:
        return
    columns = ", ".join(f"{name} text NOT NULL" for name in COPIED)
    copied = ", ".join(COPIED)
    op.execute(f"CREATE TABLE {SEARCH} (job_id bigint PRIMARY KEY, {columns})")
    op.execute(f"INSERT INTO {SEARCH} SELECT id, {copied} FROM {JOBS}")
    op.execute(f"CREATE INDEX {INDEX} ON {SEARCH} USING gin (lower(title) gin_trgm_ops)")
    op.execute(f"DROP INDEX {OLD_INDEX}")
    # One statement per statement on the jobs table, whatever its number of rows. A
    # row left by a delete that skipped triggers (session_replication_role = replica)
    # is replaced rather than refused.
    replaced = ", ".join(f"{name} = excluded.{name}" for name in COPIED)
    _trigger(
        "added",
        f"AFTER INSERT ON {JOBS} REFERENCING NEW TABLE AS added FOR EACH STATEMENT",
        f"INSERT INTO {SEARCH} SELECT id, {copied} FROM added "
        f"ON CONFLICT (job_id) DO UPDATE SET {replaced}",
    )
    _trigger(
        "removed",
        f"AFTER DELETE ON {JOBS} REFERENCING OLD TABLE AS removed FOR EACH STATEMENT",
        f"DELETE FROM {SEARCH} WHERE job_id IN (SELECT id FROM removed)",
    )
    # The copied columns do not change; if one ever does, its row follows. A
    # worker's updates name none of them, so this trigger never fires for them.
    changed = ", ".join(f"{name} = NEW.{name}" for name in COPIED)
    _trigger(
        "changed",
        f"AFTER UPDATE OF {copied} ON {JOBS} FOR EACH ROW",
        f"UPDATE {SEARCH} SET {changed} WHERE job_id = NEW.id",
    )
    _trigger("emptied", f"AFTER TRUNCATE ON {JOBS} FOR EACH STATEMENT", f"TRUNCATE {SEARCH}")


def _trigger(name: str, when: str, statement: str) -> None:
    function = f"{SEARCH}_{name}"
    op.execute(
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {statement}; RETURN NULL; END $$"
    )
    op.execute(f"CREATE TRIGGER {function} {when} EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if bind.exec_driver_sql(f"SELECT to_regclass('{SEARCH}')").scalar() is None:
        return
    for name in ("added", "removed", "changed", "emptied"):
        op.execute(f"DROP TRIGGER IF EXISTS {SEARCH}_{name} ON {JOBS}")
        op.execute(f"DROP FUNCTION IF EXISTS {SEARCH}_{name}()")
    op.execute(f"DROP TABLE {SEARCH}")
    op.execute(f"CREATE INDEX {OLD_INDEX} ON {JOBS} USING gin (lower(title) gin_trgm_ops)")
