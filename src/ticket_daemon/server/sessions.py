"""Dashboard sessions and login lock-out (PROTOCOL.md "Endpoints": HttpOnly, SameSite=Strict session cookie).

A session is a random 256-bit id held by the browser in a cookie; the server keeps only a SHA-256 of it, with a
sliding 15-minute expiry. Failed logins are counted per remote address: the 5th failure inside 5 minutes locks
that address out for 5 minutes, whatever it sends. Failures and lock-outs are ``AUDIT:`` log lines; passwords are
never logged. Both stores take the clock as a parameter so tests can move time.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response

Clock = Callable[[], float]

SESSION_COOKIE = "ticket_dashboard_session"
# Sliding inactivity expiry: a dashboard left open on a shop PC logs itself out a quarter of an hour after last use.
SESSION_TTL_SECONDS = 15 * 60
# Sessions held at once; each costs ~100 bytes. When full the session closest to expiry is dropped.
MAX_SESSIONS = 1000
# The 5th failed login from one address inside the window locks that address out...
MAX_FAILED_LOGINS = 5
# ...for this long: argon2 already makes each guess slow; this caps guesses at 5 per 5 minutes per address.
LOCKOUT_SECONDS = 5 * 60
# Addresses whose failures are remembered; beyond it the stalest entry is forgotten (bounds memory under a flood).
MAX_TRACKED_ADDRESSES = 10_000
# 32 random bytes = 256 bits.
SESSION_ID_BYTES = 32

audit_log = logging.getLogger("ticket_daemon.audit")


def _digest(session_id: str) -> str:
    # Keyed by a hash so the table never holds a usable cookie value and lookups do not depend on the secret bytes.
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


class SessionStore:
    """Live dashboard sessions: ``create`` on login, ``touch`` on every authenticated request, ``revoke`` on logout."""

    def __init__(
        self,
        *,
        ttl_seconds: float = SESSION_TTL_SECONDS,
        max_sessions: int = MAX_SESSIONS,
        clock: Clock = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_sessions
        self._clock = clock
        self._expiry: dict[str, float] = {}  # digest → monotonic expiry time; bounded by max_sessions

    def create(self) -> str:
        """A new session id (URL-safe text) valid for ``ttl_seconds`` from now."""
        now = self._clock()
        self._drop_expired(now)
        while len(self._expiry) >= self._max:
            del self._expiry[min(self._expiry, key=self._expiry.__getitem__)]
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        self._expiry[_digest(session_id)] = now + self._ttl
        return session_id

    def touch(self, session_id: str | None) -> bool:
        """True if the session is live, and then extend it (sliding expiry); an expired one is forgotten."""
        if not session_id:
            return False
        key = _digest(session_id)
        expiry = self._expiry.get(key)
        if expiry is None:
            return False
        now = self._clock()
        if now >= expiry:
            del self._expiry[key]
            return False
        self._expiry[key] = now + self._ttl
        return True

    def revoke(self, session_id: str | None) -> None:
        if session_id:
            self._expiry.pop(_digest(session_id), None)

    def __len__(self) -> int:
        return len(self._expiry)

    def _drop_expired(self, now: float) -> None:
        for key in [key for key, expiry in self._expiry.items() if now >= expiry]:
            del self._expiry[key]


@dataclass
class _Failures:
    count: int
    first_at: float
    locked_until: float = 0.0


class LoginThrottle:
    """Counts failed logins per remote address and locks an address out after too many."""

    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILED_LOGINS,
        lockout_seconds: float = LOCKOUT_SECONDS,
        max_addresses: int = MAX_TRACKED_ADDRESSES,
        clock: Clock = time.monotonic,
    ) -> None:
        self._max_failures = max_failures
        self._lockout = lockout_seconds
        self._max_addresses = max_addresses
        self._clock = clock
        self._failures: dict[str, _Failures] = {}  # address → failures; bounded by max_addresses

    def locked_for(self, address: str) -> float:
        """Seconds this address must still wait before it may try again (0 when it may try now)."""
        entry = self._failures.get(address)
        if entry is None:
            return 0.0
        remaining = entry.locked_until - self._clock()
        if remaining > 0:
            return remaining
        if entry.locked_until:  # the lock-out is over: start again from a clean slate
            del self._failures[address]
        return 0.0

    def refused(self, address: str) -> None:
        """Log an attempt made while locked out (the password is not even checked)."""
        audit_log.warning("AUDIT: Dashboard login refused for %s: locked out after repeated failures", address)

    def attempt(self, address: str) -> None:
        """Count a login attempt *before* its password is checked, so concurrent attempts cannot all slip past the
        lock-out; the attempt reaching the limit locks the address. :meth:`success` forgets the
        count, :meth:`failure` reports the wrong password."""
        now = self._clock()
        entry = self._failures.get(address)
        if entry is None or now - entry.first_at >= self._lockout:
            entry = _Failures(count=0, first_at=now)
        self._remember(address, entry)
        entry.count += 1
        if entry.count >= self._max_failures:
            entry.locked_until = now + self._lockout

    def failure(self, address: str) -> bool:
        """The attempt counted by :meth:`attempt` had a wrong password; True when it locked the address out."""
        entry = self._failures.get(address)
        count = entry.count if entry is not None else 0
        audit_log.warning(
            "AUDIT: Dashboard login failed for %s (wrong password, %d of %d)", address, count, self._max_failures
        )
        if entry is None or not entry.locked_until:
            return False
        audit_log.warning(
            "AUDIT: Dashboard login locked for %s for %d seconds after %d failed attempts",
            address,
            round(self._lockout),
            entry.count,
        )
        return True

    def success(self, address: str) -> None:
        self._failures.pop(address, None)

    def _remember(self, address: str, entry: _Failures) -> None:
        self._failures.pop(address, None)
        while len(self._failures) >= self._max_addresses:
            del self._failures[next(iter(self._failures))]  # dicts keep insertion order: oldest first
        self._failures[address] = entry


def set_session_cookie(response: Response, session_id: str, *, secure: bool) -> None:
    """HttpOnly (scripts cannot read it), SameSite=Strict (no cross-site request carries it), Secure over https.

    No Max-Age: the browser forgets it when closed; the server enforces the sliding expiry.
    """
    response.set_cookie(SESSION_COOKIE, session_id, path="/", httponly=True, samesite="strict", secure=secure)


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
