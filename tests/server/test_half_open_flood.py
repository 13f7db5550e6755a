"""Half-open HTTP floods: hundreds of connections that never finish their request headers must not take
``/health`` or ``/ws`` down, and are closed once the header timeout passes. Real sockets on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import httpx

from server.harness import WAIT_S, DaemonLauncher, RunningDaemon, wait_until

FLOOD = 300
HEADER_TIMEOUT_S = 1.5
UNFINISHED_REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "  # never a blank line


@contextlib.contextmanager
def unfinished_requests(port: int, count: int) -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
            sock.sendall(UNFINISHED_REQUEST)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    """True once the daemon has closed this socket (EOF or reset), False while it is still open."""
    sock.setblocking(False)
    try:
        return sock.recv(1024) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def still_serves(daemon: RunningDaemon) -> None:
    health = httpx.get(f"{daemon.http_url}/health", timeout=WAIT_S)
    assert health.status_code == 200, health.text
    client = daemon.connect()
    assert client.request({"tipo": "ping", "id": "alive"}) == {"tipo": "pong", "id": "alive", "status": "ok"}
    client.close()


def test_unfinished_requests_do_not_starve_health_or_websockets_and_time_out(daemons: DaemonLauncher) -> None:
    daemon = daemons.start(max_connections=50, header_timeout_seconds=HEADER_TIMEOUT_S)
    started = time.monotonic()
    with unfinished_requests(daemon.port, FLOOD) as flood:
        still_serves(daemon)
        # Only max_connections unfinished ones are kept; the oldest were dropped to make room.
        wait_until(lambda: sum(closed_by_server(sock) for sock in flood[:100]) == 100, "the oldest to be dropped")
        # And the rest are closed once the header timeout has passed.
        wait_until(lambda: all(closed_by_server(sock) for sock in flood), "the unfinished requests to time out")
        assert time.monotonic() - started >= HEADER_TIMEOUT_S * 0.9
    still_serves(daemon)


def test_a_slow_but_finished_request_is_served(daemons: DaemonLauncher) -> None:
    daemon = daemons.start(header_timeout_seconds=HEADER_TIMEOUT_S)
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=WAIT_S) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        time.sleep(HEADER_TIMEOUT_S / 3)
        sock.sendall(b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply[:100]


def test_requests_beyond_the_connection_cap_get_503_but_health_answers(daemons: DaemonLauncher) -> None:
    daemon = daemons.start(max_connections=8)
    sockets = [daemon.connect() for _ in range(8)]  # eight open WebSockets fill the cap
    busy = httpx.get(f"{daemon.http_url}/api/v1/printers", timeout=WAIT_S)
    assert busy.status_code == 503
    assert busy.json()["mensaje"].startswith("EXECUTION: too many connections")
    assert httpx.get(f"{daemon.http_url}/health", timeout=WAIT_S).status_code == 200
    sockets[0].close()
    wait_until(
        lambda: httpx.get(f"{daemon.http_url}/api/v1/printers", timeout=WAIT_S).status_code == 200,
        "a place to free up",
    )
