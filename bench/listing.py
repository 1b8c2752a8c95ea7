"""Console list speed: first and deep pages, with filters, at 10⁴, 10⁵ and 10⁶ jobs.

The console and the REST API list jobs through ``JobService.list`` (newest first,
keyset pages); this measures that call with the filters the console offers.
``ListClient`` is the seam: ``ServiceClient`` calls the service in-process, and
an HTTP client (``GET /api/v1/jobs``) can be added beside it once the API lands,
measuring the same queries through the network stack.

Rows are generated in SQL (``generate_series`` / a recursive CTE) rather than
submitted, so that a million jobs take seconds: 50 users, five job types, nine
in ten jobs succeeded, one in twenty failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, text

from bench.common import RESULTS, checkpoint, load_average, say, summary_ms
from bench.services import fresh_pg_database, pg_url
from jobprocessor.model import Actor, Role, StatusGroup
from jobprocessor.service import JobService, ListFilter, open_service
from jobprocessor.settings import Settings

PAGE = 50
USERS = 50
TYPES = ("wfm.optimize", "wfm.report", "wfm.mass_update", "wfm.copy_level", "diag.count")
CATEGORIES = ("scheduling", "report", "mass_update", "scheduling", "diagnostics")


class ListClient(Protocol):
    """One way of asking for a page of jobs: in-process now, over HTTP later."""

    name: str

    def page(self, actor: Actor, filters: ListFilter) -> int:
        """Fetch one page; returns how many jobs it held."""
        ...


class ServiceClient:
    """``JobService.list``: what the REST endpoint and the console call."""

    name = "service"

    def __init__(self, service: JobService) -> None:
        self.service = service

    def page(self, actor: Actor, filters: ListFilter) -> int:
        return len(self.service.list(actor, filters).items)


@dataclass(frozen=True)
class Query:
    """A named list request, as the console would make it."""

    name: str
    actor: Actor
    filters: ListFilter


ADMIN = Actor("admin", Role.ADMIN)
USER = Actor("user7", Role.USER)


def queries(cursor: str | None) -> list[Query]:
    def f(**kw: object) -> ListFilter:
        return ListFilter(limit=PAGE, cursor=cursor, **kw)  # type: ignore[arg-type]

    return [
        Query("all jobs (admin)", ADMIN, f()),
        Query("status group failed", ADMIN, f(status_group=StatusGroup.FAILED)),
        Query("active", ADMIN, f(status_group=StatusGroup.ACTIVE)),
        Query("one user's jobs (admin filter)", ADMIN, f(user="user7")),
        Query("a user's own finished jobs", USER, f(status_group=StatusGroup.FINISHED)),
        Query(
            "type and status group", ADMIN, f(type="wfm.report", status_group=StatusGroup.FAILED)
        ),
        # "job 9": matches among the newest jobs. "job 12": the newest match is far
        # back (ids 12…, 120…, 129,999 of a million), so a newest-first scan reads
        # most of the table before it has a page: the worst case of a text search.
        Query("title search, recent matches", ADMIN, f(q="job 9")),
        Query("title search, only old matches", ADMIN, f(q="job 12")),
    ]


@dataclass(kw_only=True)
class ListCase:
    """Timings of one query at one size and depth."""

    store: str
    client: str
    jobs: int
    depth: str
    query: str
    rows: int = 0
    ms: dict[str, float] = field(default_factory=dict)
    load_before: list[float] = field(default_factory=load_average)


_STATUS = (
    "CASE WHEN g % 100 < 90 THEN 'succeeded' WHEN g % 100 < 95 THEN 'failed' "
    "WHEN g % 100 < 98 THEN 'canceled' WHEN g % 100 = 98 THEN 'running' ELSE 'queued' END"
)


def _case(values: tuple[str, ...]) -> str:
    arms = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"CASE g % {len(values)} {arms} END"


def populate(engine: Engine, start: int, stop: int) -> None:
    """Add jobs ``start``..``stop``-1 (ids follow), spread over users, types, statuses."""
    postgres = engine.dialect.name == "postgresql"
    when = (
        "timestamptz '2026-01-01' + g * interval '1 second'"
        if postgres
        else "datetime('2026-01-01', '+' || g || ' seconds') || '.000000'"
    )
    series = f"generate_series({start}, {stop - 1}) AS g" if postgres else "s"
    prefix = (
        ""
        if postgres
        else f"WITH RECURSIVE s(g) AS (SELECT {start} UNION ALL SELECT g + 1 FROM s "
        f"WHERE g < {stop - 1}) "
    )
    finished = f"CASE WHEN g % 100 < 98 THEN {when} END"
    started = f"CASE WHEN g % 100 < 99 THEN {when} END"
    statement = (
        f"{prefix}INSERT INTO jobprocessor_jobs (type, category, title, status, params, "
        "submitted_by, created_at, started_at, finished_at, priority, attempts, max_retries, "
        "cancel_grace) "
        f"SELECT {_case(TYPES)}, {_case(CATEGORIES)}, 'Job ' || g, {_STATUS}, "
        f"{'CAST(' if postgres else ''}'{{}}'{' AS jsonb)' if postgres else ''}, "
        f"'user' || (g % {USERS}), {when}, {started}, {finished}, 0, 1, 0, 10.0 FROM {series}"
    )
    with engine.begin() as connection:
        connection.execute(text(statement))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))


def _open(store: str) -> JobService:
    if store == "sqlite":
        path = RESULTS / "bench-list.sqlite3"
        for suffix in ("", "-wal", "-shm", "-journal", ".migrate.lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        fresh_pg_database("bench_list")
        url = pg_url("bench_list", "postgresql+psycopg")
    return open_service(Settings(database_url=url))


def measure(store: str, sizes: list[int], repeats: int) -> list[ListCase]:
    """Grow one database through ``sizes``; at each, time every query first and deep."""
    service = _open(store)
    client: ListClient = ServiceClient(service)
    cases: list[ListCase] = []
    have = 0
    try:
        for size in sizes:
            checkpoint()
            begun = time.perf_counter()
            populate(service.store.engine, have + 1, size + 1)
            have = size
            say(f"  list {store}: {size:,} jobs written in {time.perf_counter() - begun:.1f} s")
            # Deep: a cursor nine tenths of the way back from the newest job.
            for depth, cursor in (("first page", None), ("deep page", str(size // 10))):
                for query in queries(cursor):
                    case = ListCase(
                        store=store, client=client.name, jobs=size, depth=depth, query=query.name
                    )
                    samples = []
                    for _ in range(repeats):
                        started = time.perf_counter()
                        case.rows = client.page(query.actor, query.filters)
                        samples.append((time.perf_counter() - started) * 1000)
                    case.ms = summary_ms(samples)
                    cases.append(case)
    finally:
        service.store.engine.dispose()
    return cases
