"""The declarative base of wfm's tables, kept apart from the engine's metadata.

Every wfm table is prefixed ``wfm_`` so that it can share a database with the
engine (and other applications) without a clash; constraint names follow one
convention so that migrations name them the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every wfm ORM class."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
