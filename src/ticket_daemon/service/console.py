"""``ticket-daemon serve``: run the daemon in the foreground until SIGINT/SIGTERM.

Stopping is graceful: stop accepting connections and jobs, let the job being printed finish (at most
``shutdown_grace_seconds``), tell clients of jobs that will not be printed, close every client with 1001 (going
away), exit 0. A second SIGINT/SIGTERM during that stop forces the process out at once with status 128+signal
(the spool is durable, so whatever was not printed is still there at the next start). When the server is ready,
one line with the dashboard URL goes to stdout.

The same :class:`DaemonServer` runs under the Windows service (``service/windows.py``, in a thread, stopped with
:meth:`DaemonServer.request_stop`) and under systemd (this console mode, stopped with SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import logging
import math
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette

from .. import __version__
from ..collector import settle
from ..config import ConfigError, Settings, load_settings
from ..logs import configure_logging, flush_logs, installed_handlers
from ..server.app import create_app
from ..server.daemon import Daemon
from ..server.security import OriginPolicy
from ..server.wsprotocol import WebSocketProtocol
from ..store.database import SpoolDamaged
from .httplimits import ConnectionCap, guarded_http_protocol, raise_open_file_limit
from .modes import exposure_warnings
from .startcheck import check_startable

if TYPE_CHECKING:
    from ..mqtt.session import MqttSession

log = logging.getLogger(__name__)

# Exit statuses (cli.py: a configuration error a user can fix is status 2).
EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_START_FAILED = 1
# What stops the daemon gracefully (SIGBREAK: Ctrl+Break in a Windows console).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name))
# Extra time uvicorn gives connections after our own drain, before cancelling what is left.
UVICORN_GRACE_SECONDS = 5.0
# A request line and headers bigger than this are refused (400): real clients send a few hundred bytes.
MAX_REQUEST_HEAD_BYTES = 16 * 1024


class DaemonServer(uvicorn.Server):
    """uvicorn's server with the daemon's stop sequence in front of its own shutdown (which would otherwise close
    WebSockets with 1012 before the job in progress could report its result)."""

    def __init__(
        self, config: uvicorn.Config, daemon: Daemon, *, announce: bool = True, mqtt: MqttSession | None = None
    ) -> None:
        super().__init__(config)
        self.daemon = daemon
        self.mqtt = mqtt  # the fleet front door (docs/protocol.md "MQTT"), when [mqtt] url is set
        self.announce = announce
        self.url = ""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGINT/SIGTERM begin the graceful stop (a second SIGINT forces it). Unlike uvicorn's own version, the
        signal is not raised again afterwards: a graceful stop exits with status 0."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First stop signal: graceful stop. A second one while stopping: exit now (an operator
        who presses Ctrl+C twice means it), with a non-zero status so a supervisor can tell it was not a clean stop."""
        if self.should_exit:
            force_exit(sig)
        super().handle_exit(sig, frame)

    def request_stop(self) -> None:
        """Begin the graceful stop from another thread (the Windows service's SvcStop); uvicorn polls the flag."""
        self.should_exit = True

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # The daemon starts before uvicorn's lifespan (whose start() is then a no-op), so a spool that held jobs
        # and is gone or damaged stops start-up with one sentence, not a traceback, and nothing is ever served.
        try:
            await self.daemon.start()
        except SpoolDamaged as error:
            _report_failure(str(error))
            self.should_exit = True
            with contextlib.suppress(Exception):
                await self.daemon.stop()
            return
        await super().startup(sockets)
        if not self.started:
            return
        if self.mqtt is not None:  # after the daemon started (lifespan): redelivered jobs find the spool open
            await self.mqtt.start()
        self.url = dashboard_url(self.config.host, self.bound_port(), tls=bool(self.config.ssl_certfile))
        _log_banner(self.daemon.settings, self.url, self.daemon.origin_policy)
        if self.announce:
            print(f"ticket-daemon ready: dashboard {self.url} (WebSocket {ws_url(self.url)})", flush=True)
        if not gc.isenabled():  # ``ticket-daemon serve`` starts with the collector off (commands/main.py)
            # What start-up built lives as long as the process: frozen, collections never scan it again (nor what
            # the renderer's background load builds, render/loading.py); young collections are rare (collector.py).
            settle()
            gc.enable()
        self.daemon.serving()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        log.info("stopping: no new connections or jobs; letting the job in progress finish")
        for server in self.servers:
            server.close()  # stop accepting connections
        if self.mqtt is not None:  # jobs not taken in yet stay at the broker and come back after the restart
            await self.mqtt.stop_taking_jobs()
        await self.daemon.stop()  # closes the MQTT session after the drain: the last results go out, then "offline"
        await super().shutdown(sockets)

    def bound_port(self) -> int:
        for server in self.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self.config.port


def build_server(app: Starlette, settings: Settings, *, announce: bool = True) -> DaemonServer:
    """The uvicorn server for ``app`` with the daemon's limits (also used by tests, on port 0)."""
    server = settings.server
    tls = {"ssl_certfile": str(server.tls_cert), "ssl_keyfile": str(server.tls_key)} if server.tls_cert else {}
    config = uvicorn.Config(
        ConnectionCap(app, server.max_connections, server.max_connections_per_address),
        host=server.host,
        port=server.port,
        # Half-open floods: unfinished request headers time out, and only so many may be pending at once.
        http=guarded_http_protocol(server.header_timeout_seconds, max_unfinished=server.max_connections),
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        # uvicorn's sans-I/O WebSocket, answering non-UTF-8 text and late sends as client faults (wsprotocol.py).
        ws=WebSocketProtocol,
        # A frame bigger than this is refused by the protocol layer with close code 1009, before it is buffered.
        ws_max_size=server.max_frame_bytes,
        ws_per_message_deflate=server.ws_compression,
        lifespan="on",
        access_log=False,
        log_config=None,  # our handlers (logs.py), not uvicorn's defaults
        log_level=server.log_level.lower(),
        # The daemon is reached directly; trusting X-Forwarded-For would let a client pick its rate-limit identity.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=math.ceil(server.shutdown_grace_seconds + UVICORN_GRACE_SECONDS),
        **tls,  # type: ignore[arg-type]
    )
    daemon: Daemon = app.state.daemon
    # The broker is one more "connection" for the rate limit: the site's budget, under the per-address ceiling.
    site_budget = daemon.rate_limiter.for_connection()
    mqtt: MqttSession | None = None
    if settings.mqtt.url:  # the fleet door and its MQTT client library load only where a broker is configured
        from ..mqtt.session import session_for

        mqtt = session_for(
            settings.mqtt, daemon.spool, rate_limit=site_budget, max_message_bytes=server.max_frame_bytes
        )
    if mqtt is not None:  # /health, the dashboard and /metrics show the broker link
        app.state.broker_link = mqtt.report
        app.state.metrics.set_broker_link(mqtt.report)
        # Closed after the drain and before the spool: the last results go out and their delivery is recorded.
        daemon.close_on_stop(mqtt.close)
    return DaemonServer(config, daemon, announce=announce, mqtt=mqtt)


def serve_main(args: argparse.Namespace) -> int:
    """Entry point of ``ticket-daemon serve`` (args: config, host, port, data_dir)."""
    flags = {
        "server": {"host": getattr(args, "host", None), "port": getattr(args, "port", None)},
        "storage": {"data_dir": getattr(args, "data_dir", None)},
    }
    try:
        settings = load_settings(getattr(args, "config", None), flags)
        server = prepare_server(settings, console=True)
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return EXIT_CONFIG
    return run_server(server)


def prepare_server(settings: Settings, *, console: bool | None, announce: bool = True) -> DaemonServer:
    """Logging and the app for ``settings``, ready to :func:`run_server`. Raises ``ConfigError`` for what
    :func:`check_startable` refuses (``config check`` refuses the same)."""
    check_startable(settings)
    configure_logging(
        level=settings.server.log_level,
        data_dir=settings.storage.data_dir,
        console=console,
        secrets=_secrets(settings),
    )
    limits = raise_open_file_limit()  # every connection is an open file
    if limits is not None and limits[0] != limits[1]:
        log.info("open-file limit raised from %d to %d", *limits)
    return build_server(create_app(settings), settings, announce=announce)


def run_server(server: DaemonServer) -> int:
    """Bind, serve until stopped, and return the exit status. Problems are one ``EXECUTION:`` line on stderr and
    in the log, never a traceback."""
    settings = server.daemon.settings
    where = f"{settings.server.host}:{settings.server.port}"
    try:
        # Bound here rather than inside uvicorn, so a port in use is one clear sentence, not a log excerpt.
        listener = listen_socket(settings.server.host, settings.server.port)
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        hint = " (is another ticket-daemon running?)" if error.errno in (errno.EADDRINUSE,) else ""
        _report_failure(f"EXECUTION: the daemon could not start on {where}: {reason}{hint}")
        return EXIT_START_FAILED
    try:
        server.run(sockets=[listener])
    except SystemExit as stop:  # uvicorn exits this way when it cannot start
        if stop.code in (None, 0):
            return EXIT_OK
        _report_failure(f"EXECUTION: the daemon could not start on {where} (see the log)")
        return EXIT_START_FAILED
    finally:
        listener.close()
    return EXIT_OK if server.started else EXIT_START_FAILED


def force_exit(sig: int) -> None:
    """Leave at once: the log handlers are flushed, nothing else runs (the spool's writes are already durable)."""
    log.warning("second stop signal (%s): exiting without waiting for the job in progress", signal.Signals(sig).name)
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    os._exit(128 + int(sig))


def _report_failure(sentence: str) -> None:
    log.error("%s", sentence)
    if any(getattr(handler, "stream", None) is sys.stderr for handler in installed_handlers()):
        flush_logs()  # written by the log's thread: on the console before the daemon goes on to exit
        return  # the log line just went to stderr: once is enough
    # A service has no console: stderr may be None or a handle that cannot be written (the log has the line).
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(sentence, file=sys.stderr)


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket for ``host:port`` (uvicorn serves on it)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        if sys.platform != "win32":  # on Windows SO_REUSEADDR would let two daemons share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def dashboard_url(host: str, port: int, *, tls: bool = False) -> str:
    shown = "localhost" if host in ("", "0.0.0.0", "::") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"{'https' if tls else 'http'}://{shown}:{port}/"


def ws_url(http_url: str) -> str:
    """``http://h:p/`` → ``ws://h:p/ws``, ``https://h:p/`` → ``wss://h:p/ws``."""
    return "ws" + http_url.removeprefix("http").rstrip("/") + "/ws"


def _secrets(settings: Settings) -> list[str]:
    values = (settings.server.auth_token, settings.server.dashboard_password_hash, settings.mqtt.password)
    return [value.get_secret_value() for value in values if value.get_secret_value()]


def allowed_origins_text(policy: OriginPolicy) -> str:
    """The origins pages may connect from, as the policy applies them now: the configured ones and those an
    operator allowed (kept in ``allowed_origins.json``); localhost is always allowed."""
    if policy.allow_all:
        return "any site ('*')"
    return ", ".join(["localhost", *sorted(policy.allowed)]) if policy.allowed else "localhost only"


def _log_banner(settings: Settings, url: str, origins: OriginPolicy) -> None:
    server = settings.server
    daemon_printers = ", ".join(f"{p.name} ({p.uri})" for p in settings.printers) or "default (virtual://default)"
    log.info("ticket-daemon %s serving %s (WebSocket %s)", __version__, url, ws_url(url))
    log.info(
        # Worded without "token: …" pairs, which the log redaction filter would mask.
        "tickets %s; dashboard %s; allowed origins: %s",
        "require the auth token"
        if server.auth_token.get_secret_value()
        else "need no auth token (any local client may print)",
        "asks for a password"
        if server.dashboard_password_hash.get_secret_value()
        else "is open on this machine (no password set)",
        allowed_origins_text(origins),
    )
    if "*" in server.allowed_origins:
        log.warning("allowed_origins contains '*': any web page this computer opens can print")
    for warning in exposure_warnings(settings):
        log.warning("%s", warning)
    log.info(
        "printers: %s; queue capacity %d; data in %s; config %s",
        daemon_printers,
        server.queue_capacity,
        settings.storage.data_dir,
        settings.config_file or "(defaults and environment)",
    )
