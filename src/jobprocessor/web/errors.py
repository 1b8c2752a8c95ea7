"""Errors as callers see them: ``{"error": {"code", "message"}}`` for the API and
scripts, a readable page for people in the console.

Only the service's errors, request validation and HTTP errors are translated;
anything else is a bug and answers a plain 500 without details.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from jobprocessor.errors import InvalidInput, JobProcessorError, TooManyAttempts
from jobprocessor.web.rendering import render
from jobprocessor.web.security import SignInRequired

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_input",
}


def wants_json(request: Request) -> bool:
    """API paths, and scripts that ask for JSON, get JSON; browsers get pages."""
    if request.url.path.startswith(("/api/", "/metrics", "/healthz")):
        return True
    return "application/json" in request.headers.get("accept", "")


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    fields: dict[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {"code": code, "message": message}
        if fields:
            body["fields"] = fields
        return JSONResponse({"error": body}, status_code=status, headers=headers)
    page = render(request, "error.html", status_code=status, status=status, message=message)
    page.headers.update(headers or {})
    return page


def install(app: FastAPI) -> None:
    """Register the translations on an application."""

    @app.exception_handler(JobProcessorError)
    async def service_error(request: Request, error: JobProcessorError) -> Response:
        fields = error.fields if isinstance(error, InvalidInput) else None
        headers = None
        if isinstance(error, TooManyAttempts):
            headers = {"Retry-After": str(error.retry_after)}
        elif error.http_status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return error_response(
            request, error.http_status, error.code, str(error), fields=fields, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        fields: dict[str, str] = {}
        for problem in error.errors():
            location = [str(part) for part in problem.get("loc", ()) if part != "body"]
            if location and location[0] in ("query", "path", "header", "cookie"):
                location = location[1:]
            fields[".".join(location) or "body"] = str(problem.get("msg", "invalid"))
        message = "; ".join(f"{name}: {msg}" for name, msg in fields.items())
        return error_response(request, 422, "invalid_input", message, fields=fields)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        code = HTTP_CODES.get(error.status_code, "error")
        return error_response(
            request, error.status_code, code, str(error.detail), headers=error.headers
        )

    @app.exception_handler(DataError)
    async def unstorable_value(request: Request, error: DataError) -> Response:
        # The database refused a value (SQLSTATE class 22: a NUL byte, a number out of
        # range...): the input was bad, whichever check should have caught it first.
        return error_response(
            request, 422, "invalid_input", "a value in the request cannot be stored or searched"
        )

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, error: SignInRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(error.next_url, safe='')}", status_code=303)
