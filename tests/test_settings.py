from __future__ import annotations

from pathlib import Path

import pytest

from jobprocessor.settings import Settings, settings_markdown

DOCS = Path(__file__).parent.parent / "docs" / "settings.md"


def test_docs_list_every_setting_as_declared() -> None:
    assert settings_markdown() in DOCS.read_text(), "regenerate docs/settings.md"


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBPROCESSOR_HEARTBEAT_TIMEOUT", "7.5")
    assert Settings().heartbeat_timeout == 7.5


def test_invalid_setting_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBPROCESSOR_POLL_INTERVAL", "-1")
    with pytest.raises(ValueError, match="poll_interval"):
        Settings()
