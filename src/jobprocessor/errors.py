"""Errors the service raises, each mapped to one CLI exit code and one HTTP status.

Callers (CLI, REST, console) translate these and nothing else, so that a refused
action reads the same everywhere.
"""

from __future__ import annotations


class JobProcessorError(Exception):
    """Base of every error a caller is expected to show to a person."""

    code = "error"
    exit_code = 1
    http_status = 400


class InvalidInput(JobProcessorError):
    """Bad input: unknown type, invalid parameters. Names the field at fault."""

    code = "invalid_input"
    exit_code = 2
    http_status = 422

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class NotFound(JobProcessorError):
    """No such job, or not one the asking user may see."""

    code = "not_found"
    exit_code = 3
    http_status = 404


class Conflict(JobProcessorError):
    """The action is refused by the rules of the job's status."""

    code = "conflict"
    exit_code = 1
    http_status = 409


class PermissionDenied(JobProcessorError):
    """The asking user may not do this at all."""

    code = "forbidden"
    exit_code = 1
    http_status = 403


class Unauthenticated(JobProcessorError):
    """Nobody signed in, or a token or password that matches no one."""

    code = "unauthenticated"
    exit_code = 1
    http_status = 401


class TooManyAttempts(JobProcessorError):
    """Too many failed sign-ins: wait before trying again."""

    code = "too_many_attempts"
    exit_code = 1
    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WaitTimeout(JobProcessorError):
    """``wait`` gave up before the job finished."""

    code = "timeout"
    exit_code = 4
    http_status = 408
