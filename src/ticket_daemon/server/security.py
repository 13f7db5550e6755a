"""Who may print: the auth token check and the WebSocket origin check.

A browser lets any web page open a WebSocket to ``ws://localhost:8766``; only the ``Origin`` header tells the
daemon which site the page came from. Without this check any site the till's browser visits could print (or open
the cash drawer). Non-browser clients send no Origin and are allowed (they cannot be steered by a web page).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from ..protocol.tokens import token_identity as token_identity  # re-exported: the front doors' one import
from ..protocol.tokens import token_matches as token_matches

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


class OriginPolicy:
    """docs/protocol.md "Who may connect": allow no Origin, same origin, http(s)://localhost[:port],
    http(s)://127.0.0.1[:port] and the configured ``allowed_origins`` (``"*"`` allows every origin, which is unsafe)."""

    def __init__(self, allowed_origins: Iterable[str]) -> None:
        configured = [origin.strip() for origin in allowed_origins if origin.strip()]
        self.allow_all = "*" in configured
        self._allowed = {normalise_origin(origin) for origin in configured if origin != "*"}

    @property
    def allowed(self) -> frozenset[str]:
        """The origins allowed besides localhost and same-origin pages (normalised; without ``"*"``)."""
        return frozenset(self._allowed)

    def add(self, origin: str) -> None:
        """Allow one more origin from now on (an operator allowed it; ``server/origins.py``)."""
        self._allowed.add(normalise_origin(origin))

    def discard(self, origin: str) -> None:
        self._allowed.discard(normalise_origin(origin))

    def allows(self, origin: str | None, host_header: str | None) -> bool:
        if origin is None:
            return True
        if self.allow_all:
            return True
        normalised = normalise_origin(origin)
        if normalised in self._allowed:
            return True
        try:
            parts = urlsplit(origin.strip())
            hostname = parts.hostname
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or hostname is None:
            return False
        if hostname.lower() in LOCAL_HOSTS or f"[{hostname}]" in LOCAL_HOSTS:
            return True
        # Same origin: a page served by this daemon (the dashboard, e.g. http://192.168.1.5:8766) talking back
        # to it. Only for IP-literal hosts: with a DNS name, a rebinding attack (evil.example resolving to
        # 127.0.0.1) would make a hostile page "same origin"; named hosts go in allowed_origins.
        if host_header is None or parts.netloc.lower() != host_header.strip().lower():
            return False
        return is_ip_literal(hostname)


def is_ip_literal(hostname: str) -> bool:
    """Whether a URL's or ``Host``'s host part is an IP address (``[::1]`` included), not a DNS name."""
    try:
        ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        return False
    return True


def is_loopback_address(address: str) -> bool:
    """Whether a peer address is this machine (127.0.0.0/8 or ::1, also as an IPv4-mapped address)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return parsed.is_loopback


def normalise_origin(origin: str) -> str:
    """An origin as compared: no surrounding spaces or trailing slash, lower case."""
    return origin.strip().rstrip("/").lower()
