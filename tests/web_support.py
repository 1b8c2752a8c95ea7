"""Fixtures and helpers of the web tests (a plugin of tests/conftest.py): the application
on each database, users with tokens, signed-in clients.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from jobprocessor.model import Role
from jobprocessor.service import JobService
from jobprocessor.settings import Settings
from jobprocessor.web import create_app
from jobprocessor.web.login import LOGIN_CSRF_COOKIE

PASSWORDS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret"}


@dataclass
class People:
    """API tokens of the test users: admin (role admin), alice and bob (role user)."""

    tokens: dict[str, str]

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture
def app(settings: Settings, service: JobService) -> Iterator[FastAPI]:
    application = create_app(settings, pool_size=2)
    yield application
    application.state.web.service.close()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def people(service: JobService) -> People:
    service.add_user("admin", role=Role.ADMIN, password=PASSWORDS["admin"], display_name="Ada")
    service.add_user("alice", password=PASSWORDS["alice"], display_name="Alice A.")
    service.add_user("bob", password=PASSWORDS["bob"])
    return People({name: service.create_token(name) for name in PASSWORDS})


def sign_in(client: TestClient, name: str, password: str | None = None) -> str:
    """Sign in through the form, as a browser does; returns the session's CSRF token."""
    response = sign_in_response(client, name, password)
    assert response.status_code == 303, response.text
    return page_csrf(client)


def sign_in_response(client: TestClient, name: str, password: str | None = None) -> Response:
    form = client.get("/login")
    token = form.cookies.get(LOGIN_CSRF_COOKIE) or client.cookies.get(LOGIN_CSRF_COOKIE)
    return client.post(
        "/login",
        data={
            "name": name,
            "password": PASSWORDS[name] if password is None else password,
            "csrf_token": token,
            "next": "/",
        },
    )


def page_csrf(client: TestClient) -> str:
    """The CSRF token the console's pages carry for the signed-in session."""
    page = client.get("/")
    assert page.status_code == 200, page.text
    found = re.search(r'data-csrf="([^"]+)"', page.text)
    assert found, "no CSRF token on the page"
    return found.group(1)
