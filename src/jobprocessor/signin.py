"""Signing in to the console: passwords, sessions and the limit on guessing.

The web layer only carries cookies and forms; who may sign in, for how long,
and when to refuse further attempts is decided here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from jobprocessor.auth import hash_token, verify_password
from jobprocessor.errors import TooManyAttempts, Unauthenticated
from jobprocessor.model import User, utcnow
from jobprocessor.settings import Settings
from jobprocessor.store.sessions import SessionStore
from jobprocessor.store.users import UserStore

#: An address may fail this many times more often than one user name, over all names.
ADDRESS_FACTOR = 4


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A session just opened: the token goes into the cookie, never into the database."""

    token: str
    csrf_token: str
    user: User
    expires: datetime


class SignIn:
    """Checks passwords, opens and closes sessions, and throttles guessing."""

    def __init__(self, users: UserStore, sessions: SessionStore, settings: Settings) -> None:
        self.users = users
        self.sessions = sessions
        self.lifetime = timedelta(hours=settings.session_hours)
        self.window = timedelta(minutes=settings.login_window_minutes)
        self.max_failures = settings.login_max_failures

    def sign_in(self, name: str, password: str, *, address: str) -> OpenSession:
        """A new session for a right password; Unauthenticated or TooManyAttempts if not."""
        name_key, address_key = f"name:{name.strip().lower()}", f"address:{address}"
        since = utcnow() - self.window
        if (
            self.sessions.failures_since(name_key, since) >= self.max_failures
            or self.sessions.failures_since(address_key, since)
            >= self.max_failures * ADDRESS_FACTOR
        ):
            raise TooManyAttempts(
                "too many failed sign-ins; try again in a few minutes",
                retry_after=int(self.window.total_seconds()),
            )
        user = self.users.get(name.strip())
        if user is None or not verify_password(self.users.password_hash(user.name), password):
            self.sessions.record_failure(name_key)
            self.sessions.record_failure(address_key)
            raise Unauthenticated("wrong user name or password")
        self.sessions.forget_failures_of(name_key)
        self.sessions.forget_failures(before=since)
        self.sessions.purge_expired()
        token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = utcnow() + self.lifetime
        self.sessions.open(
            hash_token(token), user_name=user.name, csrf_token=csrf_token, expires=expires
        )
        return OpenSession(token, csrf_token, user, expires)

    def session(self, token: str) -> tuple[User, str] | None:
        """The user and CSRF token of a live session."""
        return self.sessions.find(hash_token(token))

    def sign_out(self, token: str) -> None:
        self.sessions.close(hash_token(token))
