"""Users and API tokens. Passwords and tokens are stored only as hashes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from jobprocessor.model import Role, User, utcnow
from jobprocessor.store.engine import reading
from jobprocessor.store.tables import api_tokens, users

#: How precisely a token's last use is recorded.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


class UserStore:
    """Who may sign in, with which role, and which token belongs to whom."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, user: User, password_hash: str | None) -> bool:
        """Create a user; False if the name is taken."""
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(users).values(
                        name=user.name,
                        display_name=user.display_name,
                        role=user.role.value,
                        password_hash=password_hash,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def get(self, name: str) -> User | None:
        with reading(self.engine) as connection:
            row = connection.execute(select(users).where(users.c.name == name)).first()
        return User(row.name, row.display_name, Role(row.role)) if row else None

    def password_hash(self, name: str) -> str | None:
        with reading(self.engine) as connection:
            return connection.execute(
                select(users.c.password_hash).where(users.c.name == name)
            ).scalar()

    def all(self) -> list[User]:
        with reading(self.engine) as connection:
            rows = connection.execute(select(users).order_by(users.c.name))
            return [User(r.name, r.display_name, Role(r.role)) for r in rows]

    def add_token(self, name: str, token_hash: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(api_tokens).values(
                    user_name=name, token_hash=token_hash, created_at=utcnow()
                )
            )

    def user_for_token(self, token_hash: str) -> User | None:
        """The token's user; notes when the token was used (at most once a minute).

        Reading first and writing rarely keeps API reads out of SQLite's write lock.
        """
        statement = (
            select(users, api_tokens.c.last_used_at)
            .join(api_tokens, api_tokens.c.user_name == users.c.name)
            .where(api_tokens.c.token_hash == token_hash)
        )
        with reading(self.engine) as connection:
            row = connection.execute(statement).first()
        if row is None:
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at > TOKEN_USE_RESOLUTION:
            with self.engine.begin() as connection:
                connection.execute(
                    update(api_tokens)
                    .where(api_tokens.c.token_hash == token_hash)
                    .values(last_used_at=now)
                )
        return User(row.name, row.display_name, Role(row.role))
