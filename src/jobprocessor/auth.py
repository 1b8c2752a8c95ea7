"""Password hashing (argon2) and API tokens (random, stored as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: How passwords are hashed unless a service is given another hasher: argon2-cffi's
#: defaults (RFC 9106's low-memory profile). Verifying reads the parameters from the
#: stored hash itself, so any hash this or another hasher made is checked correctly.
PASSWORD_HASHER = PasswordHasher()

TOKEN_PREFIX = "jp_"  # noqa: S105 - a prefix, not a secret


def hash_password(password: str, hasher: PasswordHasher = PASSWORD_HASHER) -> str:
    return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; a user without a password never signs in."""
    if not password_hash:
        return False
    try:
        return PASSWORD_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A bearer token, shown once to its owner; only its hash is stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(token.encode()).hexdigest()
