"""A job's report page in a real browser: its parts, files, actions and live updates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from browser.conftest import (
    ADMIN,
    ALICE,
    SETTLE,
    Browsing,
    counting,
    finished,
    lines,
    running,
    sqlite_only,
)
from jobprocessor.errors import NotFound
from jobprocessor.model import Status
from support import wait_for_status
from waiting import wait_until


def test_report_and_artifact_download(browsing: Browsing) -> None:
    service = browsing.console.service
    job = service.submit(ALICE, "diag.count", {"n": 3, "delay": 0})
    page = browsing.page
    browsing.sign_in("admin")
    finished(service, job)
    page.reload()
    browsing.row(job.id).get_by_role("link", name="Count to 3").click()
    expect(page).to_have_url(browsing.url(f"/jobs/{job.id}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"#{job.id} Count to 3")
    expect(page.locator(".report-head .badge")).to_have_text("Succeeded")

    settings = page.locator("table.settings")
    expect(settings.get_by_role("row", name="n")).to_contain_text("3")
    expect(settings.get_by_role("row", name="delay")).to_contain_text("0.0")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Submitted by alice")
    expect(timeline).to_contain_text("Started")
    expect(timeline).to_contain_text("Succeeded")
    expect(page.locator("pre.result")).to_contain_text('"counted": 3')

    log = page.locator("table.entries tr")
    expect(log).to_have_count(2)
    expect(log.filter(has_text="counted to 3")).to_have_class(re.compile(r"\blv-info\b"))
    warning = log.filter(has_text="done, with a warning")
    expect(warning).to_have_class(re.compile(r"\blv-warning\b"))
    assert lines(warning.locator("td.level")) == 1  # "WARNING" is not broken in two
    # Only the warnings: a filter on the log's levels, kept in the URL.
    page.get_by_role("checkbox", name="Warning").check()
    expect(page).to_have_url(re.compile(r"[?&]level=WARNING(&|$)"))
    expect(log).to_have_count(1)
    expect(log).to_contain_text("done, with a warning")

    files = page.locator("table.files")
    expect(files.get_by_role("row", name=re.compile("numbers.csv"))).to_contain_text("8 B")
    with page.expect_download() as download_info:
        files.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "numbers.csv"
    assert Path(download.path()).read_text() == "i\n1\n2\n3\n"


MARKUP = '<script>alert("x")</script><img src=x onerror=alert("y")>'
#: A script that leaves a mark where it runs.
RAN = '<script>document.body.setAttribute("data-ran", "yes")</script>'


@sqlite_only
def test_markup_in_a_title_a_setting_and_a_log_line_is_shown_as_text(browsing: Browsing) -> None:
    service = browsing.console.service
    echo = service.submit(ALICE, "console.echo", {"message": MARKUP}, title=f"Title {MARKUP}")
    titled = service.submit(ALICE, "console.echo", {"message": MARKUP})  # title from the setting
    failing = service.submit(ALICE, "diag.fail", {"message": MARKUP})
    framed = service.submit(ALICE, "console.echo", {"html": f"<h1>Coverage</h1>{MARKUP}{RAN}"})
    service.add_user("mallory", display_name=f"Mallory {MARKUP}")
    page = browsing.page
    browsing.sign_in("admin")
    for job in (echo, titled, failing, framed):
        finished(service, job)
    page.reload()

    table = page.locator("#job-table")
    expect(browsing.row(echo.id).get_by_role("link")).to_have_text(f"Title {MARKUP}")
    expect(browsing.row(echo.id).locator(".msg")).to_have_text(MARKUP)
    expect(browsing.row(titled.id).get_by_role("link")).to_have_text(f"Echo {MARKUP}")
    expect(browsing.row(failing.id).locator(".msg")).to_contain_text(f"RuntimeError: {MARKUP}")
    expect(table.locator("script, img")).to_have_count(0)
    page.get_by_role("button", name="All users").click()
    users = page.get_by_role("dialog", name="Select user")
    expect(users.get_by_text(f"Mallory {MARKUP}")).to_be_visible()
    expect(users.locator("script, img")).to_have_count(0)
    page.keyboard.press("Escape")

    browsing.goto(f"/jobs/{echo.id}")
    main = page.locator("main")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"#{echo.id} Title {MARKUP}")
    expect(page).to_have_title(f"#{echo.id} Title {MARKUP} · JobProcessor")
    setting = page.locator("table.settings tr", has_text="message").locator("td")
    expect(setting).to_have_text(MARKUP)
    expect(page.locator("table.entries td.message")).to_have_text(MARKUP)
    expect(page.locator("pre.result")).to_contain_text("<script>")
    expect(main.locator("script, img")).to_have_count(0)

    browsing.goto(f"/jobs/{failing.id}")
    error = page.locator("section.error")
    expect(error).to_contain_text(f"RuntimeError: {MARKUP}")
    error.locator("summary", has_text="Traceback").click()
    expect(error.locator("pre")).to_contain_text(MARKUP)
    expect(page.locator("table.entries tr.lv-error")).to_contain_text("about to fail")
    expect(main.locator("script, img")).to_have_count(0)

    # A job's own HTML page is shown framed, and its scripts do not run.
    browsing.goto(f"/jobs/{framed.id}")
    frame = page.frame_locator("iframe.report-view")
    expect(frame.get_by_role("heading", name="Coverage")).to_be_visible()
    expect(frame.locator("script")).to_have_count(2)
    expect(frame.locator("body")).not_to_have_attribute("data-ran", "yes")
    with page.context.expect_page() as opened:  # the file opened on its own
        page.locator("table.files").get_by_role("link", name="report.html").click()
    alone = opened.value
    alone.wait_for_load_state()
    expect(alone.get_by_role("heading", name="Coverage")).to_be_visible()
    expect(alone.locator("body")).not_to_have_attribute("data-ran", "yes")
    assert browsing.dialogs == []


@sqlite_only
def test_actions_on_the_report_page(browsing: Browsing) -> None:
    service = browsing.console.service
    old = service.submit(ALICE, "diag.count", {"n": 1, "delay": 0})
    hook = service.submit(ALICE, "diag.hook", {"seconds": 600})
    quiet = service.submit(ALICE, "diag.sleep", {"seconds": 600})  # reports no progress
    page = browsing.page
    restart, cancel, delete = (browsing.button(n) for n in ("Restart", "Cancel", "Delete"))
    browsing.sign_in("admin")
    running(service, hook)
    running(service, quiet)
    finished(service, old)

    # A running job that reports no progress still shows that it runs.
    browsing.goto(f"/jobs/{quiet.id}")
    expect(page.get_by_role("progressbar", name="Running")).to_be_visible()

    # A running job: only Cancel; the page then shows it stopping or stopped.
    browsing.goto(f"/jobs/{hook.id}")
    expect(restart).to_be_disabled()
    expect(delete).to_be_disabled()
    cancel.click()
    expect(browsing.outcome()).to_contain_text(f"1 asked to stop (#{hook.id})")
    expect(page.locator(".report-head .badge")).to_have_text(re.compile("Canceling|Canceled"))

    # A finished job: Restart opens the new job, which links back to the old one.
    browsing.goto(f"/jobs/{old.id}")
    expect(cancel).to_be_disabled()
    restart.click()
    new_id = wait_until(lambda: service.restarts_of(ADMIN, old.id), what="the restart")[0]
    expect(page).to_have_url(browsing.url(f"/jobs/{new_id}"))
    page.get_by_role("link", name=f"#{old.id}", exact=True).click()
    expect(page).to_have_url(browsing.url(f"/jobs/{old.id}"))
    expect(page.locator(".facts").get_by_role("link", name=f"#{new_id}")).to_be_visible()

    # Delete asks first, as on the list: "Keep them" deletes nothing, "Delete" deletes.
    delete.click()
    confirm = page.get_by_role("dialog", name="Delete jobs?")
    expect(confirm).to_contain_text("1 job will be deleted with its report and files.")
    expect(confirm).to_contain_text("This cannot be undone.")
    confirm.get_by_role("button", name="Keep them").click()
    expect(confirm).to_be_hidden()
    assert service.get(ADMIN, old.id).id == old.id
    delete.click()
    confirm.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(browsing.url("/"))
    assert browsing.dialogs == []
    with pytest.raises(NotFound):
        service.get(ADMIN, old.id)


@sqlite_only
def test_live_updates_on_the_report_page(browsing: Browsing) -> None:
    service = browsing.console.service
    job = counting(service)
    page = browsing.page
    browsing.sign_in("admin")
    browsing.goto(f"/jobs/{job.id}")
    bar = page.locator(".progress.big progress")
    expect(bar).to_be_visible()
    loaded = float(bar.get_attribute("value") or "nan")
    page.get_by_label("Live updates").check()
    page.wait_for_function(
        """(loaded) => {
            const bar = document.querySelector(".progress.big progress");
            return bar !== null && Number(bar.value) > loaded;
        }""",
        arg=loaded,
        timeout=30_000,
    )
    expect(page.get_by_label("Live updates")).to_be_checked()  # still on after the reload

    # Deleted elsewhere while followed: the page says so (and stops following it).
    service.cancel(ADMIN, job.id)
    wait_for_status(service, job.id, Status.CANCELED, timeout=SETTLE)
    service.delete(ADMIN, job.id)
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
