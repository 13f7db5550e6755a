"""Keeping the HTTP edge up under half-open floods: a header timeout, a connection cap that keeps room for
``/health``, and the process's open-file limit raised to what the system allows.

uvicorn times out idle keep-alive connections, but not a first request whose headers never finish: 1 100 such
sockets held the process at its 1 024 open files and made ``/health`` and ``/ws`` unavailable. Here:

- :func:`guarded_http_protocol` is uvicorn's h11 protocol with a timer from the moment a connection is made until
  its request headers are complete (``header_timeout_seconds``): past it the connection is closed. Connections
  still sending headers are also bounded in number; when one more arrives over the bound the oldest is dropped.
  Later requests on a kept-alive connection are covered by uvicorn's own keep-alive timeout.
- :class:`ConnectionCap` (ASGI) refuses requests and WebSockets beyond ``max_connections``, or beyond
  ``max_connections_per_address`` from one address, with 503 and a sentence, keeping places for loopback and
  :data:`HEALTH_RESERVE` places of its own for ``/health``.
- :func:`raise_open_file_limit` lifts the soft RLIMIT_NOFILE to the hard limit at start (not on Windows).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from ..server.security import is_loopback_address

log = logging.getLogger(__name__)

# Places kept for /health beyond max_connections, so a supervisor can tell "busy" from "down".
HEALTH_RESERVE = 16
HEALTH_PATH = "/health"
# Places under max_connections kept for this machine (the operator, local tills) against a remote flood.
LOOPBACK_RESERVE = 16
# Addresses named in a "holds too many connections" warning until the daemon is clear of the cap again.
MAX_WARNED_ADDRESSES = 100
BUSY_SENTENCE = "EXECUTION: too many connections, retry in a few seconds"
PER_ADDRESS_SENTENCE = (
    "EXECUTION: too many connections from your address ({limit} open, server.max_connections_per_address): "
    "close some and retry"
)

ASGIApp = Any  # the ASGI callable (scope, receive, send)


def guarded_http_protocol(header_timeout: float, max_unfinished: int) -> type[H11Protocol]:
    """An h11 protocol class closing connections whose first request headers take longer than
    ``header_timeout`` seconds, and keeping at most ``max_unfinished`` such connections (oldest dropped)."""
    unfinished: dict[GuardedProtocol, None] = {}  # insertion order = age

    class GuardedProtocol(H11Protocol):
        def __init__(
            self,
            config: Config,
            server_state: ServerState,
            app_state: dict[str, Any],
            _loop: asyncio.AbstractEventLoop | None = None,
        ) -> None:
            super().__init__(config, server_state, app_state, _loop)
            self._header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            while len(unfinished) >= max_unfinished:
                oldest = next(iter(unfinished))
                oldest._give_up("too many connections still sending their request")
            unfinished[self] = None
            self._header_timer = self.loop.call_later(header_timeout, self._give_up, "request headers too slow")

        def handle_events(self) -> None:
            super().handle_events()
            if self.scope is not None:  # the first request's headers are complete (or upgraded to a WebSocket)
                self._headers_done()

        def connection_lost(self, exc: Exception | None) -> None:
            self._headers_done()
            super().connection_lost(exc)

        def _headers_done(self) -> None:
            unfinished.pop(self, None)
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _give_up(self, why: str) -> None:
            self._headers_done()
            if not self.transport.is_closing():
                log.debug("closing %s: %s", self.client, why)
                self.transport.close()

    return GuardedProtocol


class ConnectionCap:
    """ASGI middleware: at most ``max_connections`` requests and WebSockets at once, and at most
    ``per_address`` of them from any one address, so one client holding idle sockets cannot shut every till out.

    The last :func:`loopback_reserve` places under the cap are kept for this machine (loopback), so the operator
    and local tills still get in while remote clients fill the rest; ``/health`` is outside both limits with
    :data:`HEALTH_RESERVE` places of its own. A refusal is HTTP 503 with a ``Retry-After`` and a sentence saying
    which limit was reached; a WebSocket gets it as the handshake's answer (ASGI "WebSocket Denial Response"), not
    the 403 that an origin refusal is."""

    def __init__(self, app: ASGIApp, max_connections: int, per_address: int | None = None) -> None:
        self.app = app
        self.max_connections = max_connections
        self.per_address = per_address if per_address is not None else max_connections
        self.loopback_reserve = loopback_reserve(max_connections)
        self.active = 0
        self.health_active = 0
        self._by_address: dict[str, int] = {}  # address → open connections; an address with none is removed
        self._warned = False
        self._warned_addresses: set[str] = set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope.get("path") == HEALTH_PATH:
            if self.health_active >= HEALTH_RESERVE and self.active >= self.max_connections:
                await self._refuse(scope, send, BUSY_SENTENCE)
                return
            self.health_active += 1
            try:
                await self.app(scope, receive, send)
            finally:
                self.health_active -= 1
            return
        client = scope.get("client")
        address = str(client[0]) if client else "-"
        refusal = self._refusal(address)
        if refusal is not None:
            await self._refuse(scope, send, refusal)
            return
        self.active += 1
        self._by_address[address] = self._by_address.get(address, 0) + 1
        if self.active < self.max_connections // 2:  # well clear of the cap: the next episode is logged again
            self._warned = False
            self._warned_addresses.clear()
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
            left = self._by_address[address] - 1
            if left:
                self._by_address[address] = left
            else:
                del self._by_address[address]

    def _refusal(self, address: str) -> str | None:
        """The sentence refusing one more connection from ``address``; None when it may come in."""
        if self._by_address.get(address, 0) >= self.per_address:
            if address not in self._warned_addresses and len(self._warned_addresses) < MAX_WARNED_ADDRESSES:
                self._warned_addresses.add(address)
                log.warning(
                    "EXECUTION: %s holds %d connections (server.max_connections_per_address): refusing more from it",
                    address,
                    self.per_address,
                )
            return PER_ADDRESS_SENTENCE.format(limit=self.per_address)
        limit = self.max_connections if is_loopback_address(address) else self.max_connections - self.loopback_reserve
        if self.active < limit:
            return None
        if not self._warned:
            self._warned = True
            log.warning(
                "EXECUTION: %d connections open (server.max_connections): refusing new ones until some close",
                self.active,
            )
        return BUSY_SENTENCE

    async def _refuse(self, scope: dict[str, Any], send: Any, sentence: str) -> None:
        body = json.dumps({"status": "error", "mensaje": sentence}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", b"5"),
        ]
        if scope["type"] == "websocket":
            if "websocket.http.response" not in scope.get("extensions", {}):
                await send({"type": "websocket.close", "code": 1013, "reason": "Too many connections"})
                return
            await send({"type": "websocket.http.response.start", "status": 503, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": 503, "headers": [*headers, (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def loopback_reserve(max_connections: int) -> int:
    """Places under ``max_connections`` only this machine may take: :data:`LOOPBACK_RESERVE`, at most a quarter."""
    return min(LOOPBACK_RESERVE, max_connections // 4)



def raise_open_file_limit() -> tuple[int, int] | None:
    """Raise the soft open-file limit to the hard one (each connection is a file); the (old, new) soft limits,
    or None where there is no such limit (Windows) or it cannot be changed."""
    if sys.platform == "win32":
        return None
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft >= target:
        return (soft, soft)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as error:
        log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, error)
        return None
    return (soft, target)
