"""The ASGI application: ``/ws``, ``/health``, the HTTP mirror and the dashboard, around one :class:`Daemon`.

``create_app(settings)`` does no I/O; the lifespan starts the printer workers and, on shutdown, lets the job in
progress finish and closes the clients (``Daemon.stop``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route, WebSocketRoute

from ..config import Settings
from .api import api_routes, origin_routes
from .daemon import Daemon
from .dashboard import dashboard_routes
from .health import health_endpoint
from .hosts import HostAllowList, HostCheck, names_of_origins
from .jobs_api import job_routes
from .metrics import metrics_endpoint
from .origins import OriginRegistry
from .websocket import websocket_endpoint


def create_app(settings: Settings, *, daemon: Daemon | None = None) -> Starlette:
    """The app for ``settings``; the daemon is at ``app.state.daemon``. Raises ``ConfigError`` for bad printers."""
    daemon = daemon if daemon is not None else Daemon(settings)
    # Origins allowed at run time live in the data dir and update the daemon's origin policy in place.
    origins = OriginRegistry(daemon.origin_policy, settings.storage.data_dir)
    metrics = daemon.metrics

    server = settings.server
    # The machine's name, also as its mDNS name (till1.local: resolved on the LAN only, never by a public DNS).
    machine = socket.gethostname()
    hosts = HostAllowList([machine, f"{machine}.local", server.host, *server.allowed_hosts])
    hosts.add(names_of_origins(server.allowed_origins))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        origins.load()
        hosts.add(await _fully_qualified_name())
        await daemon.start()
        try:
            yield
        finally:
            await daemon.stop()

    routes: list[BaseRoute] = [
        WebSocketRoute("/ws", websocket_endpoint(daemon, origins)),
        Route("/health", health_endpoint(daemon), methods=["GET"]),
        Route("/metrics", metrics_endpoint(daemon, metrics), methods=["GET"]),
        *api_routes(daemon),
        *dashboard_routes(
            daemon.spool, operator_routes=lambda guard: [*job_routes(daemon, guard), *origin_routes(origins, guard)]
        ),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(HostCheck, allow_list=hosts)])
    app.state.daemon = daemon
    app.state.origins = origins
    app.state.hosts = hosts
    app.state.metrics = metrics
    # The broker link's report (mqtt/), set by whoever starts an MQTT session with this daemon (service/).
    app.state.broker_link = None
    return app


# Finding the machine's full name may ask DNS; a resolver that does not answer must not hold up the start.
FQDN_TIMEOUT_SECONDS = 2.0


async def _fully_qualified_name() -> list[str]:
    """This machine's fully qualified name (``till1.shop.lan``), asked off the event loop; none if DNS is slow."""
    try:
        return [await asyncio.wait_for(asyncio.to_thread(socket.getfqdn), FQDN_TIMEOUT_SECONDS)]
    except (TimeoutError, OSError):
        return []
