"""Applications add their own pages beside the console (the hook of web.extensions)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from jobprocessor.settings import Settings
from jobprocessor.web import create_app
from support import TESTS
from web_support import People, sign_in


def test_an_app_module_adds_pages_with_the_consoles_layout_and_sign_in(
    settings: Settings, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(TESTS / "apps"))
    app = create_app(settings, apps=["web_pages"], pool_size=1)
    try:
        with TestClient(app, follow_redirects=False) as client:
            assert client.get("/hello").status_code == 303  # signed out: to the sign-in page
            sign_in(client, "alice")
            page = client.get("/hello").text
            assert "<h1>Hello Alice A.</h1>" in page
            assert '<a href="/hello" aria-current="page">Hello</a>' in page
            assert '<a href="/hello">Hello</a>' in client.get("/").text
    finally:
        app.state.web.service.close()
