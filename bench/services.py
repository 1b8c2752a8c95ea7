"""The servers the benchmark needs: start them if they are down, fresh databases per case."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import psycopg

from bench.common import say

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL_BASE = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
#: Redis database numbers of our own, so that FLUSHDB never touches anyone else's keys.
REDIS_DB = {"rq": 11, "celery": 12}


def pg_url(database: str, driver: str = "postgresql") -> str:
    """The admin URL pointed at another database (``driver`` e.g. postgresql+psycopg)."""
    base, _, _ = PG_ADMIN.rpartition("/")
    return f"{base}/{database}".replace("postgresql://", f"{driver}://", 1)


def redis_url(system: str) -> str:
    return f"{REDIS_URL_BASE}/{REDIS_DB[system]}"


def ensure_postgres() -> None:
    if _pg_ok():
        return
    say("PostgreSQL is down: starting it")
    versions = sorted(os.listdir("/etc/postgresql"))
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=False
    )
    for _ in range(60):
        if _pg_ok():
            return
        time.sleep(0.5)
    raise RuntimeError("PostgreSQL did not start")


def _pg_ok() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def ensure_redis() -> None:
    import redis

    client = redis.Redis.from_url(f"{REDIS_URL_BASE}/0")
    try:
        client.ping()
        return
    except redis.ConnectionError:
        pass
    if shutil.which("redis-server") is None:
        raise RuntimeError("Redis is not installed (apt-get install redis-server)")
    say("Redis is down: starting it")
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    for _ in range(50):
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError("Redis did not start")


def fresh_pg_database(name: str) -> str:
    """Drop and create ``name``; returns its libpq URL."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def pg_version() -> str:
    with psycopg.connect(PG_ADMIN) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def redis_version() -> str:
    import redis

    info = redis.Redis.from_url(f"{REDIS_URL_BASE}/0").info("server")
    return str(info.get("redis_version", "unknown"))


def analyze(url: str) -> None:
    """ANALYZE every table of one database (see ``System.settle_after_submit``)."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE")


#: Before a PostgreSQL case, the server must have been up this long (restarts by
#: other work come in bursts), waiting at most PG_WAIT.
PG_STABLE = 20.0
PG_WAIT = 300.0


def pg_epoch() -> str | None:
    """The server's start time: it changes when the server restarts (None if down)."""
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=5) as connection:
            row = connection.execute("SELECT pg_postmaster_start_time()::text").fetchone()
        return str(row[0]) if row else None
    except psycopg.Error:
        return None


def pg_wait_stable() -> str | None:
    """Wait until PostgreSQL has been up for PG_STABLE seconds; returns its epoch."""
    deadline = time.monotonic() + PG_WAIT
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(PG_ADMIN, connect_timeout=5) as connection:
                row = connection.execute(
                    "SELECT pg_postmaster_start_time()::text, "
                    "extract(epoch FROM now() - pg_postmaster_start_time())"
                ).fetchone()
            if row and float(row[1]) >= PG_STABLE:
                return str(row[0])
            time.sleep(min(PG_STABLE - float(row[1]) if row else 1.0, 5.0))
        except psycopg.Error:
            time.sleep(1.0)
    return pg_epoch()
