"""The console's job list: newest first, filtered, one keyset page at a time.

Every filter but the title search has an index that yields rows newest first, so a
page reads about as many rows as it shows (on PostgreSQL the type's and the queue's
are on the search table, which no worker writes: ``_through_search``). A title
search (``q``, a part of the title, case-insensitive) is different: its matches may
all be far back, and a newest-first scan would read the table until it has a page
(0.2 to 0.4 s in a million jobs). So a search reads the newest ``TITLE_WINDOW`` jobs
plainly, where a common text fills the page at once, and asks the title index (a
search table with a pg_trgm index on PostgreSQL, an FTS5 trigram table on SQLite)
for older matches only when the page is not full: the index finds every match, and
those are sorted, which is cheap when matches are few, and they are few when none
was recent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    column,
    func,
    literal_column,
    select,
    table,
    text,
    union_all,
)

from jobprocessor.model import Status
from jobprocessor.store.tables import SEARCH_TABLE_PG, TITLE_INDEX_PG, TITLE_INDEX_SQLITE, jobs

if TYPE_CHECKING:
    from jobprocessor.store.records import JobQuery

#: Newest jobs a title search reads without its index.
TITLE_WINDOW = 10_000
#: Where a status filter remains for the jobs table, how many of the search table's
#: newest matches each try reads, per row the page still needs (``_through_search``).
SEARCH_TRIES = (4,)
#: A trigram index can only find texts of three characters or more.
MIN_INDEXED_TEXT = 3
#: PostgreSQL's search table, which holds the title index (migration 0009).
_search = table(
    SEARCH_TABLE_PG,
    *(column(name) for name in ("job_id", "title", "submitted_by", "type", "category", "queue")),
)
#: The id where no index on it may serve: a search through the title index must not
#: turn into a walk along the primary key (see ``_indexed_page``).
_id_without_index = jobs.c.id + 0


def has_title_index(connection: Connection) -> bool:
    """Whether the migrations could build the title index (PostgreSQL needs pg_trgm)."""
    if connection.dialect.name == "postgresql":
        found = connection.execute(select(func.to_regclass(TITLE_INDEX_PG))).scalar()
    else:
        found = connection.execute(
            text("SELECT 1 FROM sqlite_master WHERE name = :name"), {"name": TITLE_INDEX_SQLITE}
        ).scalar()
    return found is not None


def list_rows(connection: Connection, query: JobQuery, *, title_index: bool) -> list[Row[Any]]:
    """One page of ``query`` (a ``JobQuery``), newest first."""
    conditions = _filters(query)
    before = [] if query.before_id is None else [jobs.c.id < query.before_id]
    # PostgreSQL with the title index has the search table (migrations 0009, 0010).
    searched = title_index and connection.dialect.name == "postgresql"
    if not (title_index and query.text and len(query.text) >= MIN_INDEXED_TEXT):
        if searched and (query.type is not None or query.queue is not None):
            # The indexes of these filters are the search table's.
            found = _through_search(connection, query, conditions, query.before_id, query.limit)
            if found is not None:
                return found
        return list(connection.execute(_page(query, [*conditions, *before])))
    if connection.dialect.name == "postgresql":
        # The driver prepares a statement run five times, and PostgreSQL then plans
        # it for any parameter value: that plan cannot use the title index, so from
        # the tenth search on it was several times slower (bench/engine_changes.md,
        # change 21). This transaction plans for the values given.
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    top = query.before_id
    if top is None:
        newest = connection.execute(select(func.max(jobs.c.id))).scalar()
        top = (newest or 0) + 1
    floor = top - TITLE_WINDOW
    recent = list(connection.execute(_page(query, [*conditions, *before, jobs.c.id >= floor])))
    if len(recent) >= query.limit or floor <= 1:
        return recent
    # Below the window (and so below the page's cursor too).
    wanted = query.limit - len(recent)
    older = _through_search(connection, query, conditions, floor, wanted) if searched else None
    if older is None:
        indexed = _indexed_page(connection.dialect.name, query, conditions, floor, wanted)
        older = list(connection.execute(indexed))
    return recent + older


def _through_search(
    connection: Connection,
    query: JobQuery,
    conditions: list[ColumnElement[bool]],
    below: int | None,
    limit: int,
) -> list[Row[Any]] | None:
    """A page read through PostgreSQL's search table: its newest matches of every
    filter but a status, then only those jobs from the jobs table.

    Without a status filter the newest ``limit`` matches are the page. With one, the
    newest few per row wanted are tried (``SEARCH_TRIES``), and a try that leaves a
    full page is the page, since every match it did not read is older; None if none
    did, for the caller to read the page another way.
    """
    filtered = 0 < len(_statuses(query)) < len(Status)
    for factor in SEARCH_TRIES if filtered else (1,):
        tried = _indexed_page("postgresql", query, conditions, below, limit, limit * factor)
        found = list(connection.execute(tried))
        if len(found) >= limit or not filtered:
            return found
    return None


def _filters(query: JobQuery) -> list[ColumnElement[bool]]:
    """The query's filters, without its cursor (``before_id``)."""
    conditions: list[ColumnElement[bool]] = []
    if query.submitted_by is not None:
        conditions.append(jobs.c.submitted_by == query.submitted_by)
    if query.type is not None:
        conditions.append(jobs.c.type == query.type)
    if query.category is not None:
        conditions.append(jobs.c.category == query.category)
    if query.queue is not None:
        conditions.append(jobs.c.queue == query.queue)
    if query.text:
        conditions.append(func.lower(jobs.c.title).like(_contains(query.text), escape="\\"))
    return conditions


def _contains(part: str) -> str:
    """A LIKE pattern for titles containing ``part`` literally (its wildcards escaped)."""
    escaped = part.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
    return f"%{escaped.lower()}%"


def _statuses(query: JobQuery) -> list[str]:
    return sorted(s.value for s in query.statuses or ())


def _page(query: JobQuery, conditions: list[ColumnElement[bool]]) -> Select[Any]:
    """Newest first through the indexes that yield rows in id order.

    A status group of several statuses is read as one newest-first slice per
    status, merged: each slice walks its own (status, id) index, so the page
    costs the same whether the group's jobs are common or rare among the newest
    (one ``status IN (…)`` scan would visit every row of the other statuses).
    """
    statuses = _statuses(query)
    if 1 < len(statuses) < len(Status):
        slices = [
            select(jobs)
            .where(jobs.c.status == status, *conditions)
            .order_by(jobs.c.id.desc())
            .limit(query.limit)
            .subquery()
            for status in statuses
        ]
        merged = union_all(*(select(part) for part in slices)).subquery()
        return select(merged).order_by(merged.c.id.desc()).limit(query.limit)
    if len(statuses) == 1:
        conditions = [*conditions, jobs.c.status == statuses[0]]
    return select(jobs).where(*conditions).order_by(jobs.c.id.desc()).limit(query.limit)


def _indexed_page(
    dialect: str,
    query: JobQuery,
    conditions: list[ColumnElement[bool]],
    below: int | None,
    limit: int,
    take: int | None = None,
) -> Select[Any]:
    """Matches (ids below ``below``, if given) found through the title index or the
    search table and then sorted; ``conditions`` stay the exact test (the LIKE on the
    job's own title among them). ``take``: only the search table's newest matches
    (PostgreSQL).

    ``id + 0`` keeps the planner from walking the primary key instead: backwards for
    the order (what it would choose for a LIMIT, not knowing the matches are far
    back), or, on PostgreSQL, over the range of ids below a deep page's window
    (far more rows read than there are matches; ``bench/engine_changes.md``, 21).
    """
    statuses = _statuses(query)
    if 0 < len(statuses) < len(Status):
        conditions = [*conditions, jobs.c.status.in_(statuses)]
    if dialect == "sqlite":
        phrase = '"' + (query.text or "").replace('"', '""') + '"'
        matches: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(table(TITLE_INDEX_SQLITE))
            .where(text(f"{TITLE_INDEX_SQLITE} MATCH :phrase").bindparams(phrase=phrase))
        )
        ids: ColumnElement[Any] = jobs.c.id
    else:
        matches = _search_ids(query, below, take)
        ids = _id_without_index
    if below is not None:
        conditions = [*conditions, ids < below]
    conditions = [*conditions, jobs.c.id.in_(matches)]
    return select(jobs).where(*conditions).order_by(_id_without_index.desc()).limit(limit)


def _search_ids(query: JobQuery, below: int | None, take: int | None) -> Select[Any]:
    """The ids in PostgreSQL's search table that match every filter of ``query`` but
    a status, below ``below`` if given; the newest ``take`` of them if given.

    Taking only the newest matches spares reading every match from the jobs table: a
    title search whose 11,000 matches were all old took twice as long that way as
    through an index on the jobs table itself. Without a text, the type's or the
    queue's index on the search table (migration 0010) yields them newest first.
    """
    job_id: ColumnElement[Any] = _search.c.job_id
    matches = select(_search.c.job_id)
    if query.text:
        matches = matches.where(
            func.lower(_search.c.title).like(_contains(query.text), escape="\\")
        )
        if len(query.text) >= MIN_INDEXED_TEXT:
            # The title index's matches, sorted: not a walk along the primary key.
            job_id = job_id + 0
    for name in ("submitted_by", "type", "category", "queue"):
        value = getattr(query, name)
        if value is not None:
            matches = matches.where(_search.c[name] == value)
    if below is not None:
        matches = matches.where(job_id < below)
    if take is not None:
        matches = matches.order_by(job_id.desc()).limit(take)
    return matches
