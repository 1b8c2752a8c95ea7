"""Rendering a console page: the template plus who is signed in and their CSRF token."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from jobprocessor.web.context import WebContext


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """A page from a template; every page's forms need the caller's CSRF token."""
    context: WebContext = request.app.state.web
    caller = getattr(request.state, "caller", None)
    page = context.templates.get_template(template).render(
        request=request,
        caller=caller,
        csrf_token=caller.csrf_token if caller and caller.csrf_token else "",
        **values,
    )
    return HTMLResponse(page, status_code=status_code)
