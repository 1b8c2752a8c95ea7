"""The ``jobprocessor`` command line (docs/reference/cli.md) on both databases.

The commands run through ``main()`` in the test process (cli_support.invoke_cli: a
new argv, stdin, stdout, stderr, environment and job-type registry each time);
test_the_real_command runs them as real processes, for what only a process shows.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, make_url, update

from cli_support import invoke_cli
from contract import CONTRACT_JOB_KEYS, ISO_Z
from jobprocessor.model import Status, utcnow
from jobprocessor.service import JobService, ListFilter
from jobprocessor.store.engine import create_db_engine
from jobprocessor.store.tables import jobs
from support import ADMIN, ALICE, BOB, DIAG, PG_ADMIN_URL, pg_admin, run_cli

WAIT_LIMIT = "90"  # seconds a `jobs wait` may take on a busy machine


def cli(
    database_url: str, *args: str, code: int = 0, stdin: str | None = None, **settings: Any
) -> subprocess.CompletedProcess[str]:
    """Run the CLI and check its exit code; stderr never carries a traceback."""
    result = invoke_cli(database_url, *args, stdin=stdin, **settings)
    assert result.returncode == code, (
        f"{args}: exit {result.returncode}, expected {code}\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr}"
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The error on stderr, which must be one readable line."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert lines[0].strip()
    return lines[0]


def submit_json(
    database_url: str, type_name: str, params: dict[str, Any] | None = None, *extra: str
) -> dict[str, Any]:
    args = ["jobs", "submit", type_name, "--app", DIAG, "--json"]
    if params is not None:
        args += ["--params", json.dumps(params)]
    document: dict[str, Any] = json.loads(cli(database_url, *args, *extra).stdout)
    return document


def set_status(service: JobService, job_id: int, status: Status) -> None:
    values: dict[str, Any] = {"status": status.value}
    if status.is_finished:
        values["finished_at"] = utcnow()
    if status is not Status.QUEUED:
        values.update(started_at=utcnow(), worker_id="test-worker")
    with service.store.engine.begin() as connection:
        connection.execute(update(jobs).where(jobs.c.id == job_id).values(**values))


def assert_job_object(document: Any) -> None:
    assert isinstance(document, dict)
    assert set(document) == set(CONTRACT_JOB_KEYS)
    assert isinstance(document["id"], int)
    assert document["id"] > 0
    assert ISO_Z.match(document["created_at"])
    assert set(document["progress"]) == {"done", "total", "fraction", "message"}


# -- db upgrade ---------------------------------------------------------------------------


def test_db_upgrade_is_idempotent(database_url: str) -> None:
    first = cli(database_url, "db", "upgrade")
    assert "up to date" in first.stdout
    cli(database_url, "db", "upgrade")


def test_db_upgrade_creates_the_schema_in_an_empty_database(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'fresh' / 'new.sqlite3'}"
        cli(url, "db", "upgrade")
        created = _tables(url)
    else:
        name = f"jobprocessor_test_fresh_{uuid.uuid4().hex[:10]}"
        with pg_admin() as admin:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
            assert not _tables(url)
            cli(url, "db", "upgrade")
            created = _tables(url)
        finally:
            with pg_admin() as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    assert {
        "jobprocessor_jobs",
        "jobprocessor_job_entries",
        "jobprocessor_job_artifacts",
        "jobprocessor_job_events",
        "jobprocessor_users",
        "jobprocessor_api_tokens",
        "jobprocessor_workers",
    } <= created


def _age(service: JobService, job_id: int, days: float) -> None:
    finished_at = utcnow() - timedelta(days=days)
    with service.store.engine.begin() as connection:
        connection.execute(update(jobs).where(jobs.c.id == job_id).values(finished_at=finished_at))


def test_db_purge_deletes_old_finished_jobs(database_url: str, service: JobService) -> None:
    old, recent, active = (service.submit(ALICE, "diag.noop", {}).id for _ in range(3))
    service.cancel(ALICE, old)
    service.cancel(ALICE, recent)
    _age(service, old, 10)
    result = cli(database_url, "db", "purge", "--older-than-days", "5")
    assert result.stdout.startswith("purged 1 job(s)")
    assert [j.id for j in service.list_jobs(ADMIN, _all()).items] == [active, recent]
    # Without the option, the retention setting decides.
    _age(service, recent, 3)
    cli(database_url, "db", "purge", retention_days=2)
    assert [j.id for j in service.list_jobs(ADMIN, _all()).items] == [active]


def test_db_purge_with_retention_off_keeps_everything(
    database_url: str, service: JobService
) -> None:
    job_id = service.submit(ALICE, "diag.noop", {}).id
    service.cancel(ALICE, job_id)
    _age(service, job_id, 400)
    result = cli(database_url, "db", "purge", retention_days=0)  # 0 keeps all
    assert "nothing purged" in result.stdout
    assert service.get(ADMIN, job_id).status is Status.CANCELED


def test_db_purge_refuses_a_negative_age(database_url: str, service: JobService) -> None:
    job_id = service.submit(ALICE, "diag.noop", {}).id
    service.cancel(ALICE, job_id)
    result = cli(database_url, "db", "purge", "--older-than-days", "-1", code=2)
    assert "--older-than-days" in one_error_line(result)
    assert service.get(ADMIN, job_id).status is Status.CANCELED


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# -- submit ---------------------------------------------------------------------------------


def test_submit_json_prints_one_job_object(database_url: str, service: JobService) -> None:
    document = submit_json(database_url, "diag.count", {"n": "4"}, "--user", "alice")
    assert_job_object(document)
    assert document["type"] == "diag.count"
    assert document["category"] == "diagnostics"
    assert document["title"] == "Count to 4"
    assert document["status"] == "queued"
    assert document["status_group"] == "active"
    assert document["params"] == {"n": 4, "delay": 0.1}
    assert document["submitted_by"] == "alice"
    for key in (
        "started_at",
        "finished_at",
        "restarted_from",
        "cancel_requested_by",
        "cancel_requested_at",
        "error",
        "result",
    ):
        assert document[key] is None, key
    # It is the stored job, exactly (why it waits is worked out when it is read).
    assert document["waiting_for"] is None
    stored = service.get(ADMIN, document["id"]).to_dict()
    assert stored.pop("waiting_for") == "no worker is running"
    document.pop("waiting_for")
    assert stored == document


def test_submit_with_title_and_plain_output(database_url: str, service: JobService) -> None:
    result = cli(database_url, "jobs", "submit", "diag.noop", "--app", DIAG, "--title", "Nightly")
    match = re.fullmatch(r"submitted job (\d+): Nightly\n", result.stdout)
    assert match, result.stdout
    job = service.get(ADMIN, int(match.group(1)))
    assert job.title == "Nightly"
    assert job.params == {}


def test_submit_reads_apps_from_the_environment(database_url: str) -> None:
    result = invoke_cli(database_url, "jobs", "submit", "diag.noop", "--json", app=DIAG)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["type"] == "diag.noop"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["diag.count", "--params", '{"n": "many"}'], "n"),
        (["diag.count", "--params", '{"n": 1, "colour": "red"}'], "colour"),
        (["diag.count", "--params", '{"n": 1, "delay": [1]}'], "delay"),
        (["diag.count", "--params", "{not json"], "--params"),
        (["diag.count", "--params", "[1, 2]"], "--params"),
        (["diag.count", "--title", ""], "title"),
        (["diag.nope"], "diag.nope"),
    ],
)
def test_submit_bad_input_exits_2_with_one_line(
    database_url: str, service: JobService, args: list[str], named: str
) -> None:
    result = cli(database_url, "jobs", "submit", *args, "--app", DIAG, "--json", code=2)
    line = one_error_line(result)
    assert named in line
    assert result.stdout == ""
    assert service.list_jobs(ADMIN, _all()).items == []


def test_unknown_type_lists_the_known_types(database_url: str) -> None:
    result = cli(database_url, "jobs", "submit", "diag.nope", "--app", DIAG, code=2)
    line = one_error_line(result)
    assert "unknown job type 'diag.nope'" in line
    assert "diag.count" in line


def test_unknown_type_without_apps_says_how_to_load_them(database_url: str) -> None:
    line = one_error_line(cli(database_url, "jobs", "submit", "diag.count", code=2))
    assert "--app" in line


def test_a_missing_app_module_exits_2_naming_it(database_url: str) -> None:
    result = cli(
        database_url, "jobs", "submit", "diag.count", "--app", "no_such_app_module", code=2
    )
    assert "no_such_app_module" in one_error_line(result)


def test_two_apps_defining_one_type_exit_2(database_url: str) -> None:
    # contract_jobs and the diagnostics both define diag.count.
    result = cli(
        database_url,
        "jobs",
        "submit",
        "diag.count",
        "--app",
        DIAG,
        "--app",
        "contract_jobs",
        code=2,
    )
    line = one_error_line(result)
    assert "contract_jobs" in line
    assert "diag.count" in line


# -- show, report and not found -------------------------------------------------------------


def test_show_json_is_the_job(database_url: str, service: JobService) -> None:
    job = service.submit(ALICE, "diag.count", {"n": 2})
    shown = json.loads(cli(database_url, "jobs", "show", str(job.id), "--json").stdout)
    assert_job_object(shown)
    assert shown == service.get(ADMIN, job.id).to_dict()
    assert shown["waiting_for"] == "no worker is running"
    text = cli(database_url, "jobs", "show", str(job.id)).stdout
    assert f"Job #{job.id}: Count to 2" in text
    assert "queued" in text


@pytest.mark.parametrize(
    "args",
    [
        ["jobs", "show", "999999"],
        ["jobs", "show", "999999", "--json"],
        ["jobs", "report", "999999"],
        ["jobs", "report", "999999", "--json"],
        ["jobs", "cancel", "999999"],
        ["jobs", "restart", "999999"],
        ["jobs", "delete", "999999"],
        ["jobs", "wait", "999999", "--timeout", "1"],
    ],
)
def test_a_missing_id_exits_3(database_url: str, args: list[str]) -> None:
    result = cli(database_url, *args, code=3)
    assert "999999" in one_error_line(result)
    assert "not found" in result.stderr


def test_report_json_has_the_contracts_keys(database_url: str, service: JobService) -> None:
    job = service.submit(ALICE, "diag.count", {"n": 2})
    service.cancel(ALICE, job.id)
    report = json.loads(cli(database_url, "jobs", "report", str(job.id), "--json").stdout)
    assert set(report) == {"job", "result", "entries", "artifacts", "events"}
    assert_job_object(report["job"])
    assert report["job"]["status"] == "canceled"
    assert report["result"] is None
    assert report["entries"] == []
    assert report["artifacts"] == []
    assert [(e["event"], e["by"]) for e in report["events"]] == [
        ("submitted", "alice"),
        ("cancel_requested", "alice"),
        ("canceled", None),
    ]
    for event in report["events"]:
        assert {"at", "event", "by"} <= set(event)
        assert ISO_Z.match(event["at"])


# -- cancel, restart, delete ------------------------------------------------------------------


def test_cancel_then_cancel_again_exits_1(database_url: str, service: JobService) -> None:
    job = service.submit(ALICE, "diag.count", {})
    result = cli(database_url, "jobs", "cancel", str(job.id))
    assert result.stdout.strip() == f"job {job.id}: canceled"
    assert service.get(ADMIN, job.id).status is Status.CANCELED
    again = cli(database_url, "jobs", "cancel", str(job.id), code=1)
    assert f"job {job.id} is already canceled" in one_error_line(again)


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED])
def test_cancel_of_a_finished_job_exits_1(
    database_url: str, service: JobService, status: Status
) -> None:
    job = service.submit(ALICE, "diag.count", {})
    set_status(service, job.id, status)
    result = cli(database_url, "jobs", "cancel", str(job.id), code=1)
    assert status.value in one_error_line(result)


@pytest.mark.parametrize("status", [Status.QUEUED, Status.RUNNING, Status.CANCELING])
def test_restart_and_delete_of_an_active_job_exit_1(
    database_url: str, service: JobService, status: Status
) -> None:
    job = service.submit(ALICE, "diag.count", {})
    set_status(service, job.id, status)
    restart = cli(database_url, "jobs", "restart", str(job.id), code=1)
    assert f"still {status.value}" in one_error_line(restart)
    delete = cli(database_url, "jobs", "delete", str(job.id), code=1)
    assert "cancel it" in one_error_line(delete)
    assert service.get(ADMIN, job.id).status is status
    assert len(service.list_jobs(ADMIN, _all()).items) == 1


def test_restart_json_and_delete_of_a_finished_job(database_url: str, service: JobService) -> None:
    job = service.submit(ALICE, "diag.count", {"n": 7})
    service.cancel(ALICE, job.id)
    restarted = json.loads(cli(database_url, "jobs", "restart", str(job.id), "--json").stdout)
    assert_job_object(restarted)
    assert restarted["restarted_from"] == job.id
    assert restarted["params"] == job.params
    assert restarted["status"] == "queued"
    plain = cli(database_url, "jobs", "restart", str(job.id))
    assert re.fullmatch(rf"job {job.id}: restarted as job \d+\n", plain.stdout)
    deleted = cli(database_url, "jobs", "delete", str(job.id))
    assert deleted.stdout.strip() == f"job {job.id}: deleted"
    cli(database_url, "jobs", "show", str(job.id), code=3)
    assert service.get(ADMIN, restarted["id"]).restarted_from == job.id


def test_several_ids_each_get_their_answer(database_url: str, service: JobService) -> None:
    first = service.submit(ALICE, "diag.count", {})
    second = service.submit(ALICE, "diag.count", {})
    result = cli(database_url, "jobs", "cancel", str(first.id), "999999", str(second.id), code=3)
    assert result.stdout.splitlines() == [f"job {first.id}: canceled", f"job {second.id}: canceled"]
    assert "999999" in one_error_line(result)
    assert service.get(ADMIN, second.id).status is Status.CANCELED


def test_user_option_acts_as_that_user(database_url: str, service: JobService) -> None:
    alices = submit_json(database_url, "diag.count", {}, "--user", "alice")
    assert alices["submitted_by"] == "alice"
    job_id = str(alices["id"])
    # Bob, a plain user, may not see Alice's job: it is not found for him.
    for args in (["cancel", job_id], ["restart", job_id], ["delete", job_id]):
        result = cli(database_url, "jobs", *args, "--user", "bob", code=3)
        assert f"job {job_id} not found" in one_error_line(result)
    assert service.get(ADMIN, alices["id"]).status is Status.QUEUED
    # Alice may cancel her own job.
    cli(database_url, "jobs", "cancel", job_id, "--user", "alice")
    restarted = json.loads(
        cli(database_url, "jobs", "restart", job_id, "--user", "alice", "--json").stdout
    )
    assert restarted["submitted_by"] == "alice"
    # A user with the admin role may act on anybody's job.
    cli(database_url, "users", "add", "carol", "--role", "admin")
    cli(database_url, "jobs", "cancel", str(restarted["id"]), "--user", "carol")
    assert service.get(ADMIN, restarted["id"]).cancel_requested_by == "carol"
    cli(database_url, "jobs", "delete", job_id, "--user", "carol")
    cli(database_url, "jobs", "show", job_id, code=3)


# -- list -------------------------------------------------------------------------------------


def _all() -> ListFilter:
    return ListFilter(limit=500)


def list_json(database_url: str, *args: str) -> list[dict[str, Any]]:
    documents = json.loads(cli(database_url, "jobs", "list", "--json", *args).stdout)
    assert isinstance(documents, list)
    for document in documents:
        assert_job_object(document)
    return documents


def test_list_json_honours_the_filters(database_url: str, service: JobService) -> None:
    a_queued = service.submit(ALICE, "diag.count", {"n": 1}).id
    a_running = service.submit(ALICE, "diag.count", {"n": 2}).id
    set_status(service, a_running, Status.RUNNING)
    b_failed = service.submit(BOB, "diag.fail", {}).id
    set_status(service, b_failed, Status.FAILED)
    b_done = service.submit(BOB, "diag.noop", {}).id
    set_status(service, b_done, Status.SUCCEEDED)
    a_canceled = service.submit(ALICE, "diag.noop", {}).id
    service.cancel(ALICE, a_canceled)

    def ids(*args: str) -> list[int]:
        return [d["id"] for d in list_json(database_url, *args)]

    everything = [a_canceled, b_done, b_failed, a_running, a_queued]
    assert ids() == everything  # newest first
    assert ids("--status-group", "all") == everything
    assert ids("--status-group", "active") == [a_running, a_queued]
    assert ids("--status-group", "finished") == [a_canceled, b_done, b_failed]
    assert ids("--status-group", "succeeded") == [b_done]
    assert ids("--status-group", "failed") == [b_failed]
    assert ids("--status-group", "canceled") == [a_canceled]
    assert ids("--status", "running") == [a_running]
    assert ids("--status", "queued", "--status-group", "finished") == []
    assert ids("--user", "alice") == [a_canceled, a_running, a_queued]
    assert ids("--user", "bob", "--status-group", "failed") == [b_failed]
    assert ids("--user", "nobody") == []
    assert ids("--type", "diag.noop") == [a_canceled, b_done]
    assert ids("--type", "diag.noop", "--user", "bob") == [b_done]
    assert ids("--limit", "2") == [a_canceled, b_done]
    assert ids("--limit", "1", "--status-group", "active") == [a_running]
    documents = list_json(database_url, "--status", "failed")
    assert [(d["id"], d["status_group"], d["submitted_by"]) for d in documents] == [
        (b_failed, "failed", "bob")
    ]
    # The people's table shows the same jobs.
    table = cli(database_url, "jobs", "list", "--user", "bob").stdout
    assert table.splitlines()[0].split()[:3] == ["ID", "STATUS", "TYPE"]
    assert {line.split()[0] for line in table.splitlines()[1:]} == {str(b_failed), str(b_done)}


def test_list_json_of_nothing_is_an_empty_array(database_url: str) -> None:
    assert list_json(database_url) == []
    assert "no jobs match" in cli(database_url, "jobs", "list").stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--status-group", "done"], "--status-group"),
        (["--status", "sleeping"], "--status"),
        (["--limit", "0"], "--limit"),
        (["--limit", "501"], "--limit"),
        (["--cursor", "abc"], "cursor"),
    ],
)
def test_list_bad_options_exit_2(database_url: str, args: list[str], named: str) -> None:
    result = cli(database_url, "jobs", "list", "--json", *args, code=2)
    assert named in one_error_line(result)
    assert result.stdout == ""


def test_a_usage_error_is_one_line(database_url: str) -> None:
    for args in (["jobs", "show", "abc"], ["jobs", "frobnicate"], ["jobs", "show"]):
        result = cli(database_url, *args, code=2)
        one_error_line(result)


# -- wait ---------------------------------------------------------------------------------------


def test_wait_times_out_with_exit_4(database_url: str, service: JobService) -> None:
    job = service.submit(ALICE, "diag.count", {})  # no worker: it stays queued
    result = cli(database_url, "jobs", "wait", str(job.id), "--timeout", "0.5", code=4)
    line = one_error_line(result)
    assert str(job.id) in line
    assert "queued" in line
    assert service.get(ADMIN, job.id).status is Status.QUEUED


def test_wait_on_a_canceled_job_exits_1(database_url: str, service: JobService) -> None:
    job = service.submit(ALICE, "diag.count", {})
    service.cancel(ALICE, job.id)
    result = cli(database_url, "jobs", "wait", str(job.id), "--timeout", "5", code=1)
    assert result.stdout.strip() == f"job {job.id}: canceled"


def test_wait_exits_0_on_success_and_1_on_failure(
    database_url: str, service: JobService, spawn_worker: Callable[..., Any]
) -> None:
    # A worker of its own: one in this process would share the registry that each
    # command here empties while it runs.
    spawn_worker(concurrency=2)
    good = submit_json(database_url, "diag.count", {"n": 2, "delay": 0.01})
    bad = submit_json(database_url, "diag.fail", {"message": "planned failure"})
    ok = cli(database_url, "jobs", "wait", str(good["id"]), "--timeout", WAIT_LIMIT)
    assert ok.stdout.strip() == f"job {good['id']}: succeeded"
    failed = cli(database_url, "jobs", "wait", str(bad["id"]), "--timeout", WAIT_LIMIT, code=1)
    assert failed.stdout.strip() == f"job {bad['id']}: failed"
    shown = json.loads(cli(database_url, "jobs", "show", str(bad["id"]), "--json").stdout)
    assert shown["status"] == "failed"
    assert shown["error"]["type"] == "RuntimeError"
    assert shown["error"]["message"] == "planned failure"
    assert "Traceback" in shown["error"]["traceback"]  # in the job's report, not on stderr
    report = json.loads(cli(database_url, "jobs", "report", str(bad["id"]), "--json").stdout)
    assert [(e["level"], e["message"]) for e in report["entries"]] == [("ERROR", "about to fail")]
    text = cli(database_url, "jobs", "report", str(bad["id"])).stdout
    assert "about to fail" in text


def test_contract_jobs_end_to_end(
    database_url: str, service: JobService, spawn_worker: Callable[..., Any]
) -> None:
    """The reference's own job module, loaded with --app, run by a `jobprocessor worker`."""
    submitted = json.loads(
        cli(
            database_url,
            "jobs",
            "submit",
            "diag.count",
            "--app",
            "contract_jobs",
            "--params",
            '{"n": 3, "delay": 0.01}',
            "--user",
            "alice",
            "--json",
        ).stdout
    )
    assert_job_object(submitted)
    assert submitted["title"] == "Count to 3"
    spawn_worker(concurrency=1, apps=["contract_jobs"])
    done = cli(database_url, "jobs", "wait", str(submitted["id"]), "--timeout", WAIT_LIMIT)
    assert done.stdout.strip() == f"job {submitted['id']}: succeeded"

    report = json.loads(cli(database_url, "jobs", "report", str(submitted["id"]), "--json").stdout)
    assert set(report) == {"job", "result", "entries", "artifacts", "events"}
    job = report["job"]
    assert_job_object(job)
    assert job["status"] == "succeeded"
    assert job["status_group"] == "succeeded"
    assert job["result"] == {"counted": 3}
    assert report["result"] == {"counted": 3}
    assert job["progress"] == {"done": 3, "total": 3, "fraction": 1.0, "message": "step 3 of 3"}
    for key in ("created_at", "started_at", "finished_at"):
        assert ISO_Z.match(job[key]), key
    assert job["started_at"] <= job["finished_at"]
    assert [(e["level"], e["message"]) for e in report["entries"]] == [
        ("WARNING", "done, with a warning")
    ]
    assert ISO_Z.match(report["entries"][0]["at"])
    assert report["artifacts"] == [
        {
            "name": "numbers.csv",
            "media_type": "text/csv",
            "size": 6,
            "url": f"/api/v1/jobs/{submitted['id']}/artifacts/numbers.csv",
        }
    ]
    events = [e["event"] for e in report["events"]]
    assert events[0] == "submitted"
    assert "started" in events
    assert events[-1] == "succeeded"
    _, data = service.artifact(ALICE, submitted["id"], "numbers.csv")
    assert data == b"i\n1\n2\n"

    # A restart runs again with the original settings, and its report is its own.
    restarted = json.loads(
        cli(database_url, "jobs", "restart", str(submitted["id"]), "--json").stdout
    )
    cli(database_url, "jobs", "wait", str(restarted["id"]), "--timeout", WAIT_LIMIT)
    again = service.get(ADMIN, restarted["id"])
    assert again.status is Status.SUCCEEDED
    assert again.params == {"n": 3, "delay": 0.01}
    assert again.restarted_from == submitted["id"]


# -- users and tokens ---------------------------------------------------------------------------


def test_users_add_with_password_and_tokens_create(database_url: str, service: JobService) -> None:
    added = cli(
        database_url,
        "users",
        "add",
        "carol",
        "--role",
        "admin",
        "--password-stdin",
        stdin="s3cret pass\n",
    )
    assert "carol" in added.stdout
    # The command hashes with production's parameters (the tests' own users are cheap).
    stored = service.users.password_hash("carol")
    assert stored is not None
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
    user = service.authenticate("carol", "s3cret pass")
    assert user is not None
    assert user.role.value == "admin"
    assert service.authenticate("carol", "s3cret pass\n") is None

    token = cli(database_url, "tokens", "create", "carol").stdout.strip()
    assert re.fullmatch(r"jp_[A-Za-z0-9_-]{20,}", token), token
    owner = service.user_for_token(token)
    assert owner is not None
    assert owner.name == "carol"

    listed = cli(database_url, "users", "list").stdout
    assert listed.splitlines() == ["carol\tadmin\tcarol"]


def test_users_add_errors(database_url: str, service: JobService) -> None:
    cli(database_url, "users", "add", "dave")
    duplicate = cli(database_url, "users", "add", "dave", "--role", "admin", code=1)
    assert "dave" in one_error_line(duplicate)
    bad_name = cli(database_url, "users", "add", "not a name", code=2)
    assert "user names" in one_error_line(bad_name)
    empty = cli(database_url, "users", "add", "erin", "--password-stdin", stdin="\n", code=2)
    assert "password" in one_error_line(empty)
    bad_role = cli(database_url, "users", "add", "frank", "--role", "root", code=2)
    assert "--role" in one_error_line(bad_role)
    assert [u.name for u in service.users.all()] == ["dave"]
    assert service.actor_for("dave").role.value == "user"


def test_tokens_create_for_an_unknown_user_exits_3(database_url: str) -> None:
    result = cli(database_url, "tokens", "create", "nobody", code=3)
    assert "nobody" in one_error_line(result)


# -- the real command -------------------------------------------------------------------


def test_the_real_command_exits_with_each_code_and_one_line_errors(
    database_url: str, service: JobService
) -> None:
    """``python -m jobprocessor.cli`` as a process: what only a process shows, its exit
    status and its stderr (one line, no traceback), for each outcome of docs/reference/cli.md."""

    def real(*args: str, code: int) -> subprocess.CompletedProcess[str]:
        result = run_cli(database_url, *args)
        assert result.returncode == code, (args, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    submitted = json.loads(
        real("jobs", "submit", "diag.count", "--app", DIAG, "--json", code=0).stdout
    )
    assert_job_object(submitted)
    stored = service.get(ADMIN, submitted["id"]).to_dict()
    assert stored.pop("waiting_for") == "no worker is running"  # worked out when read
    assert stored == {key: value for key, value in submitted.items() if key != "waiting_for"}
    job_id = str(submitted["id"])
    bad = real("jobs", "submit", "diag.count", "--app", DIAG, "--params", '{"n": "x"}', code=2)
    assert "n" in one_error_line(bad)
    assert bad.stdout == ""
    usage = real("jobs", "frobnicate", code=2)
    assert "frobnicate" in one_error_line(usage)
    assert "999999" in one_error_line(real("jobs", "show", "999999", code=3))
    waited = real("jobs", "wait", job_id, "--timeout", "0.2", code=4)
    assert "queued" in one_error_line(waited)
    assert real("jobs", "cancel", job_id, code=0).stdout.strip() == f"job {job_id}: canceled"
    assert "already canceled" in one_error_line(real("jobs", "cancel", job_id, code=1))
