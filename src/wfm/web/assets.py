"""The WFM pages' own stylesheet and script, and one colour class per activity.

The console's Content-Security-Policy allows same-origin styles and scripts only
(no ``style=`` attributes), so activity colours are classes (``act-7``) in a
stylesheet made from the data; a colour that is not ``#rrggbb`` is left out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from jobprocessor.web.extensions import Caller, WebContext, page_caller, web
from wfm.web.actions import engine_of
from wfm.web.lookups import load_lookups

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
MEDIA_TYPES = {"wfm.css": "text/css", "wfm.js": "text/javascript"}
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@router.get("/wfm/static/{name}")
def static_file(name: Literal["wfm.css", "wfm.js"]) -> Response:
    """The stylesheet or the script (no sign-in: they hold no data)."""
    return Response(
        (STATIC / name).read_bytes(),
        media_type=MEDIA_TYPES[name],
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/wfm/activities.css")
def activity_colours(
    _: Annotated[Caller, Depends(page_caller)],
    context: Annotated[WebContext, Depends(web)],
) -> Response:
    """``.act-ID`` classes in each activity's colour, with readable text on it."""
    rules = []
    for activity in load_lookups(engine_of(context)).activities:
        if COLOUR.fullmatch(activity.color):
            ink = "#000" if _light(activity.color) else "#fff"
            rules.append(f".act-{activity.id} {{ background: {activity.color}; color: {ink}; }}")
    return Response("\n".join(rules) + "\n", media_type="text/css")


def _light(colour: str) -> bool:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * red + 0.587 * green + 0.114 * blue > 150
