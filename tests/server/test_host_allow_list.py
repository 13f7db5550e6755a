"""DNS rebinding: a page at ``evil.example`` whose name is switched to 127.0.0.1 reaches the daemon with ``Host:
evil.example``. Every HTTP route and ``/ws`` refuses such a request with 421 and a sentence; localhost, IP
addresses, this machine's name and ``server.allowed_hosts`` are answered. ``/health`` stays public (it is meant to
be read from any page). Requests go to 127.0.0.1 with the Host header set: no name is ever resolved."""

from __future__ import annotations

import base64
import os
import re
import socket

import httpx
from starlette.routing import Mount, Route

from server.harness import WAIT_S, DaemonLauncher, RunningDaemon

REFUSAL = (
    "AUDIT: this daemon does not answer to the host name 'evil.example'; if it is one of its names, add it to "
    "server.allowed_hosts"
)


def every_route(daemon: RunningDaemon) -> list[tuple[str, str]]:
    """(method, path) for each HTTP route of the app, path parameters filled in."""
    found: list[tuple[str, str]] = []
    for route in daemon.app.routes:
        if isinstance(route, Mount):
            found.append(("GET", f"{route.path}/index.html"))
        elif isinstance(route, Route):
            path = re.sub(r"\{[^}:]+:int\}", "1", route.path)
            path = re.sub(r"\{[^}]+\}", "x", path)
            found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def ws_handshake_status(port: int, host: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, "no answer to the handshake"
            received += chunk
    return received.split(b"\r\n", 1)[0]


def test_a_foreign_host_name_is_refused_on_every_route_and_on_the_websocket(daemons: DaemonLauncher) -> None:
    daemon = daemons.start()
    routes = every_route(daemon)
    assert ("GET", "/api/v1/printers") in routes and ("GET", "/metrics") in routes and len(routes) > 15

    with httpx.Client(base_url=daemon.http_url, timeout=WAIT_S) as client:
        for method, path in routes:
            if path == "/health":
                continue
            for host in ("evil.example", f"evil.example:{daemon.port}", "EVIL.example."):
                reply = client.request(method, path, params={"client_id": "till-1"}, headers={"Host": host})
                assert reply.status_code == 421, (method, path, host, reply.status_code)
                assert reply.json() == {"status": "error", "mensaje": REFUSAL}
    assert ws_handshake_status(daemon.port, "evil.example") == b"HTTP/1.1 421 Misdirected Request"


def test_this_machines_names_addresses_and_configured_hosts_are_answered(daemons: DaemonLauncher) -> None:
    daemon = daemons.start(allowed_hosts=["till.shop.lan"])
    for host in (
        "localhost",
        "127.0.0.1",
        "[::1]",
        "192.168.1.5",
        socket.gethostname(),
        "till.shop.lan",
        f"{socket.gethostname()}.local",
        "app.localhost",
    ):
        reply = httpx.get(
            f"{daemon.http_url}/api/v1/printers", headers={"Host": f"{host}:{daemon.port}"}, timeout=WAIT_S
        )
        assert reply.status_code == 200, (host, reply.text)
    assert ws_handshake_status(daemon.port, f"localhost:{daemon.port}") == b"HTTP/1.1 101 Switching Protocols"


def test_health_stays_public_whatever_the_host(daemons: DaemonLauncher) -> None:
    daemon = daemons.start()
    reply = httpx.get(f"{daemon.http_url}/health", headers={"Host": "evil.example"}, timeout=WAIT_S)
    assert reply.status_code == 200
    assert reply.headers["access-control-allow-origin"] == "*"
