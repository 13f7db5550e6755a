"""Dashboard password hashing (argon2id).

Only the hash is ever configured (`server.dashboard_password_hash`); the password itself is never stored or logged.
"""

from __future__ import annotations

# Upper bound on what we hash: argon2 accepts any length, but a megabyte "password" is only a way to burn CPU.
MAX_PASSWORD_CHARS = 1024


def hash_password(password: str) -> str:
    """An argon2id hash (``$argon2id$…``) with argon2-cffi's recommended parameters and a random salt."""
    from argon2 import PasswordHasher  # argon2 and its C binding load only where a password is hashed or checked

    return PasswordHasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for a mismatch or a malformed hash, never raises."""
    if not password_hash or len(password) > MAX_PASSWORD_CHARS:
        return False
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def is_password_hash(value: str) -> bool:
    """Whether ``value`` looks like a hash this module can verify (used to warn about a misconfigured hash)."""
    return value.startswith("$argon2")
