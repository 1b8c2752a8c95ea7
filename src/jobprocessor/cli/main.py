"""``jobprocessor``: run workers and manage jobs, users and the database.

Exit codes (docs/reference/cli.md): 0 ok; 1 refused or failed; 2 usage or bad input;
3 not found; 4 ``wait`` timed out. Errors are one line on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import typer

from jobprocessor.cli import output
from jobprocessor.cli.common import (
    AppOption,
    JsonOption,
    QueuesOption,
    State,
    UserOption,
    actor_of,
    load_cli_apps,
    open_cli_service,
    params_object,
    reports_errors,
    say_error,
)
from jobprocessor.cli.schedules import schedules_app
from jobprocessor.cli.serve import serve
from jobprocessor.errors import InvalidInput, JobProcessorError
from jobprocessor.model import Role, Status, StatusGroup
from jobprocessor.queues import QueueSpec
from jobprocessor.service import ListFilter, open_service
from jobprocessor.settings import settings_markdown
from jobprocessor.submission import SubmitOptions

app = typer.Typer(
    name="jobprocessor",
    help="Durable background jobs that really stop, with reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
jobs_app = typer.Typer(
    help="Submit, follow, cancel, restart and delete jobs.", no_args_is_help=True
)
users_app = typer.Typer(help="Users of the console and the API.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(db_app, name="db")
app.add_typer(schedules_app, name="schedules")


@app.callback()
def main_options(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="JOBPROCESSOR_DATABASE_URL",
            help="sqlite:///PATH or postgresql+psycopg://… (default: ./var/jobprocessor.sqlite3).",
        ),
    ] = None,
) -> None:
    """Durable background jobs that really stop, with reports."""
    State.database_url = database_url


# -- worker and database ---------------------------------------------------------


@app.command()
@reports_errors
def worker(
    apps: AppOption = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Job slots.")] = 2,
    queues: QueuesOption = None,
) -> None:
    """Run jobs until SIGTERM/SIGINT (a second signal stops at once)."""
    from jobprocessor.cli.running import configure_logging, run_worker
    from jobprocessor.worker import Worker

    spec = QueueSpec.parse(queues)
    configure_logging()
    modules = load_cli_apps(apps)
    run_worker(Worker(State.settings(), concurrency=concurrency, apps=modules, queues=spec))


@app.command("settings")
def show_settings() -> None:
    """Every setting with its environment variable, default and meaning."""
    typer.echo(settings_markdown(), nl=False)


@db_app.command("upgrade")
@reports_errors
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    open_service(State.settings())
    typer.echo("database is up to date")


@db_app.command("purge")
@reports_errors
def db_purge(
    older_than_days: Annotated[
        float | None,
        typer.Option(min=0, help="Age in days (default: the retention setting)."),
    ] = None,
) -> None:
    """Delete finished jobs older than the retention age, with their reports."""
    settings = State.settings()
    if older_than_days is None and settings.retention_days == 0:
        typer.echo("retention is off (retention_days = 0 keeps all jobs): nothing purged")
        return
    days = settings.retention_days if older_than_days is None else older_than_days
    count = open_service(settings).purge(older_than_days=days, batch_size=settings.purge_batch_size)
    typer.echo(f"purged {count} job(s) finished more than {days:g} day(s) ago")


# -- jobs -------------------------------------------------------------------------


@jobs_app.command("submit")
@reports_errors
def jobs_submit(
    type_name: Annotated[str, typer.Argument(metavar="TYPE", help="Job type, e.g. diag.count.")],
    params: Annotated[str, typer.Option("--params", help="Settings as a JSON object.")] = "{}",
    user: UserOption = None,
    title: Annotated[
        str | None, typer.Option("--title", help="Title instead of the type's.")
    ] = None,
    priority: Annotated[
        int | None, typer.Option("--priority", help="-100 to 100, higher runs sooner.")
    ] = None,
    queue: Annotated[
        str | None, typer.Option("--queue", help="Queue instead of the type's.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds it may run before it is stopped.")
    ] = None,
    run_at: Annotated[
        str | None,
        typer.Option("--run-at", metavar="ISO", help="Not before, e.g. 2026-12-01T06:00+01:00."),
    ] = None,
    delay: Annotated[
        float | None, typer.Option("--delay", help="Not before this many seconds from now.")
    ] = None,
    apps: AppOption = None,
    as_json: JsonOption = False,
) -> None:
    """Queue a job; its settings are checked first and nothing is stored if they are bad."""
    settings = params_object(params)
    options = SubmitOptions(
        title=title,
        priority=priority,
        queue=queue,
        timeout=timeout,
        run_at=_moment(run_at),
        delay=delay,
    )
    load_cli_apps(apps)
    service = open_cli_service()
    job = service.submit(actor_of(service, user), type_name, settings, options)
    if as_json:
        output.print_json(job.to_dict())
    else:
        typer.echo(f"submitted job {job.id}: {job.title}")


def _moment(text: str | None) -> datetime | None:
    """``--run-at``: ISO 8601 (a zone is required; checked with the other choices)."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"--run-at: {text!r} is not an ISO 8601 time, such as 2026-12-01T06:00:00+01:00",
            fields={"run_at": "not ISO 8601"},
        ) from None


@jobs_app.command("list")
@reports_errors
def jobs_list(
    status_group: Annotated[
        StatusGroup, typer.Option("--status-group", case_sensitive=False)
    ] = StatusGroup.ALL,
    status: Annotated[Status | None, typer.Option("--status", case_sensitive=False)] = None,
    user: Annotated[str | None, typer.Option("--user", help="Jobs started by this user.")] = None,
    type_name: Annotated[str | None, typer.Option("--type", help="Jobs of this type.")] = None,
    category: Annotated[str | None, typer.Option("--category")] = None,
    queue: Annotated[str | None, typer.Option("--queue", help="Jobs of this queue.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    cursor: Annotated[str | None, typer.Option("--cursor", help="Continue after this id.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Jobs, newest first."""
    service = open_cli_service()
    admin = actor_of(service, None)
    page = service.list_jobs(
        admin,
        ListFilter(
            status_group=status_group,
            status=status,
            user=user,
            type=type_name,
            category=category,
            queue=queue,
            limit=limit,
            cursor=cursor,
        ),
    )
    if as_json:
        output.print_json([job.to_dict() for job in page.items])
    elif not page.items:
        typer.echo("no jobs match")
    else:
        typer.echo(output.job_table(page.items))
        if page.next_cursor:
            typer.echo(f"(more: --cursor {page.next_cursor})")


@jobs_app.command("show")
@reports_errors
def jobs_show(
    job_id: Annotated[int, typer.Argument(metavar="ID")], as_json: JsonOption = False
) -> None:
    """One job."""
    service = open_cli_service()
    job = service.get(actor_of(service, None), job_id)
    if as_json:
        output.print_json(job.to_dict())
    else:
        typer.echo(output.job_details(job))


@jobs_app.command("report")
@reports_errors
def jobs_report(
    job_id: Annotated[int, typer.Argument(metavar="ID")], as_json: JsonOption = False
) -> None:
    """A job's report: result, log, files and timeline."""
    service = open_cli_service()
    report = service.report(actor_of(service, None), job_id)
    if as_json:
        output.print_json(report.to_dict(artifact_url="/api/v1/jobs/{id}/artifacts/{name}"))
    else:
        typer.echo(output.report_text(report))


def _each(
    ids: list[int], action: Callable[[int], Any], say: Callable[[int, Any], str | None]
) -> None:
    """Apply an action to every id; report each refusal; exit with the first error's code."""
    code = 0
    for job_id in ids:
        try:
            result = action(job_id)
        except JobProcessorError as error:
            say_error(str(error))
            code = code or error.exit_code
            continue
        message = say(job_id, result)
        if message:
            typer.echo(message)
    if code:
        raise typer.Exit(code)


@jobs_app.command("cancel")
@reports_errors
def jobs_cancel(
    ids: Annotated[list[int], typer.Argument(metavar="ID...")], user: UserOption = None
) -> None:
    """Cancel jobs: a queued one at once, a running one is asked to stop (then forced)."""
    service = open_cli_service()
    actor = actor_of(service, user)
    _each(ids, lambda i: service.cancel(actor, i), lambda i, job: f"job {i}: {job.status.value}")


@jobs_app.command("restart")
@reports_errors
def jobs_restart(
    ids: Annotated[list[int], typer.Argument(metavar="ID...")],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start finished jobs again as new jobs with their original settings."""
    service = open_cli_service()
    actor = actor_of(service, user)
    created: list[dict[str, Any]] = []

    def say(job_id: int, job: Any) -> str | None:
        created.append(job.to_dict())
        return None if as_json else f"job {job_id}: restarted as job {job.id}"

    try:
        _each(ids, lambda i: service.restart(actor, i), say)
    finally:
        if as_json and created:
            output.print_json(created[0] if len(ids) == 1 else created)


@jobs_app.command("delete")
@reports_errors
def jobs_delete(
    ids: Annotated[list[int], typer.Argument(metavar="ID...")], user: UserOption = None
) -> None:
    """Delete finished jobs with their reports and files."""
    service = open_cli_service()
    actor = actor_of(service, user)
    _each(ids, lambda i: service.delete(actor, i), lambda i, _: f"job {i}: deleted")


@jobs_app.command("wait")
@reports_errors
def jobs_wait(
    job_id: Annotated[int, typer.Argument(metavar="ID")],
    timeout: Annotated[float | None, typer.Option("--timeout", min=0, help="Seconds.")] = None,
) -> None:
    """Wait until a job is finished: exit 0 if it succeeded, 1 otherwise, 4 on timeout."""
    service = open_cli_service()
    job = service.wait(actor_of(service, None), job_id, timeout=timeout)
    typer.echo(f"job {job_id}: {job.status.value}")
    if job.status is not Status.SUCCEEDED:
        raise typer.Exit(1)


# -- users and tokens ---------------------------------------------------------------


@users_app.command("add")
@reports_errors
def users_add(
    name: str,
    role: Annotated[Role, typer.Option("--role", case_sensitive=False)] = Role.USER,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
) -> None:
    """Add a user who can sign in to the console (with a password) or use tokens."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InvalidInput("the password read from standard input is empty")
    open_cli_service().add_user(name, role=role, password=password, display_name=display_name)
    typer.echo(f"user {name} added ({role.value})")


@users_app.command("list")
@reports_errors
def users_list() -> None:
    """Users and their roles."""
    service = open_cli_service()
    for user in service.visible_users(actor_of(service, None)):
        typer.echo(f"{user.name}\t{user.role.value}\t{user.display_name}")


@tokens_app.command("create")
@reports_errors
def tokens_create(name: str) -> None:
    """Create an API token for a user; it is printed once and stored only as a hash."""
    typer.echo(open_cli_service().create_token(name))


def main() -> None:
    """Console-script entry point.

    Usage errors (an unknown command, a bad option value) are one line on stderr
    with exit code 2, like every other error (docs/reference/cli.md), not typer's boxed text.
    """
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as error:
        if type(error).__name__ != "NoArgsIsHelpError":  # that one has shown the help already
            ctx = getattr(error, "ctx", None)
            hint = f" (try '{ctx.command_path} --help')" if ctx is not None else ""
            say_error(f"{error.format_message()}{hint}")
        code = error.exit_code
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


app.command()(serve)
