"""The reference (docs/reference/) against the code: these fail when the two drift apart.

Database-free: they read the CLI's Typer app, the web routers, the model, the errors
and the settings, and run the job-author examples without a worker.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer.core
import typer.main
from fastapi.routing import APIRoute

import jobprocessor
from contract import CONTRACT_JOB_KEYS
from jobprocessor import (
    Client,
    InvalidInput,
    JobContext,
    Role,
    Status,
    StatusGroup,
    database,
    demo,
    job,
)
from jobprocessor import errors as error_classes
from jobprocessor import registry as registry_module
from jobprocessor.cli.main import app as cli_app
from jobprocessor.model import (
    ArtifactInfo,
    Event,
    Job,
    JobError,
    Progress,
    Report,
    ReportEntry,
    TimelineEvent,
    User,
    WorkerInfo,
)
from jobprocessor.registry import Registry
from jobprocessor.service import BulkResult
from jobprocessor.settings import Settings
from jobprocessor.web import api, extensions, live, login, metrics, pages
from jobprocessor.web.app import OPENAPI_URL
from jobprocessor.web.context import WebContext
from jobprocessor.web.errors import HTTP_CODES
from jobprocessor.web.security import CsrfRefused
from jobprocessor.worker.messages import Artifact, LogEntry, ProgressUpdate, Recorder

ROOT = Path(__file__).parent.parent
REFERENCE = ROOT / "docs" / "reference"
#: Where code, tests and docs may cite the reference.
CITING = [ROOT / "src", ROOT / "tests", ROOT / "bench", ROOT / "docs", ROOT / "README.md"]
#: Methods of JobContext that the worker calls, not the job.
RUNNER_ONLY = {"flush", "request_cancel"}
PLANNED = "Planned: not implemented yet"


def page(name: str) -> str:
    return (REFERENCE / name).read_text()


def section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(heading + "\n")
    rest = text[start + len(heading) + 1 :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row (header and separator rows included)."""
    return [
        [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        for line in text.splitlines()
        if line.lstrip().startswith("|")
    ]


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def normalized(path: str) -> str:
    """``/jobs/{job_id}/artifacts/{name:path}`` and ``/jobs/{id}/artifacts/{name}`` alike."""
    return re.sub(r"\{[^}]*\}", "{}", path)


# -- the command line ------------------------------------------------------------


def cli_commands() -> Iterator[tuple[str, typer.core.TyperCommand]]:
    """Every runnable command of the Typer app, as ``("jobs submit", command)``."""

    def walk(
        group: typer.core.TyperGroup, prefix: str
    ) -> Iterator[tuple[str, typer.core.TyperCommand]]:
        for name, command in group.commands.items():
            path = f"{prefix} {name}".strip()
            if isinstance(command, typer.core.TyperGroup):
                yield from walk(command, path)
            else:
                assert isinstance(command, typer.core.TyperCommand)
                yield path, command

    root = typer.main.get_command(cli_app)
    assert isinstance(root, typer.core.TyperGroup)
    yield from walk(root, "")


def test_every_cli_command_and_option_is_in_cli_md() -> None:
    text = page("cli.md")
    synopsis = code_blocks(text, "")[0]
    for path, command in cli_commands():
        heading = f"### `jobprocessor {path}`"
        assert heading + "\n" in text, f"cli.md has no section {heading!r}"
        body = section(text, heading)
        for parameter in command.params:
            if isinstance(parameter, typer.core.TyperOption):
                for option in parameter.opts:
                    assert f"`{option}" in body, f"cli.md: {option} of {path!r} is missing"
        assert f"jobprocessor {path}" in synopsis, f"cli.md: {path!r} is not in the synopsis"
    root = typer.main.get_command(cli_app)
    for parameter in root.params:
        for option in getattr(parameter, "opts", []):
            if option != "--help":
                assert f"`{option}" in text, f"cli.md: the global option {option} is missing"


def test_cli_md_documents_no_command_the_cli_lacks() -> None:
    documented = re.findall(r"^### `jobprocessor ([a-z ]+)`$", page("cli.md"), re.MULTILINE)
    assert sorted(documented) == sorted(path for path, _ in cli_commands())


def test_cli_md_gives_every_exit_code_an_error_has() -> None:
    rows = {row[0] for row in table_rows(section(page("cli.md"), "## Exit codes"))}
    codes = {str(cls.exit_code) for cls in error_types()} | {"0", "2"}
    assert codes <= rows


# -- the REST API and the console ----------------------------------------------------


def routes(router: Any, prefix: str = "") -> set[str]:
    """``"GET /api/v1/jobs/{}"`` for every method and path of a router."""
    found = set()
    for route in router.routes:
        assert isinstance(route, APIRoute)
        for method in route.methods - {"HEAD"}:
            found.add(f"{method} {normalized(prefix + route.path)}")
    return found


def api_routes() -> set[str]:
    return (
        routes(api.router, "/api/v1")
        | routes(metrics.router)
        | {"GET /healthz", f"GET {OPENAPI_URL}"}
    )


def test_every_rest_route_is_in_rest_md() -> None:
    documented = {normalized(row[0].strip("`")) for row in table_rows(page("rest.md"))}
    missing = api_routes() - documented
    assert not missing, f"rest.md does not list {sorted(missing)}"


def test_rest_md_lists_no_route_the_api_lacks() -> None:
    listed = {
        normalized(row[0].strip("`"))
        for row in table_rows(section(page("rest.md"), "## Endpoints"))
        if re.match(r"`(GET|POST|PUT|PATCH|DELETE) /", row[0])
    }
    unknown = listed - api_routes()
    assert not unknown, f"rest.md lists routes the API does not have: {sorted(unknown)}"


def test_every_console_route_is_in_console_md() -> None:
    text = normalized(page("console.md"))
    for router in (pages.router, login.router, live.router):
        for route in router.routes:
            assert isinstance(route, APIRoute)
            path = normalized(route.path)
            assert f"`{path}`" in text or f" {path}`" in text, f"console.md lacks {route.path}"


def test_rest_list_filters_are_in_rest_md() -> None:
    listing = section(page("rest.md"), "### Listing jobs")
    list_route = next(
        r for r in api.router.routes if isinstance(r, APIRoute) and r.name == "list_jobs"
    )
    for parameter in list_route.dependant.query_params:
        assert f"| `{parameter.name}` |" in listing, f"rest.md: filter {parameter.name} missing"


# -- statuses, groups, events and roles ---------------------------------------------


def test_every_status_is_in_statuses_md_with_its_group() -> None:
    rows = {row[0]: row for row in table_rows(section(page("statuses.md"), "## Statuses"))}
    for status in Status:
        row = rows.get(f"`{status.value}`")
        assert row is not None, f"statuses.md: status {status.value} is missing"
        assert row[-1] == f"`{status.group.value}`", f"statuses.md: group of {status.value}"


def test_every_status_group_is_in_statuses_md_with_its_statuses() -> None:
    rows = {row[0]: row for row in table_rows(section(page("statuses.md"), "## Status groups"))}
    for group in StatusGroup:
        row = rows.get(f"`{group.value}`")
        assert row is not None, f"statuses.md: group {group.value} is missing"
        if group is not StatusGroup.ALL:
            listed = set(re.findall(r"`(\w+)`", row[1]))
            assert listed == {s.value for s in group.statuses}, f"statuses.md: {group.value}"


def test_every_event_and_role_is_in_statuses_md() -> None:
    events = {row[0] for row in table_rows(section(page("statuses.md"), "## Timeline events"))}
    assert {f"`{event.value}`" for event in Event} <= events
    roles = {row[0] for row in table_rows(section(page("statuses.md"), "## Permissions"))}
    assert {f"`{role.value}`" for role in Role} <= roles


# -- JSON documents and errors -----------------------------------------------------------


def sample_job() -> Job:
    now = datetime(2026, 11, 24, 21, 40, tzinfo=UTC)
    return Job(
        id=42,
        type="diag.count",
        category="diagnostics",
        title="Count to 10",
        status=Status.FAILED,
        params={"n": 10},
        submitted_by="alice",
        created_at=now,
        progress=Progress(3, 10, "step 3 of 10"),
        error=JobError("ValueError", "bad", "Traceback …"),
    )


def documented_keys(text: str) -> set[str]:
    return set(re.findall(r"`(\w+)`", text))


def test_the_job_object_in_job_json_md_is_the_models() -> None:
    text = page("job-json.md")
    example = json.loads(code_blocks(section(text, "## The job object"), "json")[0])
    document = sample_job().to_dict()
    assert list(example) == list(document) == CONTRACT_JOB_KEYS
    assert list(example["progress"]) == list(document["progress"])
    keys = documented_keys(section(text, "## The job object"))
    assert set(document) | set(document["progress"]) | set(document["error"]) <= keys


def test_every_key_of_the_report_and_other_documents_is_in_job_json_md() -> None:
    now = datetime(2026, 11, 24, 21, 40, tzinfo=UTC)
    job = sample_job()
    report = Report(
        job,
        [ReportEntry(now, "INFO", "hello")],
        [ArtifactInfo("a.csv", "text/csv", 3)],
        [TimelineEvent(now, "submitted", "alice")],
    ).to_dict(artifact_url=api.ARTIFACT_URL)
    text = page("job-json.md")
    report_keys = documented_keys(section(text, "## The report object"))
    for key in ("entries", "artifacts", "events"):
        assert set(report[key][0]) <= report_keys, f"job-json.md: keys of {key}"
    assert set(report) <= report_keys
    others = documented_keys(section(text, "## Other documents"))
    worker = WorkerInfo("w", "host", 1, 2, now, now, False, [job]).to_dict()
    for document in (
        {"items": [], "next_cursor": None},
        {"results": []},
        BulkResult(1, True).to_dict(),
        User("alice", "Alice", Role.USER).to_dict(),
        worker,
        worker["jobs"][0],
    ):
        assert set(document) <= others, f"job-json.md lacks keys of {sorted(document)}"
    job_type_keys = set(api.JobTypeOut.model_fields)
    assert job_type_keys <= others, "job-json.md: keys of a job type"


def error_types() -> list[type[error_classes.JobProcessorError]]:
    def subclasses(cls: type[Any]) -> Iterator[type[Any]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return [error_classes.JobProcessorError, *subclasses(error_classes.JobProcessorError)]


def test_every_error_code_is_in_job_json_md_with_its_status_and_exit_code() -> None:
    rows = {row[0]: row for row in table_rows(section(page("job-json.md"), "## Errors"))}
    assert CsrfRefused in error_types()
    for cls in error_types():
        if cls is error_classes.JobProcessorError:
            continue  # the base class: its code is never sent alone
        row = rows.get(f"`{cls.code}`")
        assert row is not None, f"job-json.md: error code {cls.code} is missing"
        http, exit_code = row[1], row[2]
        assert http in ("", str(cls.http_status)), f"job-json.md: HTTP status of {cls.code}"
        assert exit_code in ("", str(cls.exit_code)), f"job-json.md: exit code of {cls.code}"
    for status, code in HTTP_CODES.items():
        if status != 400:  # no route answers a bare 400
            assert rows.get(f"`{code}`", ["", ""])[1] == str(status), f"job-json.md: {code}"


# -- the job-author and client API ------------------------------------------------------


def plain_signature(function: Any) -> str:
    """``(name, *, category, title=None, …)``: the signature without annotations."""
    signature = inspect.signature(function)
    bare = [p.replace(annotation=p.empty) for p in signature.parameters.values()]
    text = str(signature.replace(parameters=bare, return_annotation=signature.empty))
    return re.sub(r"<(\w+\.\w+): [^>]*>", r"\1", text)  # <Role.USER: 'user'> as Role.USER


def test_job_options_and_context_members_are_in_job_types_md() -> None:
    text = page("job-types.md")
    signature = plain_signature(job)
    assert f"## `@job{signature}`" in text, f"job-types.md: write the heading as @job{signature}"
    options = {row[0] for row in table_rows(section(text, f"## `@job{signature}`"))}
    assert {f"`{name}`" for name in inspect.signature(job).parameters} <= options
    context = JobContext(1, {}, "alice", Recorder())
    members = {n for n in {*vars(context), *dir(JobContext)} if not n.startswith("_")}
    table = section(text, "## `JobContext`")
    for name in members - RUNNER_ONLY:
        assert re.search(rf"\| `{name}[`(]", table), f"job-types.md: JobContext.{name}"


def test_client_methods_are_in_client_md() -> None:
    text = page("client.md")
    signature = plain_signature(Client)
    assert f"## `Client{signature}`" in text, f"client.md: write the heading as Client{signature}"
    methods = {n for n, _ in inspect.getmembers(Client, inspect.isfunction) if n[0] != "_"}
    for name in methods:
        assert f"| `{name}(" in text, f"client.md: Client.{name} is missing"
    exceptions = {row[0] for row in table_rows(section(text, "## Exceptions"))}
    for name in jobprocessor.__all__:
        exported = getattr(jobprocessor, name)
        if isinstance(exported, type) and issubclass(exported, error_classes.JobProcessorError):
            assert f"`{name}`" in exceptions or exported is error_classes.JobProcessorError


def test_the_extension_surface_is_in_the_reference() -> None:
    pages_section = section(page("console.md"), "## Application pages")
    for name in set(extensions.__all__) - {"install_apps", "WEB_HOOK"}:
        assert re.search(rf"`{name}[`(]", pages_section), f"console.md: {name} is missing"
    assert f"`{extensions.WEB_HOOK}(app)`" in pages_section
    assert f"`{demo.DEMO_HOOK}(service, settings)`" in pages_section
    for field in fields(WebContext):
        if field.name != "signin":  # the console's own sign-in, not for applications
            assert f"`.{field.name}`" in pages_section, f"console.md: WebContext.{field.name}"
    for name in database.__all__:
        assert re.search(rf"\| `{name}[`(]", page("database.md")), f"database.md: {name}"


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    """``@job`` registers into this registry, so the examples' types stay in the test."""
    fresh = Registry()
    monkeypatch.setattr(registry_module, "registry", fresh)
    return fresh


def test_the_job_types_md_examples_work(fresh_registry: Registry) -> None:
    text = page("job-types.md")
    for block in code_blocks(text, "python"):  # the page's examples, run as a reader would
        exec(compile(block, "job-types.md", "exec"), {})
    assert fresh_registry.names() == ["diag.count", "myapp.plan"]

    count = fresh_registry.get("diag.count")
    recorder = Recorder()
    result = count.function(JobContext(1, {}, "alice", recorder), n=2, delay=0)
    assert result == {"counted": 2}
    assert {type(m) for m in recorder.sent} == {ProgressUpdate, LogEntry, Artifact}

    plan = fresh_registry.get("myapp.plan")
    stored = re.search(r"settings are stored as\n`(\{.*?\})`", text)
    assert stored is not None
    submitted = {"planning_unit": 1, "start": "2026-12-07"}
    assert plan.validate(submitted) == json.loads(stored.group(1))
    title = re.search(r"^submitted job \d+: (.*)$", text, re.MULTILINE)
    assert title is not None
    assert plan.format_title(plan.validate(submitted)) == title.group(1)
    shown = re.search(r"^error: (invalid params for myapp\.plan: .*)$", text, re.MULTILINE)
    assert shown is not None
    bad = {**submitted, "weeks": 9, "mode": "slow"}
    with pytest.raises(InvalidInput) as refused:
        plan.validate(bad)
    assert str(refused.value) == shown.group(1)


def test_every_python_example_in_the_reference_compiles() -> None:
    for path in sorted(REFERENCE.glob("*.md")):
        for block in code_blocks(path.read_text(), "python"):
            compile(block, path.name, "exec")


# -- settings, links and citations ------------------------------------------------------


def test_settings_named_in_the_reference_exist() -> None:
    for path in sorted(REFERENCE.glob("*.md")):
        for name in re.findall(r"\[`(\w+)`\]\(\.\./settings\.md\)", path.read_text()):
            assert name in Settings.model_fields, f"{path.name} links an unknown setting {name}"


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.MULTILINE | re.DOTALL)
    return {slug(h) for h in re.findall(r"^#+ (.*)$", text, re.MULTILINE)}


def test_links_between_reference_pages_resolve() -> None:
    for path in sorted(REFERENCE.glob("*.md")):
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            assert linked.exists(), f"{path.name} links a missing {target}"
            if anchor:
                assert anchor in anchors(linked), f"{path.name} links a missing #{anchor}"


def citing_files() -> Iterator[Path]:
    for place in CITING:
        files = [place] if place.is_file() else place.rglob("*")
        for path in files:
            hidden = any(part.startswith((".venv", "__pycache__")) for part in path.parts)
            if path.suffix in {".py", ".md", ".html", ".js"} and not hidden:
                yield path


def test_citations_name_pages_that_exist_and_no_one_cites_the_old_contract() -> None:
    old = "CONTRACT " + "§"  # written in two parts, so that this file does not match
    for path in citing_files():
        text = path.read_text()
        assert old not in text, f"{path.relative_to(ROOT)} cites the old contract"
        for cited in re.findall(r"docs/reference/([\w.-]+\.md)", text):
            assert (REFERENCE / cited).exists(), f"{path.relative_to(ROOT)} cites {cited}"


def test_planned_pages_say_so_until_they_are_implemented() -> None:
    scheduling = "queue" in inspect.signature(job).parameters
    commands = {path.split()[0] for path, _ in cli_commands()}
    schedules = hasattr(jobprocessor, "recurring") or "schedules" in commands
    for name, implemented in (("scheduling.md", scheduling), ("schedules.md", schedules)):
        marked = PLANNED in page(name)
        assert marked != implemented, (
            f"docs/reference/{name}: drop the note '{PLANNED}' and check the page"
            if implemented
            else f"docs/reference/{name} must say '{PLANNED}'"
        )
