"""The ``Host`` allow-list: the daemon answers only under names that are its own (DNS rebinding).

A web page at ``evil.example`` whose DNS answer is switched to ``127.0.0.1`` becomes, for the browser, a page
talking to its own site: every request it makes to ``http://evil.example:8766`` reaches the daemon with
``Host: evil.example`` and the browser lets the page read the answers. Only the ``Host`` header tells this apart,
so every HTTP route and ``/ws`` answers only when it names this daemon:

- an IP address (a rebinding page always reaches the daemon under a DNS name, never an address literal);
- ``localhost`` and any ``*.localhost`` name (browsers resolve those to loopback themselves, RFC 6761);
- this machine's host name, its mDNS name (``<hostname>.local``) and fully qualified name, and ``server.host``
  when it is a name;
- the host names of the configured ``server.allowed_origins`` and every ``server.allowed_hosts`` entry.

Any other name gets ``421 Misdirected Request`` with a sentence naming the setting. ``GET /health`` is exempt: it
is public by design (docs/protocol.md "GET /health", served with ``Access-Control-Allow-Origin: *``), so any page can
already read it from anywhere and the check would protect nothing there, while a monitor reaching the daemon under
a name of its own keeps working. A request without ``Host`` (HTTP/1.0 tools) is not from a browser and passes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ..logs import client_fault
from .security import is_ip_literal

ASGIApp = Any  # the ASGI callable (scope, receive, send)

# Paths that answer whatever the Host (see the module docstring).
EXEMPT_PATHS = frozenset({"/health"})
SETTING = "server.allowed_hosts"
# 421 Misdirected Request (RFC 9110): "this server is not the one for that name".
MISDIRECTED = 421
# A Host header longer than this is not a name; it is shown cut.
MAX_SHOWN_HOST_CHARS = 100


def refusal_sentence(host: str) -> str:
    shown = host[:MAX_SHOWN_HOST_CHARS]
    return (
        f"AUDIT: this daemon does not answer to the host name '{shown}'; if it is one of its names, add it to {SETTING}"
    )


class HostAllowList:
    """The names this daemon answers to; IP literals and ``localhost`` names always pass."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names: set[str] = set()
        self.add(names)

    def add(self, names: Iterable[str]) -> None:
        for name in names:
            normalised = _normalise(name)
            if normalised:
                self._names.add(normalised)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._names)

    def allows(self, host_header: str | None) -> bool:
        if host_header is None:
            return True
        hostname = hostname_of(host_header)
        if hostname is None:
            return False
        if hostname == "localhost" or hostname.endswith(".localhost"):
            return True
        if is_ip_literal(hostname):
            return True
        return hostname in self._names


def hostname_of(host_header: str) -> str | None:
    """The host name of a ``Host`` header (``name[:port]``, ``[v6][:port]``), lower case, without a trailing dot;
    None when it is not one."""
    try:
        hostname = urlsplit(f"//{host_header.strip()}").hostname
    except ValueError:
        return None
    return hostname.rstrip(".") if hostname else None


def names_of_origins(origins: Iterable[str]) -> list[str]:
    """The host names of configured origins (``http://pos.lan:5173`` → ``pos.lan``); ``*`` names none."""
    names = []
    for origin in origins:
        try:
            hostname = urlsplit(origin.strip()).hostname
        except ValueError:
            continue
        if hostname:
            names.append(hostname)
    return names


def _normalise(name: str) -> str:
    return name.strip().strip("[]").rstrip(".").lower()


class HostCheck:
    """ASGI middleware refusing HTTP requests and WebSocket handshakes whose ``Host`` is not on the allow-list."""

    def __init__(self, app: ASGIApp, allow_list: HostAllowList) -> None:
        self.app = app
        self.allow_list = allow_list

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        if self.allow_list.allows(host):
            await self.app(scope, receive, send)
            return
        sentence = refusal_sentence(hostname_of(host or "") or host or "")
        client = scope.get("client")
        client_fault(client[0] if client else "-", sentence)
        await refuse(scope, send, MISDIRECTED, sentence)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def refuse(scope: dict[str, Any], send: Any, status: int, sentence: str) -> None:
    """Answer ``status`` with ``{"status":"error","mensaje":sentence}``: as an HTTP response, or for a WebSocket
    as the handshake's HTTP response (ASGI "WebSocket Denial Response"; without it, a plain 403 close)."""
    body = json.dumps({"status": "error", "mensaje": sentence}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1008, "reason": sentence[:120]})
            return
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "http.response.start", "status": status, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
