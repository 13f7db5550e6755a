"""Logs a client cannot flood: its protocol faults are logged once per address per interval with a count of what
was held back, never with a traceback; and ``AUDIT:`` lines live in ``audit.log``, which a flood of other lines
cannot rotate away. A real daemon, raw WebSocket frames from distinct 127.0.0.x addresses."""

from __future__ import annotations

import base64
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from server.harness import WAIT_S, DaemonLauncher
from ticket_daemon import logs
from ticket_daemon.logs import configure_logging, flush_logs, install_client_fault_log

INVALID_UTF8 = "client {address}: JSON: a text frame was not valid UTF-8; the connection was closed (1007)"


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def send_invalid_utf8_frame(port: int, source: str) -> bytes:
    """Open /ws from ``source``, read the greeting, send one text frame that is not UTF-8, and read until the
    server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S, source_address=(source, 0)) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        received = b""
        while b'"tipo"' not in received:  # the handshake's answer, then the greeting (an "info" message)
            chunk = sock.recv(65536)
            assert chunk, "the handshake was not answered"
            received += chunk
        sock.sendall(bytes([0x81, 0x82]) + b"\x00\x00\x00\x00" + b"\xff\xfe")  # FIN+text, masked, 2 bytes
        while chunk := sock.recv(65536):  # the server closes (1007) and hangs up
            received += chunk
    return received


def log_lines(log_dir: Path, name: str = "ticket-daemon.log") -> list[str]:
    flush_logs()  # the listener thread writes the lines: wait for what was logged so far
    files = sorted(log_dir.glob(f"{name}*"))
    return [line for path in files for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_flood_of_bad_frames_is_one_line_per_address_per_interval_with_the_count(
    daemons: DaemonLauncher, tmp_path: Path, restore_logging: None
) -> None:
    configure_logging(level="INFO", data_dir=tmp_path / "logged", console=False)
    clock = FakeClock()
    install_client_fault_log(clock)
    daemon = daemons.start()

    for _ in range(30):
        reply = send_invalid_utf8_frame(daemon.port, "127.0.0.2")
        assert b"\x03\xefJSON: the message is not UTF-8 text" in reply  # close frame: 1007 and why
    send_invalid_utf8_frame(daemon.port, "127.0.0.3")

    lines = log_lines(tmp_path / "logged" / "logs")
    from_flooder = [line for line in lines if "client 127.0.0.2:" in line]
    assert [line.split(": ", 1)[1] for line in from_flooder] == [INVALID_UTF8.format(address="127.0.0.2")]
    assert any(line.endswith(INVALID_UTF8.format(address="127.0.0.3")) for line in lines)
    assert not any("Traceback" in line or "UnicodeDecodeError" in line for line in lines)

    clock.now += logs.CLIENT_FAULT_INTERVAL_SECONDS
    send_invalid_utf8_frame(daemon.port, "127.0.0.2")
    from_flooder = [line for line in log_lines(tmp_path / "logged" / "logs") if "client 127.0.0.2:" in line]
    assert len(from_flooder) == 2
    assert from_flooder[1].endswith(
        INVALID_UTF8.format(address="127.0.0.2") + " (29 more from this address not logged since its last line)"
    )


def test_audit_lines_survive_a_flood_that_rotates_the_main_log_away(
    daemons: DaemonLauncher, tmp_path: Path, restore_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "LOG_FILE_MAX_BYTES", 20_000)
    configure_logging(level="INFO", data_dir=tmp_path / "logged", console=False)
    daemon = daemons.start(auth_token="tok-audit-1")
    refused = httpx.get(f"{daemon.http_url}/api/v1/jobs/any-id", headers={"Authorization": "Bearer guess"})
    assert refused.status_code == 401
    log_dir = tmp_path / "logged" / "logs"
    audit_line = "AUDIT: auth token refused path=/api/v1/jobs/any-id address=127.0.0.1"
    assert any(line.endswith(audit_line) for line in log_lines(log_dir))

    flood = logging.getLogger("ticket_daemon.flood")
    for n in range(2_000):  # ~200 KB: the main log and its 5 backups turn over twice
        flood.warning("line %04d of a flood %s", n, "x" * 60)

    assert not any(line.endswith(audit_line) for line in log_lines(log_dir))
    audit = log_lines(log_dir, "audit.log")
    assert [line for line in audit if line.endswith(audit_line)]
    assert all(" AUDIT: " in line for line in audit)
