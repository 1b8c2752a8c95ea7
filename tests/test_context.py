"""JobContext on its own: a list stands in for the pipe to the worker."""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any

import pytest

from jobprocessor import context as context_module
from jobprocessor.context import PROGRESS_INTERVAL, JobCanceled, JobContext
from jobprocessor.worker.messages import Artifact, FromJob, LogEntry, ProgressUpdate, Recorder

_ids = itertools.count(900_001)


class FakeClock:
    """Replaces ``time`` in the context module so rate limiting needs no sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(context_module, "time", fake)
    return fake


def make_context(params: dict[str, Any] | None = None) -> tuple[JobContext, list[FromJob]]:
    recorder = Recorder()
    ctx = JobContext(next(_ids), params or {}, "alice", recorder)
    return ctx, recorder.sent


def logged(sent: list[FromJob]) -> list[LogEntry]:
    return [m for m in sent if isinstance(m, LogEntry)]


def test_context_exposes_its_job() -> None:
    ctx, sent = make_context({"n": 3})
    assert ctx.params == {"n": 3}
    assert ctx.submitted_by == "alice"
    assert ctx.job_id >= 900_001
    assert ctx.canceled is False
    assert sent == []


# -- progress ------------------------------------------------------------------------


def test_first_progress_is_sent_at_once(clock: FakeClock) -> None:
    ctx, sent = make_context()
    ctx.progress(1, 10, "one")
    assert sent == [ProgressUpdate(1.0, 10.0, "one")]


def test_progress_is_rate_limited_and_flush_sends_the_last_value(clock: FakeClock) -> None:
    ctx, sent = make_context()
    ctx.progress(1, 10, "one")
    clock.now += PROGRESS_INTERVAL / 10
    ctx.progress(2, 10, "two")
    ctx.progress(3, 10, "three")
    assert sent == [ProgressUpdate(1.0, 10.0, "one")]  # held back
    ctx.flush()
    assert sent == [ProgressUpdate(1.0, 10.0, "one"), ProgressUpdate(3.0, 10.0, "three")]
    ctx.flush()  # nothing pending any more: nothing sent twice
    assert len(sent) == 2


def test_progress_after_the_interval_is_sent_and_drops_the_pending_one(clock: FakeClock) -> None:
    ctx, sent = make_context()
    ctx.progress(1, 10)
    clock.now += PROGRESS_INTERVAL / 2
    ctx.progress(2, 10)
    clock.now += PROGRESS_INTERVAL
    ctx.progress(3, 10)
    assert sent == [ProgressUpdate(1.0, 10.0, None), ProgressUpdate(3.0, 10.0, None)]
    ctx.flush()
    assert len(sent) == 2  # the held-back 2 was superseded by 3


def test_reaching_the_total_is_always_sent(clock: FakeClock) -> None:
    ctx, sent = make_context()
    ctx.progress(9, 10)
    ctx.progress(10, 10, "done")  # no time passed, yet the final value goes out
    assert sent[-1] == ProgressUpdate(10.0, 10.0, "done")


def test_progress_without_total(clock: FakeClock) -> None:
    ctx, sent = make_context()
    ctx.progress(5)
    assert sent == [ProgressUpdate(5.0, None, None)]


# -- cancellation ----------------------------------------------------------------------


def test_check_canceled_raises_only_after_request_cancel() -> None:
    ctx, _ = make_context()
    ctx.check_canceled()  # no cancel yet: nothing happens
    ctx.request_cancel()
    assert ctx.canceled is True
    with pytest.raises(JobCanceled, match=str(ctx.job_id)):
        ctx.check_canceled()


def test_on_cancel_hooks_run_once_in_order() -> None:
    ctx, _ = make_context()
    calls: list[str] = []
    ctx.on_cancel(lambda: calls.append("a"))
    ctx.on_cancel(lambda: calls.append("b"))
    assert calls == []
    ctx.request_cancel()
    assert calls == ["a", "b"]
    ctx.request_cancel()  # a second request runs nothing again
    assert calls == ["a", "b"]


def test_a_hook_registered_after_the_cancel_runs_at_once() -> None:
    ctx, _ = make_context()
    ctx.request_cancel()
    calls: list[str] = []
    ctx.on_cancel(lambda: calls.append("late"))
    assert calls == ["late"]
    ctx.request_cancel()
    assert calls == ["late"]


def test_a_failing_hook_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    ctx, _ = make_context()
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("hook broke")

    ctx.on_cancel(lambda: calls.append("before"))
    ctx.on_cancel(broken)
    ctx.on_cancel(lambda: calls.append("after"))
    with caplog.at_level(logging.ERROR, logger="jobprocessor.context"):
        ctx.request_cancel()
    assert calls == ["before", "after"]
    assert ctx.canceled is True
    failures = [r for r in caplog.records if r.exc_info and str(r.exc_info[1]) == "hook broke"]
    assert len(failures) == 1


def test_a_failing_late_hook_does_not_raise() -> None:
    ctx, _ = make_context()
    ctx.request_cancel()

    def broken() -> None:
        raise RuntimeError("late hook broke")

    ctx.on_cancel(broken)  # does not raise
    assert ctx.canceled


def test_request_cancel_from_another_thread_wakes_a_waiting_job() -> None:
    ctx, _ = make_context()
    stopped = threading.Event()
    ctx.on_cancel(stopped.set)
    canceller = threading.Thread(target=ctx.request_cancel)
    canceller.start()
    assert stopped.wait(10)
    canceller.join(10)
    with pytest.raises(JobCanceled):
        ctx.check_canceled()


# -- log --------------------------------------------------------------------------------


def test_log_info_and_above_are_sent_with_level_debug_is_not() -> None:
    ctx, sent = make_context()
    ctx.log.debug("hidden %d", 1)
    ctx.log.info("counted to %d", 3)
    ctx.log.warning("careful")
    ctx.log.error("bad")
    logs = logged(sent)
    assert [(m.level, m.message) for m in logs] == [
        ("INFO", "counted to 3"),
        ("WARNING", "careful"),
        ("ERROR", "bad"),
    ]
    for message in logs:
        assert isinstance(message.at, float)  # the record's time
    assert not any("hidden" in str(m) for m in sent)


def test_each_context_logs_to_its_own_send() -> None:
    first, first_sent = make_context()
    second, second_sent = make_context()
    first.log.info("one")
    second.log.info("two")
    assert [m.message for m in logged(first_sent)] == ["one"]
    assert [m.message for m in logged(second_sent)] == ["two"]


# -- artifacts ----------------------------------------------------------------------------


def test_add_artifact_encodes_str_as_utf8() -> None:
    ctx, sent = make_context()
    ctx.add_artifact("numbers.csv", "i\n1\nä\n", media_type="text/csv")
    assert sent == [Artifact("numbers.csv", "text/csv", "i\n1\nä\n".encode())]


def test_add_artifact_keeps_bytes_and_has_a_default_media_type() -> None:
    ctx, sent = make_context()
    ctx.add_artifact("blob.bin", b"\x00\x01")
    assert sent == [Artifact("blob.bin", "application/octet-stream", b"\x00\x01")]
    ctx.add_artifact("view.bin", bytearray(b"ab"))
    assert sent[-1] == Artifact("view.bin", "application/octet-stream", b"ab")
    assert type(sent[-1].data) is bytes  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "name",
    ["../x", "a/b", ".hidden", "", " ", ".", "..", "a\\b", "c:x", "a\x00b", "x" * 256],
)
def test_add_artifact_refuses_path_like_names(name: str) -> None:
    ctx, sent = make_context()
    with pytest.raises(ValueError, match="invalid artifact name"):
        ctx.add_artifact(name, "data")
    assert sent == []


def test_add_artifact_accepts_a_long_plain_name() -> None:
    ctx, sent = make_context()
    ctx.add_artifact("x" * 255, "data")
    assert len(sent) == 1
