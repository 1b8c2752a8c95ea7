"""Console sign-in sessions and the record of failed sign-ins.

Both live in the database, not in a process's memory, so that several web
processes (on several hosts, over one PostgreSQL) share them: a session opened
by one is valid on all, a sign-out ends it everywhere, and password guessing is
limited across all of them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, func, insert, select

from jobprocessor.model import Role, User, utcnow
from jobprocessor.store.engine import reading
from jobprocessor.store.tables import login_failures, sessions, users


class SessionStore:
    """Open sessions, keyed by the hash of their cookie token."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self, token_hash: str, *, user_name: str, csrf_token: str, expires: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(sessions).values(
                    token_hash=token_hash,
                    user_name=user_name,
                    csrf_token=csrf_token,
                    created_at=utcnow(),
                    expires_at=expires,
                )
            )

    def find(self, token_hash: str) -> tuple[User, str] | None:
        """The session's user and CSRF token, if it exists and has not expired."""
        statement = (
            select(users.c.name, users.c.display_name, users.c.role, sessions.c.csrf_token)
            .join(users, users.c.name == sessions.c.user_name)
            .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > utcnow())
        )
        with reading(self.engine) as connection:
            row = connection.execute(statement).first()
        if row is None:
            return None
        return User(row.name, row.display_name, Role(row.role)), row.csrf_token

    def close(self, token_hash: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(sessions).where(sessions.c.token_hash == token_hash))

    def purge_expired(self) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(delete(sessions).where(sessions.c.expires_at <= utcnow()))
        return result.rowcount

    # -- failed sign-ins ------------------------------------------------------

    def record_failure(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(insert(login_failures).values(key=key[:300], at=utcnow()))

    def failures_since(self, key: str, since: datetime) -> int:
        statement = select(func.count()).where(
            login_failures.c.key == key[:300], login_failures.c.at > since
        )
        with reading(self.engine) as connection:
            return int(connection.execute(statement).scalar_one())

    def forget_failures_of(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(login_failures).where(login_failures.c.key == key[:300]))

    def forget_failures(self, *, before: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(login_failures).where(login_failures.c.at <= before))
