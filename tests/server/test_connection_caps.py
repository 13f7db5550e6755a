"""One client cannot take every socket: an address may hold ``server.max_connections_per_address`` connections
(64 by default) and is refused beyond that with a 503 that says so, while other addresses still connect. Real
WebSockets from distinct 127.0.0.x source addresses."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket

import httpx

from server.harness import WAIT_S, DaemonLauncher, RunningDaemon, WsClient, wait_until
from ticket_daemon.service.httplimits import ConnectionCap

PER_ADDRESS = (
    "EXECUTION: too many connections from your address (64 open, server.max_connections_per_address): "
    "close some and retry"
)


def connect_from(daemon: RunningDaemon, source: str) -> WsClient:
    sock = socket.create_connection(("127.0.0.1", daemon.port), timeout=WAIT_S, source_address=(source, 0))
    client = WsClient(daemon.ws_url(), sock=sock)
    daemon.clients.append(client)
    assert client.recv()["tipo"] == "info"
    return client


def handshake_from(port: int, source: str) -> tuple[bytes, bytes]:
    """A raw WebSocket handshake from ``source``: the status line and the body of a refusal."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S, source_address=(source, 0)) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        received = b""
        while chunk := sock.recv(65536):  # a refusal's answer is complete when its Content-Length is there
            received += chunk
            head, ended, body = received.partition(b"\r\n\r\n")
            if ended and head.startswith(b"HTTP/1.1 101 "):  # accepted: the connection stays open
                break
            lengths = [line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
            if lengths and len(body) >= int(lengths[0].split(b":")[1]):
                break
    head, _, body = received.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], body


def test_the_65th_connection_from_one_address_gets_503_while_other_addresses_connect(daemons: DaemonLauncher) -> None:
    daemon = daemons.start()
    held = [connect_from(daemon, "127.0.0.2") for _ in range(64)]

    status, body = handshake_from(daemon.port, "127.0.0.2")
    assert status == b"HTTP/1.1 503 Service Unavailable"
    assert json.loads(body) == {"status": "error", "mensaje": PER_ADDRESS}
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=WAIT_S) as same_address:
        busy = same_address.get(f"{daemon.http_url}/api/v1/printers")
        assert (busy.status_code, busy.json()["mensaje"]) == (503, PER_ADDRESS)
        assert same_address.get(f"{daemon.http_url}/health").status_code == 200  # /health keeps its places

    other = connect_from(daemon, "127.0.0.3")
    assert other.request({"tipo": "get_printers"})["tipo"] == "printers"

    held[0].close()  # a place freed is a place for the same address again, once the server has seen it close
    wait_until(lambda: handshake_from(daemon.port, "127.0.0.2")[0].endswith(b" 101 Switching Protocols"), "a place")


class _Held:
    """An ASGI app that holds every request open until released (a connection that stays)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def __call__(self, scope: dict[str, object], receive: object, send: object) -> None:
        await self.release.wait()


def test_remote_clients_cannot_take_the_places_kept_for_this_machine() -> None:
    """Remote addresses are impossible over 127.0.0.x, so this drives the ASGI middleware with injected ones."""
    asyncio.run(_remote_clients_leave_the_loopback_places())


async def _remote_clients_leave_the_loopback_places() -> None:
    held = _Held()
    cap = ConnectionCap(held, max_connections=40, per_address=64)  # 10 places kept for loopback
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    def request(address: str) -> asyncio.Task[None]:
        scope = {"type": "http", "path": "/api/v1/printers", "client": (address, 1234), "headers": []}
        return asyncio.create_task(cap(scope, None, send))

    remote = [request(f"192.0.2.{n}") for n in range(1, 31)]
    await asyncio.sleep(0)
    assert cap.active == 30 and not sent
    await request("198.51.100.7")  # the 31st remote connection: refused at once
    assert sent[0]["status"] == 503
    local = [request("127.0.0.1") for _ in range(10)]
    await asyncio.sleep(0)
    assert cap.active == 40 and len(sent) == 2  # all ten local ones came in
    held.release.set()
    await asyncio.gather(*remote, *local)
