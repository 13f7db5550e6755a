"""Origins an operator can see and allow (docs/protocol.md "Who may connect"): a page from another origin is
refused with HTTP 403 at the handshake, logged once, listed by ``GET /api/v1/origins``, and allowed by an operator
for good."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from server.harness import WAIT_S, DaemonLauncher, RunningDaemon, WsClient
from ticket_daemon.server.origins import MAX_BLOCKED_ORIGINS, OriginRegistry
from ticket_daemon.server.security import OriginPolicy

POS_ORIGIN = "http://pos.lan:5173"


def handshake(daemon: RunningDaemon, origin: str) -> int:
    """The HTTP status of a WebSocket handshake sent with ``Origin: origin`` (101 when accepted)."""
    try:
        with connect(daemon.ws_url(), open_timeout=WAIT_S, proxy=None, additional_headers={"Origin": origin}) as ws:
            greeting = json.loads(ws.recv(timeout=WAIT_S))
            assert greeting["tipo"] == "info"
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


def origins(daemon: RunningDaemon, **headers: str) -> httpx.Response:
    return httpx.get(f"{daemon.http_url}/api/v1/origins", headers=headers, timeout=WAIT_S)


def blocked_entry(listing: dict[str, Any], origin: str) -> dict[str, Any]:
    return next(entry for entry in listing["blocked"] if entry["origin"] == origin)


def test_file_page_and_foreign_origin_are_refused_with_403_and_listed(
    daemons: DaemonLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    daemon = daemons.start()
    assert handshake(daemon, "null") == 403  # a page opened as a file
    for _ in range(3):
        assert handshake(daemon, POS_ORIGIN) == 403
    assert handshake(daemon, f"http://127.0.0.1:{daemon.port}") == 101  # the dashboard's own origin still works

    listing = origins(daemon).json()
    assert blocked_entry(listing, "null")["attempts"] == 1
    pos = blocked_entry(listing, POS_ORIGIN)
    assert pos["attempts"] == 3
    assert pos["last_seen"].startswith("20")
    assert listing["allowed"] == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and POS_ORIGIN in r.getMessage()]
    assert len(warnings) == 1, warnings  # once per origin, not once per reconnect
    assert "server.allowed_origins" in warnings[0]


def test_an_allowed_origin_connects_and_survives_a_restart(daemons: DaemonLauncher) -> None:
    daemon = daemons.start()
    assert handshake(daemon, POS_ORIGIN) == 403
    allowed = httpx.post(f"{daemon.http_url}/api/v1/origins", json={"origin": POS_ORIGIN + "/"}, timeout=WAIT_S)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["allowed"] == [POS_ORIGIN]
    assert allowed.json()["blocked"] == []
    assert handshake(daemon, POS_ORIGIN) == 101
    saved = json.loads((daemon.data_dir / "allowed_origins.json").read_text("utf-8"))
    assert saved == {"allowed": [POS_ORIGIN]}
    daemon.stop()

    again = daemons.start(storage={"data_dir": daemon.data_dir}, allowed_origins=["https://shop.example"])
    assert handshake(again, POS_ORIGIN) == 101
    assert origins(again).json()["allowed"] == sorted(["https://shop.example", POS_ORIGIN])

    removed = httpx.delete(f"{again.http_url}/api/v1/origins", params={"origin": POS_ORIGIN}, timeout=WAIT_S)
    assert removed.status_code == 200, removed.text
    assert handshake(again, POS_ORIGIN) == 403
    configured = httpx.delete(
        f"{again.http_url}/api/v1/origins", params={"origin": "https://shop.example"}, timeout=WAIT_S
    )
    assert configured.status_code == 400
    assert configured.json()["mensaje"].startswith("VALIDATION: origin 'https://shop.example' is set in the config")


def test_only_an_operator_may_allow_an_origin(daemons: DaemonLauncher) -> None:
    daemon = daemons.start()
    # A hostile page cannot allow itself: its POST carries its own Origin.
    hostile = httpx.post(
        f"{daemon.http_url}/api/v1/origins",
        json={"origin": "http://evil.example"},
        headers={"Origin": "http://evil.example"},
        timeout=WAIT_S,
    )
    assert hostile.status_code == 403
    assert origins(daemon).json()["allowed"] == []
    # Not an origin: refused with a category.
    for bad in ("http://pos.lan/path", "ftp://pos.lan", "", 42):
        reply = httpx.post(f"{daemon.http_url}/api/v1/origins", json={"origin": bad}, timeout=WAIT_S)
        assert reply.status_code == 400, (bad, reply.text)
        assert reply.json()["mensaje"].startswith("VALIDATION: ")


def test_allowed_origin_pages_can_print(daemons: DaemonLauncher) -> None:
    daemon = daemons.start(allowed_origins=[POS_ORIGIN])
    client = WsClient(daemon.ws_url(), origin=POS_ORIGIN)
    daemon.clients.append(client)
    assert client.recv()["tipo"] == "info"
    assert client.request({"tipo": "ping", "id": "p"})["tipo"] == "pong"


def test_refused_origins_are_counted_with_the_injected_clock_and_bounded(tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    registry = OriginRegistry(OriginPolicy([]), tmp_path, clock=lambda: now[0])
    registry.refused("HTTP://POS.LAN:5173/")
    now[0] += 60
    registry.refused("http://pos.lan:5173")
    entry = registry.snapshot()["blocked"][0]
    assert entry == {"origin": POS_ORIGIN, "attempts": 2, "last_seen": "2023-11-14T22:14:20+00:00"}
    for n in range(MAX_BLOCKED_ORIGINS + 50):
        registry.refused(f"http://site{n}.example")
    listed = registry.snapshot()["blocked"]
    assert len(listed) == MAX_BLOCKED_ORIGINS
    assert listed[0]["origin"] == f"http://site{MAX_BLOCKED_ORIGINS + 49}.example"  # most recent first


def test_a_damaged_origins_file_leaves_the_configured_origins(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "allowed_origins.json").write_text("{not json", encoding="utf-8")
    registry = OriginRegistry(OriginPolicy(["https://shop.example"]), tmp_path)
    registry.load()
    assert registry.snapshot()["allowed"] == ["https://shop.example"]
    assert any(record.getMessage().startswith("STORAGE: ") for record in caplog.records)
    registry.allow("http://pos.lan:5173")  # replaces the damaged file atomically, with no temp file left behind
    assert json.loads((tmp_path / "allowed_origins.json").read_text("utf-8")) == {"allowed": [POS_ORIGIN]}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["allowed_origins.json"]
