"""The ASGI application: ``/ws``, ``/health``, the HTTP mirror and the dashboard, around one :class:`Daemon`.

``create_app(settings)`` does no I/O; the lifespan starts the printer workers and, on shutdown, lets the job in
progress finish and closes the clients (``Daemon.stop``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route, WebSocketRoute

from ..config import Settings
from .api import api_routes, origin_routes
from .daemon import Daemon
from .dashboard import dashboard_routes
from .health import health_endpoint
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

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        origins.load()
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
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.daemon = daemon
    app.state.origins = origins
    app.state.metrics = metrics
    # The broker link's report (mqtt/), set by whoever starts an MQTT session with this daemon (service/).
    app.state.broker_link = None
    return app
