"""How a worker's ``--queues`` is read: pure rules, no database."""

from __future__ import annotations

import pytest

from jobprocessor.errors import InvalidInput
from jobprocessor.queues import QueueSpec


def test_named_queues_with_and_without_caps_and_the_others() -> None:
    spec = QueueSpec.parse("scheduling=2, report ,*=3")

    assert spec.caps == {"scheduling": 2, "report": None}
    assert (spec.serves_others, spec.others) == (True, 3)
    assert str(spec) == "scheduling=2,report,*=3"
    assert QueueSpec.parse(str(spec)) == spec


def test_no_spec_serves_every_queue_uncapped() -> None:
    assert QueueSpec.parse(None) == QueueSpec.parse("  ") == QueueSpec()
    assert QueueSpec().serves("anything")


def test_named_queues_alone_serve_no_other() -> None:
    spec = QueueSpec.parse("report")

    assert spec.serves("report")
    assert not spec.serves("scheduling")


@pytest.mark.parametrize("cap", ["0", "-1", "x", "1.5", "²", "٣"])
def test_a_cap_is_a_whole_number_of_slots(cap: str) -> None:
    with pytest.raises(InvalidInput, match="whole number") as caught:
        QueueSpec.parse(f"report={cap}")
    assert caught.value.fields == {"queues": "invalid cap"}


@pytest.mark.parametrize("spec", ["report,report", ",", "bad name"])
def test_a_spec_names_each_valid_queue_once(spec: str) -> None:
    with pytest.raises(InvalidInput):
        QueueSpec.parse(spec)


def test_a_recorded_spec_that_cannot_be_read_counts_as_every_queue() -> None:
    assert QueueSpec.recorded("report=²") == QueueSpec()
