"""Keeping the HTTP edge up under half-open floods: a header timeout, a connection cap that keeps room for
``/health``, and the process's open-file limit raised to what the system allows.

uvicorn times out idle keep-alive connections, but not a first request whose headers never finish: 1 100 such
sockets held the process at its 1 024 open files and made ``/health`` and ``/ws`` unavailable. Here:

- :func:`guarded_http_protocol` is uvicorn's h11 protocol with a timer from the moment a connection is made until
  its request headers are complete (``header_timeout_seconds``): past it the connection is closed. Connections
  still sending headers are also bounded in number; when one more arrives over the bound the oldest is dropped.
  Later requests on a kept-alive connection are covered by uvicorn's own keep-alive timeout.
- :class:`ConnectionCap` (ASGI) refuses requests and WebSockets beyond ``max_connections`` with 503, while
  ``/health`` keeps :data:`HEALTH_RESERVE` places of its own.
- :func:`raise_open_file_limit` lifts the soft RLIMIT_NOFILE to the hard limit at start (not on Windows).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

log = logging.getLogger(__name__)

# Places kept for /health beyond max_connections, so a supervisor can tell "busy" from "down".
HEALTH_RESERVE = 16
HEALTH_PATH = "/health"
BUSY_BODY = b'{"status":"error","mensaje":"EXECUTION: too many connections, retry in a few seconds"}'

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
    """ASGI middleware: at most ``max_connections`` requests and WebSockets at once, ``/health`` exempt up to
    :data:`HEALTH_RESERVE` more. Refused HTTP requests get 503 with a ``Retry-After``; refused WebSockets a 403 at
    the handshake (the only refusal ASGI lets a server send before accepting)."""

    def __init__(self, app: ASGIApp, max_connections: int) -> None:
        self.app = app
        self.max_connections = max_connections
        self.active = 0
        self.health_active = 0
        self._warned = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope.get("path") == HEALTH_PATH:
            if self.health_active >= HEALTH_RESERVE and self.active >= self.max_connections:
                await self._refuse(scope, send)
                return
            self.health_active += 1
            try:
                await self.app(scope, receive, send)
            finally:
                self.health_active -= 1
            return
        if self.active >= self.max_connections:
            await self._refuse(scope, send)
            return
        self.active += 1
        if self.active < self.max_connections // 2:  # well clear of the cap: the next episode is logged again
            self._warned = False
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1

    async def _refuse(self, scope: dict[str, Any], send: Any) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "EXECUTION: %d connections open (server.max_connections): refusing new ones until some close",
                self.max_connections,
            )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1013, "reason": "Too many connections"})
            return
        headers = [(b"content-type", b"application/json"), (b"retry-after", b"5"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": BUSY_BODY})


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
