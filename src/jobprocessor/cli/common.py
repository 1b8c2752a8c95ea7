"""What the CLI's commands share: the global options, error reporting, the service."""

from __future__ import annotations

import functools
import getpass
import json
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from jobprocessor.errors import InvalidInput, JobProcessorError
from jobprocessor.model import Actor, Role
from jobprocessor.registry import load_apps
from jobprocessor.service import JobService, open_service
from jobprocessor.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

AppOption = Annotated[
    list[str] | None,
    typer.Option(
        "--app", help="Module whose job types to load (repeatable; also JOBPROCESSOR_APP)."
    ),
]
QueuesOption = Annotated[
    str | None,
    typer.Option(
        "--queues",
        metavar="SPEC",
        help="Queues to serve, each with an optional cap on its slots, '*' for every "
        "other queue: e.g. scheduling=2,report=4,* (default: every queue, no caps).",
    ),
]
UserOption = Annotated[
    str | None, typer.Option("--user", help="Act as this user (default: you, as an admin).")
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON (docs/reference/job-json.md).")
]


class State:
    """Options of the top-level command, shared with the subcommands."""

    database_url: str | None = None

    @classmethod
    def settings(cls) -> Settings:
        overrides: dict[str, Any] = {"database_url": cls.database_url} if cls.database_url else {}
        try:
            return Settings.model_validate(overrides)
        except ValidationError as error:
            problems = "; ".join(
                f"JOBPROCESSOR_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                for e in error.errors()
            )
            raise InvalidInput(f"invalid setting: {problems}") from None


def say_error(message: str) -> None:
    """One line on stderr, whatever line breaks the message (e.g. psycopg's) carries."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)


def fail(message: str, code: int) -> typer.Exit:
    say_error(message)
    return typer.Exit(code)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the service's errors into one stderr line and the documented exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except JobProcessorError as error:
            raise fail(str(error), error.exit_code) from None
        except DBAPIError as error:
            raise fail(f"database error: {error.orig}", 1) from None

    return wrapper


def open_cli_service() -> JobService:
    return open_service(State.settings())


def load_cli_apps(apps: list[str] | None) -> list[str]:
    modules = list(apps or [])
    env_apps = State.settings().app
    modules += [m for m in env_apps.split(",") if m.strip()]
    load_apps(modules)
    return modules


def actor_of(service: JobService, user: str | None) -> Actor:
    if user is None:
        return Actor(getpass.getuser() or "cli", Role.ADMIN)
    return service.actor_for(user)


def params_object(text: str) -> dict[str, Any]:
    """``--params``: a JSON object, or InvalidInput naming the option (nothing stored)."""
    try:
        params = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"--params is not valid JSON: {error}", fields={"params": "json"}
        ) from None
    if not isinstance(params, dict):
        raise InvalidInput(
            "--params must be a JSON object, such as '{\"n\": 5}'",
            fields={"params": "not an object"},
        )
    return params
