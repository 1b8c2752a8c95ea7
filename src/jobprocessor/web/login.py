"""Signing in and out of the console.

The sign-in form is protected against login CSRF with a double-submitted token:
a random value in a short-lived cookie that the form must repeat (a foreign site
can make the browser post the form, but cannot read the cookie to repeat it).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jobprocessor.errors import TooManyAttempts, Unauthenticated
from jobprocessor.web.context import WebContext, web
from jobprocessor.web.rendering import render
from jobprocessor.web.schemas import PlainText
from jobprocessor.web.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    Caller,
    check_csrf,
    identify,
    page_caller,
)

LOGIN_CSRF_COOKIE = "jobprocessor_login_csrf"
router = APIRouter(include_in_schema=False)
Web = Annotated[WebContext, Depends(web)]


def safe_next(target: str | None) -> str:
    """Only a path of this site: never send someone on to another site after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def _form(
    request: Request,
    next_url: str,
    *,
    name: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        status_code=status_code,
        login_csrf=token,
        next_url=next_url,
        error=error,
        name=name,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, context: Web, next: Annotated[str, Query(max_length=2000)] = "/"
) -> Response:
    """The sign-in form (or, for someone signed in already, where they were going)."""
    if identify(request, context) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    context: Web,
    name: Annotated[str, Form(max_length=150, pattern=PlainText)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password; on success open a session and go on to ``next``."""
    target = safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(csrf_token, expected):
        return _form(
            request, target, error="The form had expired; please sign in again.", status_code=403
        )
    address = request.client.host if request.client else "unknown"
    try:
        session = context.signin.sign_in(name, password, address=address)
    except TooManyAttempts as error:
        response = _form(
            request, target, name=name, error=str(error).capitalize() + ".", status_code=429
        )
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except Unauthenticated:
        return _form(
            request, target, name=name, error="Wrong user name or password.", status_code=401
        )
    signed_in = RedirectResponse(target, status_code=303)
    signed_in.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int(context.settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
        path="/",
    )
    signed_in.delete_cookie(LOGIN_CSRF_COOKIE)
    return signed_in


@router.post("/logout")
def logout(
    request: Request,
    context: Web,
    caller: Annotated[Caller, Depends(page_caller)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
) -> Response:
    """End the session everywhere (it is removed from the database, not only the cookie)."""
    check_csrf(caller, csrf_token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        context.signin.sign_out(cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
