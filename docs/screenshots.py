"""Take the README's screenshots of the console: ``scripts/screenshots``.

Starts ``jobprocessor serve --demo`` on a temporary SQLite database, adds one job
that is half-way through when the picture is taken, signs in as the demo admin in
headless Chromium and saves ``docs/console-list.png`` (the job list) and
``docs/console-report.png`` (the report of the demo's failing job: its error
and its log).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from chromium import VIEWPORT, launch  # tests/chromium.py (scripts/screenshots sets the path)
from jobprocessor.model import Actor, Role, Status
from jobprocessor.service import open_service
from jobprocessor.settings import Settings

DOCS = Path(__file__).parent
ADMIN = Actor("admin", Role.ADMIN)


def wait_for(condition: Callable[[], object], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def take(page: Page, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill("admin")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    page.get_by_label("Select job 2", exact=True).check()  # shows the toolbar in use
    page.mouse.move(0, 0)
    page.screenshot(path=DOCS / "console-list.png")

    page.goto(f"{url}/jobs/2")
    expect(page.locator("table.entries")).to_contain_text("about to fail")
    page.mouse.move(0, 0)
    page.screenshot(path=DOCS / "console-report.png")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jobprocessor-screenshots-") as folder:
        database_url = f"sqlite:///{folder}/demo.sqlite3"
        # No drain on stop: the demo's long jobs are canceled at once.
        env = {
            **os.environ,
            "JOBPROCESSOR_DATABASE_URL": database_url,
            "JOBPROCESSOR_SHUTDOWN_TIMEOUT": "0",
        }
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "jobprocessor.cli", "serve", "--demo"]
        command += ["--port", str(port), "--workers", "4"]
        with open(Path(folder) / "serve.log", "wb") as log:
            server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        service = None
        try:
            wait_for(lambda: healthy(url) or server.poll() is not None, "the console")
            if server.poll() is not None:
                raise SystemExit((Path(folder) / "serve.log").read_text())
            service = open_service(Settings(database_url=database_url))
            import jobprocessor.diagnostics  # noqa: F401 - the demo's job types

            halfway = service.submit(
                ADMIN, "diag.count", {"n": 40, "delay": 0.25}, title="Monthly coverage report"
            )
            wait_for(
                lambda: all(service.get(ADMIN, i).status.is_finished for i in (1, 2, 3)),
                "the demo's short jobs",
            )
            wait_for(
                lambda: (
                    (service.get(ADMIN, halfway.id).progress.fraction or 0) >= 0.45
                    and service.get(ADMIN, 5).status is Status.RUNNING
                ),
                "the long jobs to be under way",
            )
            with sync_playwright() as playwright:
                browser = launch(playwright)
                context = browser.new_context(
                    viewport=VIEWPORT, locale="en-GB", timezone_id="Europe/Berlin"
                )
                take(context.new_page(), url)
                browser.close()
        finally:
            if service is not None:
                service.store.engine.dispose()
            server.send_signal(signal.SIGTERM)
            server.wait(60)
    print(f"saved {DOCS / 'console-list.png'} and {DOCS / 'console-report.png'}")


if __name__ == "__main__":
    main()
