"""The daemon as the network face sees it: it holds the print service (:class:`~ticket_daemon.spool.facade.PrintSpool`)
and what only the server needs — the open connections, the origin policy, the job rate limits (per connection, per
address) and the metrics collector.

One :class:`Daemon` lives in ``app.state.daemon``; the app's lifespan calls :meth:`start` and :meth:`stop`. A stop
drains the printers, then closes every client with 1001 (going away) and every other door (the MQTT session) while
results can still be recorded: a result a door confirms while it closes is recorded as delivered before the spool
closes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from ..config import Settings
from ..protocol import messages
from ..spool.facade import PrintSpool
from ..store.interface import JobStore
from .metrics import DaemonMetrics
from .ratelimit import JobRateLimiter
from .security import OriginPolicy

log = logging.getLogger(__name__)


class Client(Protocol):
    """A connected client, as the daemon sees it: something to close when the daemon stops."""

    async def close(self, code: int, reason: str) -> None: ...


class Daemon:
    def __init__(
        self, settings: Settings, *, store: JobStore | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        """``clock``: the wall-clock seconds jobs are stamped with (:class:`PrintSpool`)."""
        self.settings = settings
        self.metrics = DaemonMetrics()  # per daemon: its own counts (server/metrics.py)
        self.spool = PrintSpool(
            settings, store=store, metrics=self.metrics, before_store_closes=self._close_doors, clock=clock
        )
        self._door_closers: list[Callable[[], Awaitable[None]]] = []  # other doors, closed with the clients
        self.rate_limiter = JobRateLimiter(settings.server.rate_limit_per_minute)
        self.origin_policy = OriginPolicy(settings.server.allowed_origins)
        self.connections: set[Client] = set()

    async def start(self) -> None:
        if self.spool.has_started:
            return
        server = self.settings.server
        if not _is_loopback_host(server.host) and not server.dashboard_password_hash:
            log.warning(
                "listening on %s without a dashboard password: the dashboard and operator APIs answer only "
                "to this machine (set server.dashboard_password_hash for remote access)",
                server.host,
            )
        await self.spool.start()

    def serving(self) -> None:
        """The daemon serves: what the first ticket needs that start-up did not load loads now, in the background."""
        self.spool.render_pool.load_renderer()

    async def stop(self) -> None:
        await self.spool.stop()

    def close_on_stop(self, close_door: Callable[[], Awaitable[None]]) -> None:
        """Close another door (the MQTT session) on stop, after the drain and before the spool closes."""
        self._door_closers.append(close_door)

    async def _close_doors(self) -> None:
        await self.close_clients()
        for close_door in self._door_closers:
            try:
                await close_door()
            except Exception:
                log.exception("closing a door on stop failed")

    async def close_clients(self, code: int = messages.CLOSE_GOING_AWAY, reason: str = "server shutting down") -> None:
        clients = list(self.connections)
        if clients:
            await asyncio.gather(*(client.close(code, reason) for client in clients), return_exceptions=True)


def _is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
