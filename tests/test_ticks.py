"""When a schedule's ticks fall (no database, no clock: every moment is given).

Europe/Berlin changes its clocks on 2026-03-29 (02:00 CET → 03:00 CEST) and on
2026-10-25 (03:00 CEST → 02:00 CET); Asia/Tokyo has no daylight-saving time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobprocessor.errors import InvalidInput
from jobprocessor.ticks import (
    MAX_MISSED,
    Missed,
    check_cron,
    check_zone,
    due_ticks,
    next_tick,
    ticks_after,
)

BERLIN = check_zone("Europe/Berlin")
TOKYO = check_zone("Asia/Tokyo")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def first(cron: str, zone: object, after: datetime, count: int) -> list[datetime]:
    ticks = ticks_after(cron, zone, after)  # type: ignore[arg-type]
    return [next(ticks) for _ in range(count)]


# -- clocks go forward -------------------------------------------------------------


def test_a_time_in_the_spring_gap_runs_at_the_first_instant_after_it() -> None:
    # 02:30 does not exist on 2026-03-29 in Berlin: it runs at 03:00 CEST (01:00 UTC).
    assert first("30 2 * * *", BERLIN, utc(2026, 3, 28, 12), 3) == [
        utc(2026, 3, 29, 1, 0),
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
        utc(2026, 3, 31, 0, 30),
    ]


def test_several_times_in_the_gap_run_once_at_its_end() -> None:
    # Every 30 minutes: 02:00 and 02:30 do not exist; both fall on 03:00, which is a
    # tick of its own too: one job at 03:00.
    assert first("*/30 * * * *", BERLIN, utc(2026, 3, 29, 0, 0), 4) == [
        utc(2026, 3, 29, 0, 30),  # 01:30 CET
        utc(2026, 3, 29, 1, 0),  # 03:00 CEST
        utc(2026, 3, 29, 1, 30),  # 03:30 CEST
        utc(2026, 3, 29, 2, 0),
    ]


# -- clocks go back ------------------------------------------------------------------


def test_a_time_that_occurs_twice_runs_once_at_its_first_occurrence() -> None:
    # 02:30 occurs twice on 2026-10-25: at 02:30 CEST (00:30 UTC) and 02:30 CET.
    assert first("30 2 * * *", BERLIN, utc(2026, 10, 24, 12), 3) == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),  # 02:30 CET
        utc(2026, 10, 27, 1, 30),
    ]


def test_the_repeated_hour_runs_once_for_an_every_half_hour_schedule() -> None:
    ticks = first("*/30 * * * *", BERLIN, utc(2026, 10, 24, 23, 50), 5)
    assert ticks == [
        utc(2026, 10, 25, 0, 0),  # 02:00 CEST
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST
        # 02:00 and 02:30 CET (01:00, 01:30 UTC) are the same local times again: skipped
        utc(2026, 10, 25, 2, 0),  # 03:00 CET
        utc(2026, 10, 25, 2, 30),
        utc(2026, 10, 25, 3, 0),
    ]


# -- a zone without daylight-saving time ---------------------------------------------


def test_a_zone_without_dst_keeps_its_offset_all_year() -> None:
    for day in (utc(2026, 3, 28), utc(2026, 10, 24)):
        assert first("30 2 * * *", TOKYO, day, 2) == [
            day.replace(hour=17, minute=30),  # 02:30 JST the next day is 17:30 UTC
            day.replace(hour=17, minute=30) + timedelta(days=1),
        ]


def test_next_tick_is_strictly_after() -> None:
    monday_six = utc(2026, 11, 30, 5, 0)  # Monday 06:00 CET
    assert next_tick("0 6 * * MON", BERLIN, monday_six) == monday_six + timedelta(days=7)
    assert next_tick("0 6 * * MON", BERLIN, monday_six - timedelta(seconds=1)) == monday_six


# -- missed ticks ------------------------------------------------------------------


HOURLY = "0 * * * *"
LAST_RUN = utc(2026, 11, 30, 0, 0)


@pytest.mark.parametrize(
    ("missed", "expected"),
    [
        (Missed.SKIP, []),
        (Missed.LATEST, [utc(2026, 11, 30, 5)]),
        (Missed.ALL, [utc(2026, 11, 30, hour) for hour in range(1, 6)]),
    ],
)
def test_ticks_missed_while_down_follow_the_policy(
    missed: Missed, expected: list[datetime]
) -> None:
    now = utc(2026, 11, 30, 5, 30)  # the 05:00 tick is half an hour late: missed too
    ticks, latest = due_ticks(HOURLY, TOKYO, after=LAST_RUN, now=now, missed=missed)
    assert (ticks, latest) == (expected, utc(2026, 11, 30, 5))


@pytest.mark.parametrize("missed", list(Missed))
def test_a_tick_on_time_gets_its_job_whatever_the_policy(missed: Missed) -> None:
    now = utc(2026, 11, 30, 5, 0, 1)
    ticks, _ = due_ticks(HOURLY, TOKYO, after=utc(2026, 11, 30, 4), now=now, missed=missed)
    assert ticks == [utc(2026, 11, 30, 5)]


def test_all_submits_at_most_the_latest_hundred() -> None:
    now = LAST_RUN + timedelta(days=3, seconds=30)
    ticks, latest = due_ticks("* * * * *", TOKYO, after=LAST_RUN, now=now, missed=Missed.ALL)
    assert len(ticks) == MAX_MISSED
    assert ticks[-1] == latest == LAST_RUN + timedelta(days=3)
    assert ticks[0] == latest - timedelta(minutes=MAX_MISSED - 1)


def test_a_sparse_schedule_long_down_still_finds_its_latest_tick() -> None:
    yearly = "0 0 1 1 *"
    now = utc(2030, 6, 1)
    ticks, latest = due_ticks(yearly, TOKYO, after=LAST_RUN, now=now, missed=Missed.LATEST)
    assert ticks == [latest] == [utc(2029, 12, 31, 15)]  # 1 January 00:00 JST


def test_nothing_is_due_before_the_next_tick() -> None:
    assert due_ticks(HOURLY, TOKYO, after=LAST_RUN, now=LAST_RUN, missed=Missed.ALL) == ([], None)


# -- checks ------------------------------------------------------------------------


@pytest.mark.parametrize("cron", ["0 25 * * *", "* * * *", "61 * * * *", "", "0 6 * * FUNDAY"])
def test_a_bad_cron_is_refused_naming_the_field(cron: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_cron(cron)
    assert list(refused.value.fields) == ["cron"]


@pytest.mark.parametrize("zone", ["Mars/Base", "", "../../etc/passwd", "Europe/"])
def test_an_unknown_zone_is_refused_naming_the_field(zone: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_zone(zone)
    assert list(refused.value.fields) == ["timezone"]
