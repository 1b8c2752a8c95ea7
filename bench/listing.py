"""Console list speed: first and deep pages, with filters, at 10⁴, 10⁵ and 10⁶ jobs.

The console and the REST API list jobs through ``JobService.list_jobs`` (newest first,
keyset pages); this measures that call with the filters the console offers.
``ListClient`` is the seam: ``ServiceClient`` calls the service in-process;
``HttpClient`` asks a real ``jobprocessor serve --no-worker`` process for
``GET /api/v1/jobs`` with a bearer token, over one kept-alive connection: the
same queries through the whole web stack (authentication, validation, JSON).

Rows are generated in SQL (``generate_series`` / a recursive CTE) rather than
submitted, so that a million jobs take seconds: 50 users, five job types, nine
in ten jobs succeeded, one in twenty failed.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode

from sqlalchemy import Engine, text

from bench.common import RESULTS, checkpoint, load_average, say, summary_ms
from bench.procs import WorkerProcess, script
from bench.services import fresh_pg_database, pg_url
from jobprocessor.errors import Conflict
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
    """``JobService.list_jobs``: what the REST endpoint and the console call."""

    name = "service"

    def __init__(self, service: JobService) -> None:
        self.service = service

    def page(self, actor: Actor, filters: ListFilter) -> int:
        return len(self.service.list_jobs(actor, filters).items)


class HttpClient:
    """``GET /api/v1/jobs`` on a ``jobprocessor serve --no-worker`` on the same database."""

    name = "http"

    def __init__(self, service: JobService, url: str) -> None:
        tokens = {}
        for actor in (ADMIN, USER):
            with contextlib.suppress(Conflict):
                service.add_user(actor.name, role=actor.role)
            tokens[actor.name] = service.create_token(actor.name)
        self.tokens = tokens
        port = _free_port()
        self.server = WorkerProcess(
            [script("jobprocessor"), "serve", "--no-worker", "--port", str(port)],
            "list-http",
            RESULTS / "list-http.stamps",
            {"JOBPROCESSOR_DATABASE_URL": url},
        )
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.connection.request("GET", "/healthz")
                self.connection.getresponse().read()
                break
            except OSError:
                self.connection.close()
                if time.monotonic() > deadline or not self.server.alive():
                    raise RuntimeError(
                        f"the API server did not start: {self.server.tail()}"
                    ) from None
                time.sleep(0.2)

    def page(self, actor: Actor, filters: ListFilter) -> int:
        query = {
            "status_group": filters.status_group.value,
            "user": filters.user,
            "type": filters.type,
            "q": filters.q,
            "cursor": filters.cursor,
            "limit": filters.limit,
        }
        path = "/api/v1/jobs?" + urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Authorization": f"Bearer {self.tokens[actor.name]}"}
        try:
            self.connection.request("GET", path, headers=headers)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            # The server closes an idle kept-alive connection (while rows are written).
            self.connection.close()
            self.connection.request("GET", path, headers=headers)
            response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
        return len(json.loads(body)["items"])

    def close(self) -> None:
        self.connection.close()
        self.server.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def _open(store: str) -> tuple[JobService, str]:
    if store == "sqlite":
        path = RESULTS / "bench-list.sqlite3"
        for suffix in ("", "-wal", "-shm", "-journal", ".migrate.lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        fresh_pg_database("bench_list")
        url = pg_url("bench_list", "postgresql+psycopg")
    return open_service(Settings(database_url=url)), url


def measure(store: str, sizes: list[int], repeats: int) -> list[ListCase]:
    """Grow one database through ``sizes``; at each, time every query first and deep,
    in-process and through the REST API."""
    service, url = _open(store)
    clients: list[ListClient] = [ServiceClient(service)]
    cases: list[ListCase] = []
    have = 0
    try:
        clients.append(HttpClient(service, url))
        for size in sizes:
            checkpoint()
            begun = time.perf_counter()
            populate(service.store.engine, have + 1, size + 1)
            have = size
            say(f"  list {store}: {size:,} jobs written in {time.perf_counter() - begun:.1f} s")
            # Deep: a cursor nine tenths of the way back from the newest job.
            for depth, cursor in (("first page", None), ("deep page", str(size // 10))):
                for query in queries(cursor):
                    for client in clients:
                        cases.append(_time(client, store, size, depth, query, repeats))
    finally:
        for client in clients:
            if isinstance(client, HttpClient):
                client.close()
        service.close()
    return cases


def _time(
    client: ListClient, store: str, size: int, depth: str, query: Query, repeats: int
) -> ListCase:
    case = ListCase(store=store, client=client.name, jobs=size, depth=depth, query=query.name)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        case.rows = client.page(query.actor, query.filters)
        samples.append((time.perf_counter() - started) * 1000)
    case.ms = summary_ms(samples)
    return case
