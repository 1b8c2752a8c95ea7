"""The actions of the JobProcessor page in a real browser: cancel, restart, delete."""

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
    running,
    sqlite_only,
)
from jobprocessor.errors import NotFound
from jobprocessor.model import Status
from support import wait_for_status
from waiting import wait_until


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
