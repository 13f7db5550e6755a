"""Dashboard sessions and login lock-out (docs/protocol.md "HTTP": HttpOnly, SameSite=Strict session cookie).

A session is a random 256-bit id held by the browser in a cookie; the server keeps only a SHA-256 of it, with a
sliding 15-minute expiry. Failed logins are counted per remote address: the 5th failure inside 5 minutes locks
that address out for 5 minutes, whatever it sends. An address is not a person, so the budget is shared where one
party holds many addresses: every address of an IPv6 /64 (one site's network) counts together, all of 127.0.0.0/8
and ::1 are one "loopback" client. Past a ceiling of failures from everywhere (a guessing run spread over many
networks) logins from the network are slowed to one attempt per 6 seconds (the ceiling's own rate) for the
lock-out time, all remote addresses together; this machine (loopback) and a browser holding a live session are never
slowed or refused by it, so an attacker cannot lock the operator out.
Failures and lock-outs are ``AUDIT:`` log lines; passwords are never logged. Both stores take the clock as a
parameter so tests can move time.
"""

from __future__ import annotations

import hashlib
import ipaddress
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
# Failures from all addresses together inside the window that slow every remote login down (a spread-out
# guessing run) to the ceiling's own rate, one attempt per LOCKOUT_SECONDS / MAX_FAILED_LOGINS_GLOBAL (6 s) from
# the whole network: a run over many networks guesses no faster than that, and the real operator is only delayed.
# High enough that one shop's staff mistyping never reaches it.
MAX_FAILED_LOGINS_GLOBAL = 50
# An IPv6 site gets a /64 and may use any address in it: the prefix length counted as one client.
IPV6_SITE_PREFIX = 64
LOOPBACK_KEY = "loopback"
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


def throttle_keys(address: str) -> list[str]:
    """The failure budgets a login from ``address`` draws on (besides the global one): the address itself, and
    its /64 for IPv6; every loopback address is the one key ``loopback``."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:  # not an IP (a test client, a Unix socket): its own key
        return [address]
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if parsed.is_loopback:
        return [LOOPBACK_KEY]
    if isinstance(parsed, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((parsed, IPV6_SITE_PREFIX), strict=False)
        return [str(parsed), str(network)]
    return [str(parsed)]


def is_loopback_address(address: str) -> bool:
    return throttle_keys(address) == [LOOPBACK_KEY]


class LoginThrottle:
    """Counts failed logins per remote address, per IPv6 /64 and in total. An address or /64 over its limit is
    locked out; past the global ceiling remote logins are paced (loopback and live sessions are exempt)."""

    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILED_LOGINS,
        max_global_failures: int = MAX_FAILED_LOGINS_GLOBAL,
        lockout_seconds: float = LOCKOUT_SECONDS,
        max_addresses: int = MAX_TRACKED_ADDRESSES,
        clock: Clock = time.monotonic,
    ) -> None:
        self._max_failures = max_failures
        self._max_global = max_global_failures
        self._lockout = lockout_seconds
        self._pace = lockout_seconds / max_global_failures
        self._max_addresses = max_addresses
        self._clock = clock
        self._failures: dict[str, _Failures] = {}  # key → failures; bounded by max_addresses
        self._global = _Failures(count=0, first_at=clock())
        self._next_remote_attempt = 0.0  # while the global ceiling is reached: when the network may try again

    def locked_for(self, address: str, *, has_session: bool = False) -> float:
        """Seconds this address must still wait before it may try again (0 when it may try now). The global
        ceiling never makes loopback or a browser with a live session (``has_session``) wait."""
        now = self._clock()
        remaining = 0.0
        for key in throttle_keys(address):
            entry = self._failures.get(key)
            if entry is None:
                continue
            if entry.locked_until > now:
                remaining = max(remaining, entry.locked_until - now)
            elif entry.locked_until:  # the lock-out is over: start again from a clean slate
                del self._failures[key]
        if self._global.locked_until > now:
            if not has_session and not is_loopback_address(address):
                remaining = max(remaining, self._next_remote_attempt - now)
        elif self._global.locked_until:
            self._global = _Failures(count=0, first_at=now)
        return remaining

    def refused(self, address: str) -> None:
        """Log an attempt made while locked out (the password is not even checked)."""
        audit_log.warning("AUDIT: Dashboard login refused for %s: locked out after repeated failures", address)

    def attempt(self, address: str, *, has_session: bool = False) -> None:
        """Count a login attempt *before* its password is checked, so concurrent attempts cannot all slip past the
        lock-out; the attempt reaching a limit locks its keys. :meth:`success` forgets the count, :meth:`failure`
        reports the wrong password."""
        now = self._clock()
        for key in throttle_keys(address):
            entry = self._failures.get(key)
            if entry is None or now - entry.first_at >= self._lockout:
                entry = _Failures(count=0, first_at=now)
            self._remember(key, entry)
            self._count(entry, self._max_failures, now)
        if now - self._global.first_at >= self._lockout and not self._global.locked_until:
            self._global = _Failures(count=0, first_at=now)
        if self._count(self._global, self._max_global, now):
            audit_log.warning(
                "AUDIT: Dashboard logins from the network slowed to one per %d seconds for %d seconds: %d failed "
                "attempts from all addresses (this machine and logged-in browsers are not slowed)",
                round(self._pace),
                round(self._lockout),
                self._global.count,
            )
        if self._global.locked_until > now and not has_session and not is_loopback_address(address):
            self._next_remote_attempt = now + self._pace

    def _count(self, entry: _Failures, limit: int, now: float) -> bool:
        """One more attempt on ``entry``; True when this one locked it."""
        entry.count += 1
        if entry.count >= limit and not entry.locked_until:
            entry.locked_until = now + self._lockout
            return True
        return False

    def failure(self, address: str) -> bool:
        """The attempt counted by :meth:`attempt` had a wrong password; True when it locked the address out."""
        entries = [entry for key in throttle_keys(address) if (entry := self._failures.get(key)) is not None]
        count = max((entry.count for entry in entries), default=0)
        audit_log.warning(
            "AUDIT: Dashboard login failed for %s (wrong password, %d of %d)", address, count, self._max_failures
        )
        if not any(entry.locked_until for entry in entries):
            return False
        audit_log.warning(
            "AUDIT: Dashboard login locked for %s for %d seconds after %d failed attempts",
            address,
            round(self._lockout),
            count,
        )
        return True

    def success(self, address: str) -> None:
        for key in throttle_keys(address):
            self._failures.pop(key, None)
        # The attempt was counted in the global budget before its password was checked: a right one is no failure.
        self._global.count = max(0, self._global.count - 1)

    def _remember(self, key: str, entry: _Failures) -> None:
        self._failures.pop(key, None)
        while len(self._failures) >= self._max_addresses:
            del self._failures[next(iter(self._failures))]  # dicts keep insertion order: oldest first
        self._failures[key] = entry


def set_session_cookie(response: Response, session_id: str, *, secure: bool) -> None:
    """HttpOnly (scripts cannot read it), SameSite=Strict (no cross-site request carries it), Secure over https.

    No Max-Age: the browser forgets it when closed; the server enforces the sliding expiry.
    """
    response.set_cookie(SESSION_COOKIE, session_id, path="/", httponly=True, samesite="strict", secure=secure)


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
