"""Fixtures of the wfm tests: databases with wfm's schema, small hand-made data, and a
way to run a job function in the test process exactly as a job process would.

The engine's ``database_url`` fixture (SQLite and PostgreSQL) clones templates;
here the templates also get wfm's schema, so each test starts from both schemas
at no extra cost.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import wfm_data
from sqlalchemy import Engine

import wfm.jobs  # noqa: F401 - registers the wfm job types
from jobprocessor.context import JobContext
from jobprocessor.registry import registry
from jobprocessor.store.engine import create_db_engine
from jobprocessor.store.schema import upgrade
from jobprocessor.worker.messages import Artifact, FromJob, LogEntry, Recorder
from support import pg_admin, pg_url
from wfm import db

WFM_PG_TEMPLATE = f"wfm_test_template_{os.getpid()}"


def _migrate(url: str) -> None:
    engine = create_db_engine(url)
    upgrade(engine)
    db.upgrade(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine's template, with wfm's schema too (overrides the root fixture)."""
    path = tmp_path_factory.mktemp("wfm-template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """The engine's PostgreSQL template, with wfm's schema too."""
    with pg_admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {WFM_PG_TEMPLATE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {WFM_PG_TEMPLATE}")
    _migrate(pg_url(WFM_PG_TEMPLATE))
    yield WFM_PG_TEMPLATE
    with pg_admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {WFM_PG_TEMPLATE} WITH (FORCE)")


@pytest.fixture
def engine(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """An engine on the test database, which job functions (and job processes) also use."""
    monkeypatch.setenv("JOBPROCESSOR_DATABASE_URL", database_url)
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def tiny(engine: Engine) -> wfm_data.Tiny:
    """Three employees, a few activities and one day model: exact results are known."""
    return wfm_data.make_tiny(engine)


class JobRun:
    """The outcome of a job function run in the test process."""

    def __init__(self, result: Any, messages: list[FromJob]) -> None:
        self.result = result
        self.messages = messages

    def lines(self, level: str | None = None) -> list[str]:
        return [
            m.message for m in self.messages if isinstance(m, LogEntry) and level in (None, m.level)
        ]

    def artifact(self, name: str) -> bytes:
        for message in self.messages:
            if isinstance(message, Artifact) and message.name == name:
                return bytes(message.data)
        raise AssertionError(f"no artifact {name!r}")


@pytest.fixture
def run_job(engine: Engine) -> Callable[..., JobRun]:
    """Validate params as submission does, then call the job function as a job process."""

    def run(name: str, **params: Any) -> JobRun:
        job_type = registry.get(name)
        stored = job_type.validate(params)
        recorder = Recorder()
        ctx = JobContext(uuid.uuid4().int % 10_000, stored, "tester", recorder)
        result = job_type.function(ctx, **job_type.load(stored))
        ctx.flush()
        return JobRun(result, recorder.sent)

    return run
