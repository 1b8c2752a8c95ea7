"""The raw limit of each database: what it allows for a job that costs two transactions.

K processes each loop: claim one row (``UPDATE … WHERE id = (SELECT … LIMIT 1 FOR
UPDATE SKIP LOCKED) RETURNING id`` on PostgreSQL, the same inside ``BEGIN
IMMEDIATE`` on SQLite), commit, then mark it done in a second transaction. No
job runs, nothing is handed over, no history is written: an engine that does
any real work per job can approach this figure, not pass it. The SQLite file
uses the engine's own settings (WAL, ``synchronous=NORMAL``, busy timeout).
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from multiprocessing.queues import Queue
from pathlib import Path

import psycopg

from bench.common import RESULTS
from bench.services import fresh_pg_database
from bench.workloads import BurnDown

DATABASE = "bench_raw"
SQLITE_PATH = RESULTS / "bench-raw.sqlite3"
CHUNK = 10_000

_CLAIM = (
    "UPDATE raw_jobs SET status = 'running', claimed_at = {now} "
    "WHERE id = (SELECT id FROM raw_jobs WHERE status = 'queued' ORDER BY id LIMIT 1{lock}) "
    "RETURNING id"
)
_DONE = "UPDATE raw_jobs SET status = 'done', finished_at = {now} WHERE id = {param}"


def _prepare_pg(count: int) -> str:
    url = fresh_pg_database(DATABASE)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE raw_jobs (id bigserial PRIMARY KEY, status text NOT NULL, "
            "claimed_at timestamptz, finished_at timestamptz)"
        )
        connection.execute("CREATE INDEX raw_queued ON raw_jobs (id) WHERE status = 'queued'")
        connection.execute(
            "INSERT INTO raw_jobs (status) SELECT 'queued' FROM generate_series(1, %s)", (count,)
        )
        connection.execute("ANALYZE raw_jobs")
    return url


def _prepare_sqlite(count: int) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(SQLITE_PATH, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(
        "CREATE TABLE raw_jobs (id INTEGER PRIMARY KEY, status TEXT NOT NULL, "
        "claimed_at REAL, finished_at REAL)"
    )
    connection.execute("CREATE INDEX raw_queued ON raw_jobs (id) WHERE status = 'queued'")
    connection.executemany("INSERT INTO raw_jobs (status) VALUES ('queued')", [()] * count)
    connection.close()
    return str(SQLITE_PATH)


def _loop_pg(url: str, deadline: float, out: Queue[tuple[int, float, float]]) -> None:
    claim = _CLAIM.format(now="now()", lock=" FOR UPDATE SKIP LOCKED")
    done = _DONE.format(now="now()", param="%s")
    count, first, last = 0, 0.0, 0.0
    with psycopg.connect(url) as connection:
        while time.time() < deadline:
            row = connection.execute(claim).fetchone()
            connection.commit()
            if row is None:
                break
            now = time.time()
            first = first or now
            last = now
            connection.execute(done, (row[0],))
            connection.commit()
            count += 1
    out.put((count, first, last))


def _loop_sqlite(path: str, deadline: float, out: Queue[tuple[int, float, float]]) -> None:
    claim = _CLAIM.format(now="unixepoch('subsec')", lock="")
    done = _DONE.format(now="unixepoch('subsec')", param="?")
    count, first, last = 0, 0.0, 0.0
    connection = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    connection.execute("PRAGMA synchronous=NORMAL")
    while time.time() < deadline:
        connection.execute("BEGIN IMMEDIATE")
        row = connection.execute(claim).fetchone()
        connection.execute("COMMIT")
        if row is None:
            break
        now = time.time()
        first = first or now
        last = now
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(done, (row[0],))
        connection.execute("COMMIT")
        count += 1
    connection.close()
    out.put((count, first, last))


def burn_down(store: str, slots: int, count: int, cap: float) -> BurnDown:
    """``count`` queued rows worked off by ``slots`` processes, for at most ``cap`` seconds."""
    result = BurnDown(system=f"raw-{store}", slots=slots, jobs=count)
    begun = time.perf_counter()
    target = _prepare_pg(count) if store == "postgresql" else _prepare_sqlite(count)
    result.submit_seconds = time.perf_counter() - begun
    context = multiprocessing.get_context("spawn")
    out: Queue[tuple[int, float, float]] = context.Queue()
    loop = _loop_pg if store == "postgresql" else _loop_sqlite
    deadline = time.time() + cap + 5.0
    processes = [context.Process(target=loop, args=(target, deadline, out)) for _ in range(slots)]
    for process in processes:
        process.start()
    reports = [out.get(timeout=cap + 120.0) for _ in processes]
    for process in processes:
        process.join()
    done = sum(r[0] for r in reports)
    firsts = [r[1] for r in reports if r[0]]
    lasts = [r[2] for r in reports if r[0]]
    result.started = done
    result.capped = done < count
    if done > 1 and max(lasts) > min(firsts):
        result.jobs_per_second = (done - 1) / (max(lasts) - min(firsts))
    return result
