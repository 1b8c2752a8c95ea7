"""The JobProcessor page in a real browser: sign-in, filters, the actions, live updates."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser.conftest import (
    ADMIN,
    ALICE,
    BOB,
    SETTLE,
    Browsing,
    finished,
    lines,
    running,
    sqlite_only,
)
from conftest import wait_for_status, wait_until
from jobprocessor.errors import NotFound
from jobprocessor.model import Status


@sqlite_only
def test_sign_in_and_a_wrong_password(browsing: Browsing) -> None:
    job = browsing.console.service.submit(ALICE, "diag.count", {"n": 1, "delay": 0})
    browsing.console.add_people("alice")
    page = browsing.page
    browsing.goto("/")
    expect(page).to_have_url(browsing.url("/login?next=%2F"))
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
    expect(page.get_by_label("User name")).to_have_value("alice")
    expect(page.locator("#job-table")).to_have_count(0)

    browsing.sign_in("alice")
    expect(browsing.row(job.id)).to_contain_text("Count to 1")
    expect(page.locator("header .who")).to_have_text("Alice Archer")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(browsing.url("/login"))
    browsing.goto("/")
    expect(page).to_have_url(browsing.url("/login?next=%2F"))


@sqlite_only
def test_filter_by_status_group(browsing: Browsing) -> None:
    service = browsing.console.service
    done = service.submit(ALICE, "diag.count", {"n": 1, "delay": 0})
    failed = service.submit(BOB, "diag.fail", {})
    active = service.submit(ALICE, "diag.hook", {"seconds": 600})
    page = browsing.page
    rows = page.locator("#job-table tbody tr")
    status = page.get_by_role("combobox", name="Status")
    browsing.sign_in("admin")
    finished(service, done)
    finished(service, failed)
    running(service, active)
    page.reload()
    expect(rows).to_have_count(3)
    expect(status).to_have_value("all")
    for job in (done, failed, active):  # every status badge fits its column
        assert lines(browsing.row(job.id).locator(".badge")) == 1

    status.select_option(label="Failed")
    expect(page).to_have_url(re.compile(r"[?&]status_group=failed(&|$)"))
    expect(rows).to_have_count(1)
    expect(browsing.row(failed.id)).to_contain_text("Failed")

    status.select_option(label="Active")
    expect(page).to_have_url(re.compile(r"[?&]status_group=active(&|$)"))
    expect(rows).to_have_count(1)
    expect(browsing.row(active.id)).to_contain_text("Running")

    status.select_option(label="Finished")
    expect(rows).to_have_count(2)
    expect(browsing.row(done.id)).to_be_visible()
    expect(browsing.row(failed.id)).to_be_visible()

    status.select_option(label="Canceled")
    expect(rows).to_have_count(0)
    expect(page.locator(".empty")).to_contain_text("No jobs match status Canceled.")
    page.reload()  # the filter lives in the URL
    expect(status).to_have_value("canceled")
    page.get_by_role("link", name="Show all jobs").click()
    expect(rows).to_have_count(3)
    expect(status).to_have_value("all")


@sqlite_only
def test_filter_by_user_through_the_dialog(browsing: Browsing) -> None:
    service = browsing.console.service
    browsing.console.add_people("alice", "bob")
    alices = service.submit(ALICE, "diag.count", {"n": 1, "delay": 0})
    bobs = service.submit(BOB, "diag.count", {"n": 2, "delay": 0})
    page = browsing.page
    rows = page.locator("#job-table tbody tr")
    browsing.sign_in("admin")
    expect(rows).to_have_count(2)
    finished(service, alices)
    finished(service, bobs)

    chip = page.get_by_role("button", name="All users")
    chip.click()
    dialog = page.get_by_role("dialog", name="Select user")
    expect(dialog).to_be_visible()
    search = dialog.get_by_label("Search")
    expect(search).to_be_focused()
    search.fill("zzz")
    expect(dialog.get_by_text("No user matches.")).to_be_visible()
    search.fill("bak")  # Bob Baker
    expect(dialog.get_by_text("Alice Archer")).to_be_hidden()
    dialog.get_by_label("Bob Baker").check()
    dialog.get_by_role("button", name="OK").click()

    expect(page).to_have_url(re.compile(r"[?&]user=bob(&|$)"))
    expect(rows).to_have_count(1)
    expect(browsing.row(bobs.id)).to_be_visible()
    expect(page.get_by_role("button", name="bob", exact=True)).to_be_visible()

    # Cancel in the dialog keeps the filter as it was.
    page.get_by_role("button", name="bob", exact=True).click()
    dialog.get_by_label("Alice Archer").check()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(r"[?&]user=bob(&|$)"))

    # The status filter keeps the user filter, and a reload keeps both.
    page.get_by_role("combobox", name="Status").select_option(label="Succeeded")
    expect(page).to_have_url(re.compile(r"status_group=succeeded.*user=bob|user=bob.*status"))
    page.reload()
    expect(rows).to_have_count(1)
    expect(browsing.row(bobs.id)).to_be_visible()

    page.get_by_role("link", name="Show jobs of all users").click()
    expect(page).not_to_have_url(re.compile(r"user=bob"))
    expect(rows).to_have_count(2)
    expect(browsing.row(alices.id)).to_be_visible()
    expect(chip).to_be_visible()


@sqlite_only
def test_a_user_sees_only_their_own_jobs_and_no_user_filter(browsing: Browsing) -> None:
    service = browsing.console.service
    browsing.console.add_people("bob")
    alices = [service.submit(ALICE, "diag.count", {"n": n, "delay": 0}) for n in (1, 2)]
    bobs = service.submit(BOB, "diag.count", {"n": 3, "delay": 0})
    page = browsing.page
    rows = page.locator("#job-table tbody tr")
    browsing.sign_in("alice")
    expect(rows).to_have_count(2)
    for job in alices:
        expect(browsing.row(job.id)).to_be_visible()
    expect(page.locator("#pick-user")).to_have_count(0)
    expect(page.locator("#user-dialog")).to_have_count(0)
    expect(page.get_by_role("link", name="Workers")).to_have_count(0)

    browsing.goto("/?user=bob")  # a user filter in the URL shows no one else's jobs
    expect(browsing.row(bobs.id)).to_have_count(0)
    browsing.goto(f"/jobs/{bobs.id}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("Count to 3")).to_have_count(0)


def test_cancel_two_running_jobs(browsing: Browsing) -> None:
    service = browsing.console.service
    hook = service.submit(ALICE, "diag.hook", {"seconds": 600})
    count = service.submit(BOB, "diag.count", {"n": 6000, "delay": 0.1})
    other = service.submit(ALICE, "diag.hook", {"seconds": 600})
    page = browsing.page
    browsing.sign_in("admin")
    for job in (hook, count, other):
        running(service, job)
    page.get_by_role("link", name="Refresh").click()
    for job in (hook, count, other):
        expect(browsing.row(job.id).locator(".badge")).to_have_text("Running")
    browsing.select(hook.id, count.id)
    expect(page.locator("#selection-count")).to_have_text("2 selected")
    expect(browsing.button("Cancel")).to_be_enabled()
    expect(browsing.button("Restart")).to_be_disabled()
    expect(browsing.button("Delete")).to_be_disabled()

    browsing.button("Cancel").click()
    expect(browsing.outcome()).to_have_text(
        f"2 asked to stop (#{count.id} and #{hook.id}); "  # as listed: newest first
        "stopped by force if they do not end within their grace time."
    )
    for job in (hook, count):
        wait_for_status(service, job.id, Status.CANCELED, timeout=SETTLE)
    page.get_by_role("link", name="Refresh").click()
    expect(browsing.row(hook.id).locator(".badge")).to_have_text("Canceled")
    expect(browsing.row(count.id).locator(".badge")).to_have_text("Canceled")
    expect(browsing.row(other.id).locator(".badge")).to_have_text("Running")
    assert service.get(ADMIN, other.id).status is Status.RUNNING

    browsing.row(hook.id).get_by_role("link", name=hook.title).click()
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Cancel requested by admin")
    expect(timeline).to_contain_text("Canceled")
    expect(page.locator(".report-head .badge")).to_have_text("Canceled")


@sqlite_only
def test_restart_a_finished_job(browsing: Browsing) -> None:
    service = browsing.console.service
    old = service.submit(ALICE, "diag.count", {"n": 2, "delay": 0})
    browsing.sign_in("admin")
    finished(service, old)
    browsing.page.reload()
    browsing.select(old.id)
    expect(browsing.button("Cancel")).to_be_disabled()
    browsing.button("Restart").click()

    restarts = wait_until(lambda: service.restarts_of(ADMIN, old.id), what="the restart")
    assert len(restarts) == 1
    new = service.get(ADMIN, restarts[0])
    assert (new.type, new.params, new.restarted_from) == (old.type, old.params, old.id)
    expect(browsing.outcome()).to_have_text(f"1 restarted (as #{new.id}).")
    expect(browsing.row(new.id)).to_contain_text("Count to 2")  # the list was refreshed
    expect(browsing.row(old.id)).to_be_visible()  # the old job stays


@sqlite_only
def test_delete_through_the_confirmation(browsing: Browsing) -> None:
    service = browsing.console.service
    first, second, kept = (
        service.submit(ALICE, "diag.count", {"n": n, "delay": 0}) for n in (1, 2, 3)
    )
    page = browsing.page
    browsing.sign_in("admin")
    for job in (first, second, kept):
        finished(service, job)
    page.reload()
    browsing.select(first.id, second.id)
    browsing.button("Delete").click()
    dialog = page.get_by_role("dialog", name="Delete jobs?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(
        "2 jobs will be deleted with their report and files. This cannot be undone."
    )
    expect(dialog.get_by_role("button", name="Keep them")).to_be_focused()

    dialog.get_by_role("button", name="Keep them").click()
    expect(dialog).to_be_hidden()
    expect(browsing.outcome()).to_be_hidden()
    for job in (first, second):
        expect(browsing.row(job.id)).to_be_visible()
        assert service.get(ADMIN, job.id).id == job.id

    browsing.button("Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(browsing.outcome()).to_have_text(f"2 deleted (#{second.id} and #{first.id}).")
    for job in (first, second):
        expect(browsing.row(job.id)).to_have_count(0)
        with pytest.raises(NotFound):
            service.get(ADMIN, job.id)
    expect(browsing.row(kept.id)).to_be_visible()
    expect(page.locator("#selection-count")).to_have_text("")


@sqlite_only
def test_buttons_apply_to_the_selection(browsing: Browsing) -> None:
    service = browsing.console.service
    done = service.submit(ALICE, "diag.count", {"n": 1, "delay": 0})
    active = service.submit(ALICE, "diag.hook", {"seconds": 600})
    page = browsing.page
    restart, cancel, delete = (browsing.button(n) for n in ("Restart", "Cancel", "Delete"))
    browsing.sign_in("admin")
    finished(service, done)
    running(service, active)
    page.reload()
    for button in (restart, cancel, delete):
        expect(button).to_be_disabled()
    expect(page.get_by_role("link", name="Refresh")).to_be_visible()

    browsing.select(active.id)
    expect(cancel).to_be_enabled()
    expect(restart).to_be_disabled()
    expect(delete).to_be_disabled()

    browsing.select(done.id)
    for button in (restart, cancel, delete):
        expect(button).to_be_enabled()
    page.get_by_label(f"Select job {active.id}", exact=True).uncheck()
    expect(cancel).to_be_disabled()
    expect(restart).to_be_enabled()

    select_all = page.get_by_label("Select all jobs on this page")
    select_all.check()
    expect(page.locator("#selection-count")).to_have_text("2 selected")
    for button in (restart, cancel, delete):
        expect(button).to_be_enabled()

    # An action on a mixed selection says what happened to each job.
    restart.click()
    new_id = wait_until(lambda: service.restarts_of(ADMIN, done.id), what="the restart")[0]
    expect(browsing.outcome()).to_have_text(
        f"1 restarted (as #{new_id}). Not restarted: job {active.id} is still running; "
        "only finished jobs restart."
    )
    expect(browsing.outcome()).to_have_class(re.compile(r"\berror\b"))
    expect(browsing.row(new_id)).to_be_visible()  # the list was refreshed
    expect(select_all).not_to_be_checked()  # two of three selected
    select_all.check()
    select_all.uncheck()
    for button in (restart, cancel, delete):
        expect(button).to_be_disabled()

    # A box ticked while the list is being refreshed stays ticked.
    page.locator("#job-table tbody").evaluate("(body) => { body.dataset.old = 'yes'; }")
    page.evaluate(
        """(id) => {
            document.getElementById("refresh").click();  // the list is being fetched...
            document.querySelector(`#job-table input[value="${id}"]`).click();  // ...and a tick
        }""",
        active.id,
    )
    expect(page.locator("#job-table tbody[data-old]")).to_have_count(0)  # swapped in
    expect(page.get_by_label(f"Select job {active.id}", exact=True)).to_be_checked()
    expect(cancel).to_be_enabled()


def test_live_updates_move_the_progress_bar(browsing: Browsing) -> None:
    service = browsing.console.service
    job = service.submit(ALICE, "diag.count", {"n": 3000, "delay": 0.05})
    page = browsing.page
    browsing.sign_in("admin")
    wait_until(
        lambda: (service.get(ADMIN, job.id).progress.done or 0) > 0,
        timeout=SETTLE,
        what="progress",
    )
    page.reload()
    bar = browsing.row(job.id).locator("progress")
    shown = bar.get_attribute("value")
    assert shown is not None

    # Off by default: the list changes only on Refresh.
    wait_until(
        lambda: (service.get(ADMIN, job.id).progress.fraction or 0) > float(shown) + 0.002,
        what="the job to progress",
    )
    expect(bar).to_have_attribute("value", shown)
    page.get_by_label("Live updates").check()
    expect(page).to_have_url(re.compile(r"[?&]live=1(&|$)"))
    expect(page.get_by_label("Live updates")).to_be_checked()

    page.evaluate("window.notReloaded = true")
    loaded = float(bar.get_attribute("value") or "nan")
    page.wait_for_function(
        """([id, loaded]) => {
            const bar = document.querySelector(`#job-table tr[data-id="${id}"] progress`);
            return bar !== null && Number(bar.value) > loaded;
        }""",
        arg=[job.id, loaded],
        timeout=30_000,
    )
    assert page.evaluate("window.notReloaded") is True  # the table was swapped in place


@sqlite_only
def test_keyboard_reaches_the_toolbar_and_the_dialogs(browsing: Browsing) -> None:
    service = browsing.console.service
    browsing.console.add_people("bob")
    done = service.submit(ALICE, "diag.count", {"n": 1, "delay": 0})
    service.submit(BOB, "diag.count", {"n": 1, "delay": 0})
    page = browsing.page
    keyboard = page.keyboard
    browsing.sign_in("admin")
    finished(service, done)
    page.reload()

    keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

    # Select a job with the space bar, then walk the filters and the toolbar with Tab.
    page.get_by_label(f"Select job {done.id}", exact=True).focus()
    keyboard.press("Space")
    expect(page.get_by_label(f"Select job {done.id}", exact=True)).to_be_checked()
    page.get_by_role("combobox", name="Status").focus()
    for control in (
        page.get_by_role("button", name="All users"),
        page.get_by_label("Live updates"),
        browsing.button("Restart"),
        browsing.button("Delete"),  # Cancel is disabled, so Tab passes it by
        page.get_by_role("link", name="Refresh"),
    ):
        keyboard.press("Tab")
        expect(control).to_be_focused()

    # Delete opens the confirmation on "Keep them"; Escape closes it and keeps the job.
    keyboard.press("Shift+Tab")
    expect(browsing.button("Delete")).to_be_focused()
    keyboard.press("Enter")
    confirm = page.get_by_role("dialog", name="Delete jobs?")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("button", name="Keep them")).to_be_focused()
    keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    expect(browsing.row(done.id)).to_be_visible()
    assert service.get(ADMIN, done.id).id == done.id

    # The user dialog: Enter opens it, Escape closes it, Enter in the search picks.
    chip = page.get_by_role("button", name="All users")
    chip.focus()
    keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Select user")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Search")).to_be_focused()
    keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(browsing.url("/"))
    chip.focus()
    keyboard.press("Enter")
    keyboard.type("bob")
    keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]user=bob(&|$)"))
    expect(page.locator("#job-table tbody tr")).to_have_count(1)
