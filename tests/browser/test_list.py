"""The JobProcessor page in a real browser: sign-in, filters, live updates, keyboard."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from browser.conftest import (
    ADMIN,
    ALICE,
    BOB,
    Browsing,
    counting,
    finished,
    lines,
    running,
    sqlite_only,
)
from waiting import wait_until


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
    expect(page).not_to_have_url(re.compile(r"[?&]user=(&|$)"))  # no empty filters
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
    expect(page.get_by_role("button", name="Bob Baker", exact=True)).to_be_visible()

    # Cancel in the dialog keeps the filter as it was.
    page.get_by_role("button", name="Bob Baker", exact=True).click()
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


def test_live_updates_move_the_progress_bar(browsing: Browsing) -> None:
    service = browsing.console.service
    job = counting(service)
    page = browsing.page
    browsing.sign_in("admin")
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
        page.get_by_role("combobox", name="Queue"),
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
