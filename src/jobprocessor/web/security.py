"""Who asks: a bearer token (API clients) or the console's session cookie (people).

A request that carries a session cookie and changes state must also carry the
session's CSRF token (a form field or the ``X-CSRF-Token`` header): another site
can make a browser send the cookie, but cannot read the token. Bearer tokens are
never sent by a browser on its own, so they need no CSRF token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from jobprocessor.errors import PermissionDenied, Unauthenticated
from jobprocessor.model import Actor, User
from jobprocessor.web.context import WebContext, web

SESSION_COOKIE = "jobprocessor_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in user behind a request; ``csrf_token`` is None for token callers."""

    user: User
    csrf_token: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.user.name, self.user.role)


class SignInRequired(Exception):
    """A console page was asked for without a session: send the browser to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfRefused(PermissionDenied):
    """A state-changing request with a session cookie but without its CSRF token."""

    code = "csrf"


def identify(request: Request, context: WebContext) -> Caller | None:
    """The caller, from the Authorization header or else the session cookie."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use 'Authorization: Bearer <token>'")
        user = context.service.user_for_token(token.strip())
        if user is None:
            raise Unauthenticated("the bearer token is unknown or was revoked")
        return Caller(user, None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = context.signin.session(cookie)
        if found is not None:
            return Caller(*found)
    return None


def check_csrf(caller: Caller, presented: str | None) -> None:
    """Refuse a cookie-authenticated change that does not present the session's token."""
    if caller.csrf_token is None:
        return
    if not presented or not secrets.compare_digest(presented, caller.csrf_token):
        raise CsrfRefused("missing or wrong CSRF token; reload the page and try again")


#: Declares bearer tokens in the OpenAPI document; the header itself is read in identify().
bearer = HTTPBearer(auto_error=False, description="A token from 'jobprocessor tokens create'.")


def api_caller(
    request: Request,
    context: WebContext = Depends(web),  # noqa: B008
    _: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
) -> Caller:
    """The caller of an API request; 401 without credentials, 403 without CSRF token."""
    caller = identify(request, context)
    if caller is None:
        raise Unauthenticated("sign in, or send 'Authorization: Bearer <token>'")
    if request.method not in SAFE_METHODS:
        check_csrf(caller, request.headers.get(CSRF_HEADER))
    request.state.caller = caller
    return caller


def page_caller(request: Request, context: WebContext = Depends(web)) -> Caller:  # noqa: B008
    """The signed-in person viewing a console page; others are sent to sign in."""
    caller = identify(request, context)
    if caller is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    request.state.caller = caller
    return caller
