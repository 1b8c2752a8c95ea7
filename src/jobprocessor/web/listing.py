"""The job list's view state: its filters, as they stand in the page's URL.

Filters live in the URL so that a view can be bookmarked, shared and reloaded;
this is the one place that reads them from a request and writes them back.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query

from jobprocessor.model import StatusGroup
from jobprocessor.service import MAX_PAGE, ListFilter
from jobprocessor.web.schemas import PlainText
from jobprocessor.web.views import GROUP_LABELS

Text = Annotated[str | None, Query(max_length=200, pattern=PlainText)]
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class ListView:
    """What the person asked the list to show."""

    status_group: StatusGroup = StatusGroup.ALL
    user: str | None = None
    type: str | None = None
    category: str | None = None
    queue: str | None = None
    q: str | None = None
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT
    live: bool = False

    def to_filter(self) -> ListFilter:
        return ListFilter(
            status_group=self.status_group,
            user=self.user,
            type=self.type,
            category=self.category,
            queue=self.queue,
            q=self.q,
            limit=self.limit,
            cursor=self.cursor,
        )

    def query(self, **changes: Any) -> str:
        """The URL query of this view with some changes; defaults are left out."""
        view = replace(self, **changes)
        pairs: list[tuple[str, str]] = []
        for field in fields(view):
            value = getattr(view, field.name)
            if value == field.default or value in (None, ""):
                continue
            pairs.append((field.name, "1" if value is True else str(value)))
        return urlencode(pairs)

    def url(self, path: str = "/", **changes: Any) -> str:
        query = self.query(**changes)
        return f"{path}?{query}" if query else path

    @property
    def is_filtered(self) -> bool:
        return self.status_group is not StatusGroup.ALL or any(
            (self.user, self.type, self.category, self.queue, self.q)
        )

    def describe(self) -> str:
        """The filters in words, for the empty state: 'status Failed, started by alice'."""
        parts = []
        if self.status_group is not StatusGroup.ALL:
            parts.append(f"status {GROUP_LABELS[self.status_group]}")
        if self.user:
            parts.append(f"started by {self.user}")
        if self.type:
            parts.append(f"type {self.type}")
        if self.category:
            parts.append(f"category {self.category}")
        if self.queue:
            parts.append(f"queue {self.queue}")
        if self.q:
            parts.append(f"title containing “{self.q}”")
        return ", ".join(parts)


def list_view(
    status_group: StatusGroup = StatusGroup.ALL,
    user: Text = None,
    type: Text = None,
    category: Text = None,
    queue: Text = None,
    q: Text = None,
    cursor: Annotated[str | None, Query(max_length=20, pattern=PlainText)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_LIMIT,
    live: bool = False,
) -> ListView:
    """The view a request's query asks for (a FastAPI dependency; bad values are a 422)."""
    return ListView(
        status_group,
        user or None,
        type or None,
        category or None,
        queue or None,
        q or None,
        cursor or None,
        limit,
        live,
    )
