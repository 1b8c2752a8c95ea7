"""Settings, declared once: name, type, default, environment variable and help.

Every setting can be given as ``JOBPROCESSOR_<NAME>`` in the environment; the CLI
overrides a few of them with options. ``jobprocessor settings`` prints this table,
and docs/settings.md is generated from it, so the three never disagree.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "jobprocessor.sqlite3"


def default_database_url() -> str:
    """The embedded SQLite file under ``./var/`` (created on first use)."""
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


class Settings(BaseSettings):
    """Engine settings; see each field's description."""

    model_config = SettingsConfigDict(env_prefix="JOBPROCESSOR_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB.",
    )
    app: str = Field(
        default="",
        description="Comma-separated modules to import for their job types (like --app).",
    )
    heartbeat_interval: float = Field(
        default=2.0, gt=0, description="Seconds between a worker's heartbeats."
    )
    heartbeat_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds without a heartbeat after which a worker counts as lost and "
        "its running jobs fail with WorkerLost (or are re-queued if retries allow).",
    )
    gone_worker_grace: float = Field(
        default=2.0,
        gt=0,
        description="PostgreSQL: a worker whose database session has ended (its process "
        "is gone) is taken for lost once its last heartbeat is this many seconds old, "
        "without waiting for heartbeat_timeout (which still applies to a worker cut off "
        "from the database but alive).",
    )
    dead_connection_timeout: float = Field(
        default=10.0,
        gt=0,
        description="PostgreSQL: seconds after which a connection whose other end went "
        "silent (a network partition, a frozen host) is given up, by the engine and by the "
        "server (TCP keepalives, tcp_user_timeout): a cut-off worker's sessions end and "
        "their locks are freed.",
    )
    idle_in_transaction_timeout: float = Field(
        default=30.0,
        ge=0,
        description="PostgreSQL: the server ends a session of the engine (workers, the "
        "console) that waits inside a transaction this many seconds, so that a frozen "
        "worker cannot hold locks others wait on; 0 never does. Jobs' own connections "
        "(jobprocessor.database) are not affected.",
    )
    poll_interval: float = Field(
        default=0.2,
        gt=0,
        description="Seconds between looks for new jobs when nothing woke the worker "
        "(PostgreSQL wakes it with LISTEN/NOTIFY, SQLite with the commit watch).",
    )
    commit_watch_interval: float = Field(
        default=0.001,
        ge=0,
        description="SQLite: seconds between a worker's looks at whether anyone committed "
        "(PRAGMA data_version, microseconds each), so that a submitted job starts within "
        "milliseconds rather than at the next poll (an idle worker then uses about 3 % of "
        "a core; 0.005: 2 %); at most every 0.005 s while the worker's claims fill its "
        "slots; 0 leaves only poll_interval.",
    )
    schedule_check_interval: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between a worker's (or the console's) looks for recurring "
        "schedules whose tick is due: a scheduled job is submitted within this long of its "
        "tick.",
    )
    cancel_poll_interval: float = Field(
        default=0.25, gt=0, description="Seconds between a worker's looks for cancel requests."
    )
    shutdown_timeout: float = Field(
        default=30.0,
        ge=0,
        description="On SIGTERM/SIGINT, seconds running jobs get to finish before they "
        "are canceled.",
    )
    retention_days: float = Field(
        default=30.0,
        ge=0,
        description="Finished jobs older than this are purged with their reports (0 keeps all).",
    )
    retention_interval: float = Field(
        default=3600.0, gt=0, description="Seconds between a worker's retention purges."
    )
    purge_batch_size: int = Field(
        default=500, gt=0, description="Jobs deleted per transaction when purging."
    )
    claim_batch_size: int = Field(
        default=32,
        gt=0,
        description="Most jobs a worker claims in one round trip for its free slots (jobs "
        "claimed ahead, with prefetch: up to prefetch per slot; capping those at this "
        "number cost a sixth of the jobs/s).",
    )
    round_linger: float = Field(
        default=0.002,
        ge=0,
        description="Seconds a worker waits, once a job has ended while others still "
        "run, for more of them to end, so that one round writes their outcomes and claims "
        "their successors together; only while its recent jobs took at most five times as "
        "long, claim to outcome (very short jobs: about a third more jobs/s at 4 slots on "
        "PostgreSQL); 0 writes every outcome at once.",
    )
    claim_lanes: int = Field(
        default=1,
        gt=0,
        description="PostgreSQL: rounds (outcomes written, jobs claimed) a worker keeps in "
        "flight at once, each by a lane of its own (a thread and a connection) that runs an "
        "equal share of the slots; at most one per slot. Two lanes "
        "help a worker of few slots running very short jobs, on a machine with cores to "
        "spare; on a busy one they split batches and cost more than they save. "
        "SQLite writes one at a time and always uses one.",
    )
    prefetch: int = Field(
        default=0,
        ge=0,
        le=64,
        description="PostgreSQL: jobs per slot a worker claims ahead, so that a slot whose "
        "job ends starts the next at once while a round records the outcome (very short "
        "jobs: two to four times as many jobs/s, 1 to 8 slots). A job claimed ahead shows "
        "queued until it starts and can be canceled meanwhile; the outcome of a job is then "
        "durable a round after the next job started, and a job its worker had just started "
        "when the worker was lost runs again. Only while the recent jobs took under 0.1 s; "
        "never a job of a limit. 0: off. SQLite ignores it (slower there).",
    )
    session_hours: float = Field(
        default=12.0, gt=0, description="Hours a console sign-in stays valid."
    )
    login_max_failures: int = Field(
        default=5,
        gt=0,
        description="Failed sign-ins for one user name within login_window_minutes after which "
        "further attempts are refused until the window has passed (an address gets 4 times as "
        "many, over all names).",
    )
    login_window_minutes: float = Field(
        default=15.0, gt=0, description="The window over which failed sign-ins are counted."
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        gt=0,
        description="Largest request body the web server accepts (larger ones get 413).",
    )


def settings_markdown() -> str:
    """The settings as a Markdown table, for ``jobprocessor settings`` and docs/settings.md."""
    lines = [
        "| Setting | Environment variable | Default | Meaning |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = default_database_url() if field.default_factory else field.default
        shown = f"`{default}`" if default != "" else "(none)"
        variable = f"`JOBPROCESSOR_{name.upper()}`"
        lines.append(f"| `{name}` | {variable} | {shown} | {field.description} |")
    return "\n".join(lines) + "\n"
