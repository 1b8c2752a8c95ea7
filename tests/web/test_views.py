"""How jobs read in the console: durations, time left, sizes, outcome sentences, URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobprocessor.model import Job, Progress, Status, StatusGroup
from jobprocessor.service import BulkResult
from jobprocessor.web.listing import ListView
from jobprocessor.web.outcomes import ids_text, summarize
from jobprocessor.web.views import eta, seconds_text, size_text

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def a_job(status: Status = Status.RUNNING, **values: object) -> Job:
    fields: dict[str, object] = {
        "id": 7,
        "type": "diag.count",
        "category": "diagnostics",
        "title": "Count",
        "status": status,
        "params": {},
        "submitted_by": "alice",
        "created_at": T0,
        "started_at": T0,
    }
    fields.update(values)
    return Job(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.04, "0.0 s"), (3.25, "3.2 s"), (12.4, "12 s"), (185, "3 min 05 s"), (7620, "2 h 07 min")],
)
def test_durations_read_at_a_glance(seconds: float, text: str) -> None:
    assert seconds_text(seconds) == text


@pytest.mark.parametrize(("size", "text"), [(0, "0 B"), (999, "999 B"), (14_200, "14.2 kB")])
def test_sizes(size: int, text: str) -> None:
    assert size_text(size) == text


def test_time_left_follows_the_progress_so_far() -> None:
    quarter = a_job(progress=Progress(25, 100))
    assert eta(quarter, now=T0 + timedelta(seconds=60)) == pytest.approx(180)
    assert eta(a_job(progress=Progress(1, 1000)), now=T0 + timedelta(seconds=5)) is None
    assert eta(a_job(progress=Progress(5, None)), now=T0 + timedelta(seconds=5)) is None
    finished = a_job(Status.SUCCEEDED, progress=Progress(50, 100), finished_at=T0)
    assert eta(finished, now=T0) is None


def test_outcome_sentences_say_what_happened_to_each_job() -> None:
    assert ids_text([3]) == "#3"
    assert ids_text([3, 4, 5]) == "#3, #4 and #5"
    canceled = BulkResult(1, True, None, a_job(Status.CANCELED, id=1))
    asked = BulkResult(2, True, None, a_job(Status.CANCELING, id=2))
    refused = BulkResult(3, False, "job 3 is already succeeded")
    assert summarize("cancel", [canceled, asked, refused]) == (
        "1 canceled (#1). 1 asked to stop (#2); stopped by force if they do not end within "
        "their grace time. Not canceled: job 3 is already succeeded."
    )
    assert summarize("delete", [BulkResult(4, True)]) == "1 deleted (#4)."
    assert summarize("restart", []) == "Select one or more jobs first."


def test_list_urls_keep_only_what_differs_from_the_defaults() -> None:
    view = ListView(status_group=StatusGroup.FAILED, user="bob", live=True)
    assert view.url() == "/?status_group=failed&user=bob&live=1"
    assert view.url("/jobs/table", user=None, cursor="40") == (
        "/jobs/table?status_group=failed&cursor=40&live=1"
    )
    assert ListView().url() == "/"
    assert view.describe() == "status Failed, started by bob"
