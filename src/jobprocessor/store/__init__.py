"""Persistence: every SQL statement of the engine lives in this package."""

from jobprocessor.store.engine import create_db_engine
from jobprocessor.store.jobs import JobStore
from jobprocessor.store.schema import upgrade

__all__ = ["JobStore", "create_db_engine", "upgrade"]
