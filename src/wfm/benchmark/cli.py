"""``python -m wfm.benchmark solve INSTANCE.txt``: a benchmark instance through the job system.

The command does what an application would: it submits ``wfm.import_benchmark``
and then ``wfm.create_optimized_schedule`` for the new planning unit, waits for each,
writes the roster as JSON (``{"employee id": ["D", "", ...]}``) and prints the
objective. So the number measured is the job's, with its worker, job process and
database in the path. Without ``--database-url`` the jobs run in a temporary SQLite
database; unless ``--no-worker`` is given, a worker runs in this process for the
duration (one slot: the job itself uses ``--threads`` cores).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from jobprocessor import Client, Role, Status
from jobprocessor.settings import Settings
from wfm import db
from wfm.benchmark.importing import FIRST_DAY
from wfm.benchmark.instance import InstanceError, parse_instance

#: Seconds allowed beyond the time limit for a job to start, load and save.
SLACK = 300.0


class CommandError(Exception):
    """The command cannot go on; the message is printed as one line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wfm.benchmark", description="The Curtois & Qu benchmark in wfm."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    solve = commands.add_parser(
        "solve", help="Import an instance, optimize it through the job system, write the roster."
    )
    solve.add_argument("instance", type=Path, help="an instance in the benchmark's text format")
    solve.add_argument("--time-limit", type=float, default=60.0, help="seconds (default 60)")
    solve.add_argument("--threads", type=int, default=2, help="solver threads (default 2)")
    solve.add_argument(
        "--database-url", help="the jobs' database (default: a temporary SQLite file)"
    )
    solve.add_argument("--out", type=Path, help="where to write the roster as JSON")
    solve.add_argument(
        "--no-worker",
        action="store_true",
        help="do not run a worker here (one already serves the database)",
    )
    return parser


@contextlib.contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="wfm-benchmark-") as folder:
        yield f"sqlite:///{folder}/jobs.sqlite3"


@contextlib.contextmanager
def _worker(settings: Settings, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    from jobprocessor.worker import Worker

    worker = Worker(settings, concurrency=1, apps=["wfm.jobs"])
    thread = threading.Thread(target=worker.run, name="benchmark-worker", daemon=True)
    thread.start()
    try:
        if not worker.ready.wait(120):
            raise CommandError("the worker did not start")
        yield
    finally:
        worker.stop()
        thread.join(60)


def _run(client: Client, type_name: str, params: dict[str, Any], timeout: float) -> Any:
    """Submit a job, wait for it, and return its result (CommandError if it did not succeed)."""
    job = client.submit(type_name, params)
    try:
        done = client.wait(job.id, timeout=timeout)
    except KeyboardInterrupt:
        client.cancel(job.id)
        client.wait(job.id, timeout=30)
        raise
    if done.status is not Status.SUCCEEDED:
        reason = done.error.message if done.error is not None else done.status.value
        raise CommandError(f"job {job.id} ({type_name}) {done.status.value}: {reason}")
    return done.result


def solve(args: argparse.Namespace) -> dict[str, Any]:
    """Import and optimize one instance through the jobs; the optimize job's result."""
    try:
        text = args.instance.read_text()
    except OSError as error:
        raise CommandError(f"cannot read {args.instance}: {error.strerror}") from None
    try:
        parse_instance(text)
    except InstanceError as error:
        raise CommandError(f"{args.instance}: {error}") from None
    # Job processes learn the database from the environment, as under `jobprocessor worker`.
    with (
        _database(args.database_url) as url,
        _environment("JOBPROCESSOR_DATABASE_URL", url),
    ):
        return _submit(args, text, url)


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def _submit(args: argparse.Namespace, text: str, url: str) -> dict[str, Any]:
    """The two jobs, one after the other, with a worker here unless told otherwise."""
    db.open_engine(url).dispose()  # wfm's schema, before any job needs it
    with (
        Client(url, user="benchmark", role=Role.ADMIN) as client,
        _worker(Settings(database_url=url), not args.no_worker),
    ):
        name = f"{args.instance.stem} {uuid.uuid4().hex[:8]}"
        imported = _run(client, "wfm.import_benchmark", {"text": text, "unit_name": name}, SLACK)
        params = {
            "start": FIRST_DAY.isoformat(),
            "planning_unit": imported["planning_unit"],
            "time_limit": args.time_limit,
            "threads": args.threads,
        }
        result: dict[str, Any] = _run(
            client, "wfm.create_optimized_schedule", params, args.time_limit + SLACK
        )
    return result


def write_roster(path: Path, roster: dict[str, list[str]]) -> None:
    """The roster as JSON, one employee a line."""
    lines = [f" {json.dumps(employee)}: {json.dumps(row)}" for employee, row in roster.items()]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; 0 when a roster was written, 1 when not, 2 for bad input."""
    args = _parser().parse_args(argv)
    try:
        result = solve(args)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if "cannot read" in str(error) or "line " in str(error) else 1
    roster = result.get("roster")
    if roster is None:
        print(f"error: no roster ({result.get('status')})", file=sys.stderr)
        return 1
    if args.out is not None:
        write_roster(args.out, roster)
    first = result.get("first_solution_seconds")
    print(
        f"objective {result['objective']} ({result['status']}, lower bound {result['bound']}, "
        f"first roster after {first:.2f} s, {result['solve_seconds']:.1f} s)"
        if first is not None
        else f"objective {result['objective']}"
    )
    return 0
