"""A real daemon for the server tests: uvicorn on 127.0.0.1 (port 0) in a thread, real WebSocket clients, and
virtual network printers (``VirtualPrinterServer``) on their own event loop. Every wait is bounded.

Tests import these helpers as ``from server.harness import …`` (``tests`` is on the path); the fixtures that use
them are in ``conftest.py`` next to this file."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from ticket_daemon.config import Settings, load_settings
from ticket_daemon.printers.virtual_server import VirtualPrinterServer
from ticket_daemon.server.app import create_app
from ticket_daemon.server.daemon import Daemon
from ticket_daemon.service.console import DaemonServer, build_server
from ticket_daemon.store.interface import JobStore

WAIT_S = 10.0  # upper bound for anything a test waits for


def receipt(*lines: str, model: str = "80mm EC-PM-80250") -> dict[str, Any]:
    """A small valid v1 document printing ``lines``."""
    commands: list[dict[str, Any]] = [{"type": "text", "data": {"content": {"text": line}}} for line in lines]
    commands.append({"type": "cut", "data": {"mode": "partial"}})
    return {"version": "1.0", "profile": {"model": model}, "commands": commands}


def ticket(job_id: str | None, *lines: str, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"tipo": "ticket", "datos": receipt(*(lines or ("hello",)))}
    if job_id is not None:
        message["id"] = job_id
    message.update(extra)
    return message


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class WsClient:
    """A POS client: JSON in, JSON out, every receive bounded."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_size", 16 * 1024 * 1024)
        self.ws: ClientConnection = connect(
            url, open_timeout=WAIT_S, close_timeout=2, proxy=None, legacy=True, **kwargs
        )

    def send(self, message: dict[str, Any] | str | bytes) -> None:
        self.ws.send(json.dumps(message) if isinstance(message, dict) else message)

    def recv(self, timeout: float = WAIT_S) -> dict[str, Any]:
        text = self.ws.recv(timeout=timeout)
        parsed = json.loads(text)
        assert isinstance(parsed, dict)
        return parsed

    def request(self, message: dict[str, Any] | str | bytes, timeout: float = WAIT_S) -> dict[str, Any]:
        self.send(message)
        return self.recv(timeout)

    def print_job(self, message: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Send a ticket; return (ack, result)."""
        ack = self.request(message)
        assert ack["tipo"] == "ack", ack
        return ack, self.recv()

    def close_code(self, timeout: float = WAIT_S) -> int | None:
        """Read until the server closes the connection; its close code."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            pass
        raise AssertionError("the server did not close the connection")

    def close(self) -> None:
        self.ws.close()


class RunningDaemon:
    def __init__(
        self, settings: Settings, store: JobStore | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.app = create_app(settings, daemon=Daemon(settings, store=store, clock=clock))
        self.server: DaemonServer = build_server(self.app, settings, announce=False)
        self.thread = threading.Thread(target=self.server.run, name="daemon-under-test", daemon=True)
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive(), "the daemon to start")
        assert self.server.started, "the daemon did not start"
        self.port = self.server.bound_port()
        self.http_url = f"http://127.0.0.1:{self.port}"
        self.clients: list[WsClient] = []

    @property
    def daemon(self) -> Daemon:
        daemon: Daemon = self.app.state.daemon
        return daemon

    @property
    def data_dir(self) -> Path:
        return self.settings.storage.data_dir

    def ws_url(self, client_id: str | None = None) -> str:
        query = f"?client_id={client_id}" if client_id else ""
        return f"ws://127.0.0.1:{self.port}/ws{query}"

    def connect(self, client_id: str | None = None, **kwargs: Any) -> WsClient:
        """A connected client that has already read the server's greeting."""
        client = WsClient(self.ws_url(client_id), **kwargs)
        self.clients.append(client)
        greeting = client.recv()
        assert greeting["tipo"] == "info", greeting
        return client

    def virtual_jobs(self, printer: str) -> list[bytes]:
        """Bytes of each job a ``virtual://`` printer printed, oldest first."""
        folder = self.data_dir / "virtual" / printer
        return [path.read_bytes() for path in sorted(folder.glob("*.bin"))] if folder.is_dir() else []

    def request_stop(self) -> None:
        """What SIGTERM does to ``ticket-daemon serve``: begin the graceful stop (returns at once)."""
        self.server.should_exit = True

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self.request_stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the daemon did not stop"


class DaemonLauncher:
    """``start(printers=[...], **server_settings)`` → a running daemon on 127.0.0.1; ``stop_all()`` at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.running: list[RunningDaemon] = []

    def start(
        self,
        printers: list[dict[str, Any]] | None = None,
        *,
        spool: dict[str, Any] | None = None,
        storage: dict[str, Any] | None = None,
        store: JobStore | None = None,
        clock: Callable[[], float] = time.time,
        **server: Any,
    ) -> RunningDaemon:
        """``spool``/``storage`` are those settings sections (``storage={"data_dir": …}`` reuses a spool); ``clock``
        gives the wall-clock seconds jobs are stamped with (a test moves it past the duplicate window)."""
        values: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "shutdown_grace_seconds": 2.0, **server}
        where = {"data_dir": self.root / f"data{len(self.running)}", **(storage or {})}
        settings = load_settings(
            None, {"server": values, "storage": where, "spool": spool or {}, "printers": printers or []}
        )
        daemon = RunningDaemon(settings, store, clock)
        self.running.append(daemon)
        return daemon

    def stop_all(self) -> None:
        for daemon in self.running:
            if daemon.thread.is_alive():
                daemon.stop()


class PrinterFarm:
    """Virtual network printers (raw TCP, DLE EOT) running on their own event loop thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="virtual-printers", daemon=True)
        self.thread.start()
        self.servers: list[VirtualPrinterServer] = []

    def _run(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout=WAIT_S)

    def start(self, name: str, **options: Any) -> tuple[str, Path]:
        """Start a printer; returns (its tcp:// URI, the folder where it saves jobs)."""
        out = self.root / name
        server = VirtualPrinterServer("127.0.0.1", 0, out, **options)
        self._run(server.start())
        self.servers.append(server)
        return f"tcp://127.0.0.1:{server.port}", out

    def stop(self) -> None:
        for server in self.servers:
            self._run(server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=WAIT_S)
        self.loop.close()


def printed_jobs(folder: Path) -> list[bytes]:
    """Bytes of each job a virtual network printer saved, in the order it printed them."""
    return [path.read_bytes() for path in sorted(folder.glob("job-*.bin"))] if folder.is_dir() else []


def refused_port() -> int:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StubbornReader:
    """A WebSocket client on a raw socket that completes the handshake and then never reads a byte."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(WAIT_S)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(1)
            assert chunk, "handshake refused"
            response += chunk
        assert response.startswith(b"HTTP/1.1 101"), response

    def send_text(self, text: str) -> None:
        """One masked text frame (RFC 6455 §5.2)."""
        payload = text.encode()
        mask = os.urandom(4)
        header = bytearray([0x81])
        if len(payload) < 126:
            header.append(0x80 | len(payload))
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
        else:
            header += bytes([0x80 | 127]) + len(payload).to_bytes(8, "big")
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.sock.sendall(bytes(header) + mask + masked)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # unblocks a sendall() stuck in another thread
        self.sock.close()


@contextlib.contextmanager
def unread_flood(port: int, text: str, *, count: int = 200) -> Iterator[StubbornReader]:
    """A client that sends ``text`` ``count`` times from a thread and never reads a reply; closed on exit."""
    stubborn = StubbornReader(port)

    def flood() -> None:
        with contextlib.suppress(OSError):  # the daemon cutting it off is the expected end
            for _ in range(count):
                stubborn.send_text(text)

    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    try:
        yield stubborn
    finally:
        stubborn.close()
        flooder.join(timeout=10)
