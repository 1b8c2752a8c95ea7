"""An application module that adds a page of its own to the console's web server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from jobprocessor.web.extensions import Caller, add_pages, page_caller, render

router = APIRouter()


@router.get("/hello", response_class=HTMLResponse)
def hello(request: Request, caller: Annotated[Caller, Depends(page_caller)]) -> HTMLResponse:
    return render(request, "hello.html")


def jobprocessor_web(app: FastAPI) -> None:
    add_pages(
        app, router, nav=[("Hello", "/hello")], templates=Path(__file__).parent / "page_templates"
    )
