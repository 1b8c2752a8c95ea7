"""The hottest SQLite statements, run on the sqlite3 connection itself.

A worker's round (``sqlite_round``) and a submission (``sqlite_submit``) are a few
short statements in one ``BEGIN IMMEDIATE`` transaction. Through SQLAlchemy's
execution they cost several times what SQLite itself spends on them (building the
statement, its cache key, the result's metadata: ``bench/engine_changes.md``,
changes 18 and 39), so they go to the driver as written. The values still pass
through the columns' own SQLAlchemy types (their ``dialect_impl``'s bind and result
processors), so that they are written and read exactly as everywhere else.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine

from jobprocessor.store.engine import begin_immediate
from jobprocessor.store.tables import jobs


def driver_of(connection: Connection) -> sqlite3.Connection:
    """The sqlite3 connection underneath ``connection``."""
    driver = connection.connection.dbapi_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


class Statement:
    """The statement a transaction runs now, for the error it may raise."""

    def __init__(self) -> None:
        self.sql = "BEGIN IMMEDIATE"


@contextlib.contextmanager
def immediate(driver: sqlite3.Connection) -> Iterator[Statement]:
    """A write transaction (``BEGIN IMMEDIATE``) on the driver, committed at the end.

    Whoever runs statements in it sets ``Statement.sql`` first: a ``sqlite3.Error``
    rolls the transaction back and is raised as SQLAlchemy's, naming that statement,
    so that callers handle it as they handle every other statement's error.
    """
    statement = Statement()
    try:
        begin_immediate(driver)
        yield statement
        statement.sql = "COMMIT"
        driver.execute("COMMIT")
    except sqlite3.Error as error:
        if driver.in_transaction:
            driver.execute("ROLLBACK")
        raise DBAPIError.instance(statement.sql, (), error, sqlite3.Error) from error
    except BaseException:
        if driver.in_transaction:
            driver.execute("ROLLBACK")
        raise


def read(driver: sqlite3.Connection, sql: str, parameters: dict[str, Any]) -> sqlite3.Cursor:
    """One statement outside a transaction (autocommit: it reads one snapshot); its
    ``sqlite3.Error`` raised as SQLAlchemy's."""
    try:
        return driver.execute(sql, parameters)
    except sqlite3.Error as error:
        raise DBAPIError.instance(sql, (), error, sqlite3.Error) from error


class Converters:
    """A table's SQLAlchemy types, as plain functions for one dialect."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self._table = table
        self._dialect = dialect
        time = jobs.c.started_at.type.dialect_impl(dialect).bind_processor(dialect)
        assert time is not None
        #: A time, as the jobs table's timestamp columns store it.
        self.time: Callable[[datetime], Any] = time
        self._readers: dict[tuple[str, ...], tuple[Any, list[Callable[[Any], Any] | None]]] = {}
        self._writers: dict[tuple[str, ...], list[Callable[[Any], Any] | None]] = {}

    def rows(self, cursor: sqlite3.Cursor) -> list[Any]:
        """The rows of the table a cursor returns (``RETURNING *``), read as SQLAlchemy
        would, as named tuples."""
        names = tuple(d[0] for d in cursor.description)
        if names not in self._readers:
            self._readers[names] = (
                namedtuple("_Row", names),
                [_reader(self._table.c[name].type, self._dialect) for name in names],
            )
        make_row, readers = self._readers[names]
        return [
            make_row(*(v if r is None else r(v) for r, v in zip(readers, raw, strict=True)))
            for raw in cursor.fetchall()
        ]

    def values(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row's values for the table's columns, as SQLAlchemy would bind them."""
        names = tuple(row)
        if names not in self._writers:
            columns = self._table.c
            self._writers[names] = [_binder(columns[name].type, self._dialect) for name in names]
        writers = self._writers[names]
        return {
            name: value if w is None else w(value)
            for w, (name, value) in zip(writers, row.items(), strict=True)
        }


def _reader(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    return column_type.dialect_impl(dialect).result_processor(dialect, None)


def _binder(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    return column_type.dialect_impl(dialect).bind_processor(dialect)


@functools.cache
def converters(table: Table, dialect: Dialect) -> Converters:
    """``Converters`` of a table for a dialect, made once."""
    return Converters(table, dialect)
