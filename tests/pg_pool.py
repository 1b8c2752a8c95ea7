"""PostgreSQL test databases that are emptied and handed out again instead of dropped.

``CREATE DATABASE … TEMPLATE`` copies the whole database through the WAL (about
8 MB) and ``DROP DATABASE`` removes it: 0.25 s on a quiet 2-core machine and 0.7 to
1.2 s under the parallel suite's load, a third of the suite's time. Emptying a used
database costs a few tens of milliseconds: the test's sessions are ended, the rows it
wrote are deleted and the sequences it used are set back.

A database is handed out again only if it is exactly as its template was, apart
from rows: the same schema, the same database settings and the template's own rows
(the migration versions, wfm's levels) unchanged. Anything else (a test that changed
the schema, a reset that failed) drops it, so no test sees what an earlier one left.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from psycopg.abc import Query

Connection = psycopg.Connection[Any]

#: Everything about a database apart from its rows that a test could change:
#: relations, columns, indexes, constraints, triggers, functions, settings.
_SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
    SELECT 'rel ' || c.relname || ' ' || c.relkind::text AS item
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    UNION ALL
    SELECT 'col ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL
    SELECT 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'trg ' || tgrelid::regclass::text || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT 'fn ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc)
      FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'set ' || array_to_string(setconfig, ',')
      FROM pg_db_role_setting WHERE setdatabase = (
          SELECT oid FROM pg_database WHERE datname = current_database())
) AS items
"""

_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
_RESET_USED_SEQUENCES = """
SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)
  FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL
"""
#: A table that lost more rows than this is vacuumed, so that the next test does not
#: scan its dead rows (the fault tests write 10,000 jobs).
_VACUUM_AFTER = 1_000


class _Template:
    """What a database cloned from one template must look like to be handed out again."""

    def __init__(self, connection: Connection) -> None:
        self.schema: str = _scalar(connection, _SCHEMA_FINGERPRINT)
        self.tables: list[str] = [row[0] for row in connection.execute(_TABLES)]
        #: The template's own rows, table by table (every other table has none).
        self.rows = {
            table: digest
            for table in self.tables
            if (digest := _rows_digest(connection, table)) is not None
        }

    def written(self, connection: Connection) -> set[str]:
        """The tables that hold rows the template does not have."""
        return _filled_tables(connection, self.tables) - self.rows.keys()


class DatabasePool:
    """Databases cloned from templates, handed out one test at a time.

    One pool per test process (each xdist worker has its own templates and pool). The
    pool keeps a session of its own in each of its databases, which the tests' ending
    sessions spare: a new session costs a fork and cold catalog caches on the server.
    """

    def __init__(self, dsn_for: Callable[[str], str], admin_database: str) -> None:
        self._dsn_for = dsn_for
        self._admin_database = admin_database
        self._templates: dict[str, _Template] = {}
        self._free: dict[str, list[str]] = {}
        self._template_of: dict[str, str] = {}
        self._sessions: dict[str, Connection] = {}

    def take(self, template: str) -> str:
        """The name of an empty database cloned from ``template``."""
        free = self._free.setdefault(template, [])
        while free:
            name = free.pop()
            if self._untouched(name, self._templates[template]):
                return name
            self._drop(name)
        if template not in self._templates:
            # A session in the template would stop it from being cloned: closed at once.
            with psycopg.connect(self._dsn_for(template)) as connection:
                self._templates[template] = _Template(connection)
        name = f"jobprocessor_test_{uuid.uuid4().hex[:12]}"
        self._session(self._admin_database).execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        self._template_of[name] = template
        return name

    def give_back(self, name: str) -> None:
        """Empty the database for the next test, or drop it if it cannot be."""
        template = self._templates[self._template_of[name]]
        emptied = False
        for _attempt in range(2):
            try:
                emptied = self._empty(name, template)
                break
            except psycopg.OperationalError:
                # A session of the pool's was ended by the test (or by a server
                # restart): once more, on new sessions.
                self._forget_sessions()
            except psycopg.Error:
                break
        if emptied:
            self._free[self._template_of[name]].append(name)
        else:
            self._drop(name)

    def close(self) -> None:
        """Drop every database of the pool (at the end of the test session)."""
        for names in self._free.values():
            for name in names:
                self._drop(name)
            names.clear()
        self._forget_sessions()

    def _empty(self, name: str, template: _Template) -> bool:
        session = self._session(name)
        # Sessions the test left (killed workers' servers, idle pools) would hold
        # locks and advisory locks. The second argument waits for each to be gone.
        self._session(self._admin_database).execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> %s",
            (name, session.info.backend_pid),
        )
        if _scalar(session, _SCHEMA_FINGERPRINT) != template.schema:
            return False
        if any(_rows_digest(session, table) != rows for table, rows in template.rows.items()):
            return False
        vacuum = []
        with session.transaction():
            # Not TRUNCATE: it makes new files for a table and each of its indexes,
            # 50 ms for the jobs table against 2 ms for a DELETE of a few rows. The
            # replication role skips the foreign keys' triggers, so that the tables
            # can be emptied in any order.
            session.execute("SET LOCAL session_replication_role = replica")
            for table in template.written(session):
                deleted = session.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
                if deleted.rowcount > _VACUUM_AFTER:
                    vacuum.append(table)
            session.execute(_RESET_USED_SEQUENCES)
        for table in vacuum:
            session.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
        return True

    def _untouched(self, name: str, template: _Template) -> bool:
        """Still empty and with no session but the pool's: a process the last test
        left behind (one its fixtures did not stop) would have written or connected
        since the database was emptied."""
        try:
            session = self._session(name)
            others = self._session(self._admin_database).execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                (name, session.info.backend_pid),
            )
            return others.fetchone() == (0,) and not template.written(session)
        except psycopg.Error:
            self._forget_sessions()
            return False

    def _session(self, database: str) -> Connection:
        session = self._sessions.get(database)
        if session is None or session.closed:
            session = psycopg.connect(self._dsn_for(database), autocommit=True)
            self._sessions[database] = session
        return session

    def _forget_sessions(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    def _drop(self, name: str) -> None:
        session = self._sessions.pop(name, None)
        if session is not None:
            session.close()
        self._session(self._admin_database).execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _scalar(connection: Connection, query: Query) -> Any:
    row = connection.execute(query).fetchone()
    assert row is not None
    return row[0]


def _filled_tables(connection: Connection, tables: list[str]) -> set[str]:
    """The tables that hold at least one row, found in one statement."""
    probes = sql.SQL(", ").join(
        sql.SQL("EXISTS (SELECT FROM {})").format(sql.Identifier(table)) for table in tables
    )
    row = connection.execute(sql.SQL("SELECT {}").format(probes)).fetchone()
    assert row is not None
    return {table for table, filled in zip(tables, row, strict=True) if filled}


def _rows_digest(connection: Connection, table: str) -> str | None:
    """A digest of a table's rows, None when it has none."""
    query = sql.SQL("SELECT md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM {} AS t")
    return _scalar(connection, query.format(sql.Identifier(table)))
