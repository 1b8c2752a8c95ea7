"""Fixtures for the browser tests: a real ``jobprocessor serve`` and Chromium.

Each test gets its own server process (``jobprocessor serve`` with an embedded
worker of four slots) on a fresh database, the users it signs in with, and a new
browser context driven through Playwright. Jobs are created through the service, as the
application would, never through the console (which starts no job).

The browser is Debian's Chromium (``/usr/bin/chromium``; ``scripts/test``
installs it). Playwright's own browser download cannot work here, and a missing
browser fails the tests: it is never a reason to skip them.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    expect,
    sync_playwright,
)

from chromium import CHROMIUM, VIEWPORT, launch
from jobprocessor.model import Actor, Job, Role, Status
from jobprocessor.service import JobService
from ports import free_port
from support import DIAG, TESTS, cli_env, wait_for_status
from waiting import wait_until

#: Job types the server knows besides the diagnostics (tests/apps is on its path).
APPS = [DIAG, "console_jobs"]
#: Playwright's auto-waiting gives up after this many milliseconds.
EXPECT_TIMEOUT_MS = 15_000

ADMIN = Actor("admin", Role.ADMIN)
ALICE = Actor("alice", Role.USER)
BOB = Actor("bob", Role.USER)
#: The people who sign in: name -> (role, display name, password).
PEOPLE = {
    "admin": (Role.ADMIN, "Ada Admin", "admin-secret"),
    "alice": (Role.USER, "Alice Archer", "alice-secret"),
    "bob": (Role.USER, "Bob Baker", "bob-secret"),
}

#: Seconds a job may take to reach a state: the server's worker starts its job
#: processes while the test signs in, on a machine that may be busy.
SETTLE = 60.0

expect.set_options(timeout=EXPECT_TIMEOUT_MS)
#: Most tests run on SQLite only; the core flows run on PostgreSQL as well.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def lines(element: Locator) -> int:
    """On how many lines the element's text is laid out (a word broken in two: 2)."""
    count: int = element.evaluate(
        """(element) => {
            const range = document.createRange();
            range.selectNodeContents(element);
            return new Set([...range.getClientRects()].map((box) => Math.round(box.top))).size;
        }"""
    )
    return count


def finished(service: JobService, job: Job) -> Job:
    """The job once it has succeeded or failed."""
    return wait_for_status(service, job.id, Status.SUCCEEDED, Status.FAILED, timeout=SETTLE)


def running(service: JobService, job: Job) -> Job:
    """The job once a worker runs it."""
    return wait_for_status(service, job.id, Status.RUNNING, timeout=SETTLE)


def counting(service: JobService) -> Job:
    """A long count of alice's, once it has reported progress (for live updates)."""
    job = service.submit(ALICE, "diag.count", {"n": 3000, "delay": 0.05})
    wait_until(
        lambda: (service.get(ADMIN, job.id).progress.done or 0) > 0,
        timeout=SETTLE,
        what="progress",
    )
    return job


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, started once per test module."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM}, which is missing: install "
            "Debian's package ('apt-get install chromium'; scripts/test does it) or set "
            "JOBPROCESSOR_TEST_CHROMIUM to a Chromium binary"
        )
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@dataclass
class Console:
    """A running ``jobprocessor serve``, and the service on its database."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    service: JobService
    people: set[str] = field(default_factory=set)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def add_people(self, *names: str) -> None:
        """Make users of these PEOPLE, once (hashing a password takes a moment)."""
        for name in set(names) - self.people:
            role, display_name, password = PEOPLE[name]
            self.service.add_user(name, role=role, password=password, display_name=display_name)
            self.people.add(name)


def _healthy(process: subprocess.Popen[bytes], url: str) -> bool:
    """True once /healthz answers 200; raises if the server has exited."""
    if process.poll() is not None:
        raise ProcessLookupError(process.returncode)
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _start_server(database_url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    # The port is chosen here and bound by the server: another process may take it in
    # between, so a server that exits because its port is taken is started again.
    for _ in range(5):
        port = free_port()
        command = [sys.executable, "-m", "jobprocessor.cli", "serve", "--port", str(port)]
        command += [arg for app in APPS for arg in ("--app", app)]
        command += ["--workers", "4"]
        with log.open("wb") as handle:
            process = subprocess.Popen(
                command,
                # No drain at the end: cancel the long jobs the tests leave running.
                env=cli_env(database_url, shutdown_timeout=0),
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _healthy(process, url), timeout=60, what="/healthz")  # noqa: B023
        except ProcessLookupError:
            process.wait()
            if "address already in use" in log.read_text(errors="replace"):
                continue
            raise AssertionError(f"jobprocessor serve exited:\n{log.read_text()}") from None
        except BaseException:
            process.kill()
            process.wait()
            raise
        return process, url
    raise AssertionError("no free port for jobprocessor serve")


def _stop_server(console: Console) -> None:
    process = console.process
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"jobprocessor serve did not exit on SIGTERM:\n{console.output()}")
    print(console.output())  # shown with a failing test's report
    assert code == 0, f"jobprocessor serve exited with {code}:\n{console.output()}"


@pytest.fixture
def console(
    database_url: str, service: JobService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Console]:
    """``jobprocessor serve`` on a fresh database (users: see Console.add_people)."""
    # The test process submits console.echo jobs too: it needs their module.
    monkeypatch.syspath_prepend(str(TESTS / "apps"))
    __import__("console_jobs")
    process, url = _start_server(database_url, tmp_path / "serve.log")
    served = Console(url, process, tmp_path / "serve.log", service)
    try:
        yield served
    finally:
        _stop_server(served)


@dataclass
class Browsing:
    """One person's browser tab on the console, and what the page said on its own."""

    page: Page
    console: Console
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: What to answer a native dialog (confirm): dismiss it, unless a test says so.
    accept_dialogs: bool = False

    def url(self, path: str = "/") -> str:
        return self.console.url + path

    def goto(self, path: str = "/") -> None:
        self.page.goto(self.url(path))

    def sign_in(self, name: str) -> None:
        """Sign in as one of PEOPLE through the form, and land on the job list."""
        self.console.add_people(name)
        page = self.page
        self.goto("/login")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(PEOPLE[name][2])
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(self.url("/"))
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()

    def row(self, job_id: int) -> Locator:
        """The job's row in the list."""
        return self.page.locator(f'#job-table tr[data-id="{job_id}"]')

    def select(self, *job_ids: int) -> None:
        for job_id in job_ids:
            self.page.get_by_label(f"Select job {job_id}", exact=True).check()

    def button(self, name: str) -> Locator:
        """A button of the toolbar: Restart, Cancel, Delete (Refresh is a link)."""
        return self.page.locator("#actions").get_by_role("button", name=name, exact=True)

    def outcome(self) -> Locator:
        return self.page.locator("#outcome")


@pytest.fixture
def browsing(browser: Browser, console: Console) -> Iterator[Browsing]:
    """A new browser context (no cookies) with one page on the console.

    Script errors on the page, and errors it logs, fail the test. Native dialogs
    (alert, confirm) are recorded and dismissed: the console has its own dialogs,
    and a test that injects markup checks that nothing opened one.
    """
    context: BrowserContext = browser.new_context(
        viewport=VIEWPORT, accept_downloads=True, locale="en-GB", timezone_id="UTC"
    )
    page = context.new_page()
    browsing = Browsing(page, console)

    def on_dialog(dialog: Dialog) -> None:
        browsing.dialogs.append(f"{dialog.type}: {dialog.message}")
        with contextlib.suppress(Exception):  # the page may be gone already
            if browsing.accept_dialogs:
                dialog.accept()
            else:
                dialog.dismiss()

    context.on("dialog", on_dialog)  # on every page, those the test opens too
    page.on("pageerror", lambda error: browsing.errors.append(str(error)))

    def on_console(message: ConsoleMessage) -> None:
        # Blocked by the Content-Security-Policy, say. An answer of 404 (a job one may
        # not see) or 401 (a wrong password) is logged too, and is what a test expects;
        # so are the errors of a job's own HTML page, whose scripts must not run.
        if (
            message.type == "error"
            and not message.text.startswith("Failed to load resource")
            and "/files/" not in message.location.get("url", "")
        ):
            browsing.errors.append(message.text)

    page.on("console", on_console)
    try:
        yield browsing
    finally:
        context.close()
    assert not browsing.errors, f"script errors on the page: {browsing.errors}"
