"""The auth token, compared and named without ever revealing it (every door and the service use it)."""

from __future__ import annotations

import hashlib
import hmac


def token_matches(presented: object, expected: str) -> bool:
    """Constant-time comparison (``hmac.compare_digest``) so timing does not reveal how much of a guess is right."""
    if not isinstance(presented, str):
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def token_identity(token: str) -> str:
    """A stable, non-reversible name for a token (rate limiting, logs) that never reveals the token itself."""
    return "token:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]
