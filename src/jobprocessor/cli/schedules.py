"""``jobprocessor schedules``: recurring jobs (docs/reference/schedules.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from jobprocessor.cli import output
from jobprocessor.cli.common import (
    AppOption,
    JsonOption,
    actor_of,
    load_cli_apps,
    open_cli_service,
    params_object,
    reports_errors,
)
from jobprocessor.declarations import DEFAULT_USER
from jobprocessor.schedules import ScheduleInfo
from jobprocessor.ticks import Missed, Schedule

schedules_app = typer.Typer(
    help="Recurring jobs: a job of a type at the times of a cron expression.",
    no_args_is_help=True,
)
Name = Annotated[str, typer.Argument(metavar="NAME", help="The schedule's name.")]


@schedules_app.command("add")
@reports_errors
def schedules_add(
    name: Name,
    cron: Annotated[
        str, typer.Option("--cron", help="Five fields: minute hour day month weekday.")
    ],
    type_name: Annotated[str, typer.Option("--type", help="The job type it submits.")],
    params: Annotated[str, typer.Option("--params", help="Settings as a JSON object.")] = "{}",
    timezone: Annotated[
        str, typer.Option("--timezone", help="IANA time zone, e.g. Europe/Berlin.")
    ] = "UTC",
    user: Annotated[str, typer.Option("--user", help="Whom its jobs run as.")] = DEFAULT_USER,
    missed: Annotated[
        Missed, typer.Option("--missed", case_sensitive=False, help="Ticks missed while down.")
    ] = Missed.LATEST,
    apps: AppOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a schedule; its ticks start after now. Bad input is refused, naming the field."""
    settings = params_object(params)
    load_cli_apps(apps)
    service = open_cli_service()
    schedule = Schedule(name, cron, type_name, settings, timezone, user, missed)
    info = service.schedules.add(actor_of(service, None), schedule)
    if as_json:
        output.print_json(info.to_dict())
    else:
        typer.echo(f"schedule {info.name} added: {info.description}; next run {_next(info)}")


@schedules_app.command("list")
@reports_errors
def schedules_list(as_json: JsonOption = False) -> None:
    """Every schedule: when it runs, what it submits, its next run and last job."""
    service = open_cli_service()
    found = service.schedules.all(actor_of(service, None))
    if as_json:
        output.print_json([info.to_dict() for info in found])
        return
    if not found:
        typer.echo("no schedules")
        return
    for info in found:
        schedule = info.stored.schedule
        state = "paused" if info.stored.paused else f"next {_next(info)}"
        last = f"last job {info.stored.last_job_id}" if info.stored.last_job_id else "no job yet"
        typer.echo(
            f"{schedule.name}\t{schedule.cron} ({schedule.timezone})\t{schedule.type}\t"
            f"{schedule.user}\t{state}\t{last}"
        )


@schedules_app.command("pause")
@reports_errors
def schedules_pause(name: Name) -> None:
    """Submit nothing until resumed."""
    service = open_cli_service()
    service.schedules.pause(actor_of(service, None), name)
    typer.echo(f"schedule {name} paused")


@schedules_app.command("resume")
@reports_errors
def schedules_resume(name: Name) -> None:
    """Submit again; ticks missed while paused follow the schedule's --missed policy."""
    service = open_cli_service()
    info = service.schedules.resume(actor_of(service, None), name)
    typer.echo(f"schedule {name} resumed; next run {_next(info)}")


@schedules_app.command("delete")
@reports_errors
def schedules_delete(name: Name) -> None:
    """Remove a schedule; the jobs it submitted stay."""
    service = open_cli_service()
    service.schedules.delete(actor_of(service, None), name)
    typer.echo(f"schedule {name} deleted")


def _next(info: ScheduleInfo) -> str:
    return f"{info.stored.next_run_at:%Y-%m-%d %H:%M} UTC"
