"""``[server] ws_compression``: per-message deflate is off unless configured (it cost ~20% of the CPU per ack)."""

from __future__ import annotations

import base64
import os
import socket
from typing import Any

import pytest

from server.harness import WAIT_S, DaemonLauncher


def handshake_headers(port: int) -> str:
    """The server's response to a handshake that offers permessage-deflate, as browsers do."""
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:
        sock.sendall(
            (
                "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            ).encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = sock.recv(4096)
            assert chunk, "the server closed during the handshake"
            response += chunk
    head = response.split(b"\r\n\r\n")[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 101"), head
    return head.lower()


@pytest.mark.parametrize(
    ("configured", "negotiated"), [({}, False), ({"ws_compression": False}, False), ({"ws_compression": True}, True)]
)
def test_per_message_deflate_is_negotiated_only_when_configured(
    daemons: DaemonLauncher, configured: dict[str, Any], negotiated: bool
) -> None:
    running = daemons.start(**configured)
    assert ("permessage-deflate" in handshake_headers(running.port)) is negotiated
    assert running.connect().request({"tipo": "ping", "id": "p"})["tipo"] == "pong"
