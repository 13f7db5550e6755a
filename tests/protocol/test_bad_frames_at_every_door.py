"""One table of bad frames, sent through every door of one real daemon: ``/ws`` and ``POST /api/v1/jobs`` on
127.0.0.1, and ``P/jobs`` through a real Mosquitto. Each door reads with the protocol's one strict reader, so each
row gets the very same categorised answer everywhere, nothing is printed, and nothing is logged with a traceback."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mqtt.broker import MOSQUITTO, Cloud, Mosquitto, wait_for
from server.harness import WAIT_S, RunningDaemon, receipt
from ticket_daemon.config import load_settings

SITE = "shop"
DATOS = json.dumps(receipt("must never print"))


@dataclass(frozen=True)
class BadFrame:
    name: str
    payload: bytes
    answer: str  # the exact ``mensaje`` every door answers with
    with_id: str | None = None  # the id the answer carries, when the frame's id was readable


def ticket_text(**fields: str) -> str:
    """A ``ticket`` whose fields are given as raw JSON text (so they can be what ``json.dumps`` never writes)."""
    body = ",".join(f'"{name}":{value}' for name, value in {"tipo": '"ticket"', **fields, "datos": DATOS}.items())
    return "{" + body + "}"


BAD_FRAMES = [
    BadFrame(
        "NaN in the message",
        ticket_text(id='"nan-1"', copies="NaN").encode(),
        "JSON: NaN is not a JSON number at line 1 column 40",
    ),
    BadFrame(
        "Infinity in the message",
        ticket_text(id='"inf-1"', copies="-Infinity").encode(),
        "JSON: -Infinity is not a JSON number at line 1 column 40",
    ),
    BadFrame(
        "a 5 000-digit id",
        ticket_text(id="9" * 5000).encode(),
        "JSON: number too long at line 1 column 23 (more than 64 digits)",
    ),
    BadFrame(
        "a lone surrogate in the id",
        ticket_text(id='"till-\\ud800"').encode(),
        "VALIDATION: field 'id' is not valid text (lone UTF-16 surrogate)",
    ),
    BadFrame(
        "a lone surrogate in the auth token",
        ticket_text(id='"tok-1"', auth_token='"\\udfff"').encode(),
        "VALIDATION: field 'auth_token' is not valid text (lone UTF-16 surrogate)",
        with_id="tok-1",
    ),
    BadFrame(
        "100 000-deep nesting",
        ('{"tipo":"ticket","datos":' + "[" * 100_000 + "]" * 100_000 + "}").encode(),
        "JSON: message is nested too deeply",
    ),
    BadFrame(
        "invalid UTF-8",
        b'{"tipo":"ticket","id":"utf-1","datos":{"version":"1.0","commands":[]},"note":"caf\xe9"}',
        "JSON: the message is not UTF-8 text (invalid byte at offset 81)",
    ),
    BadFrame("a top-level array", b'[{"tipo":"ticket"}]', "JSON: a message must be a JSON object, got a list"),
]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[RunningDaemon, Cloud]]:
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed (scripts/install-system-deps.sh installs it)")
    for name in list(os.environ):
        if name.upper().startswith("TICKET_"):
            os.environ.pop(name)
    broker = Mosquitto(tmp_path)
    settings = load_settings(
        None,
        {
            "server": {"host": "127.0.0.1", "port": 0, "shutdown_grace_seconds": 2.0, "rate_limit_per_minute": 0},
            "storage": {"data_dir": tmp_path / "data"},
            "printers": [{"name": "front", "uri": "virtual://front", "default": True}],
            "mqtt": {"site": SITE, "url": broker.url},
        },
    )
    running = RunningDaemon(settings)
    cloud = Cloud(broker)
    try:
        wait_for(lambda: (cloud.status_of(SITE) or {}).get("status") == "online", "the site to be online")
        yield running, cloud
    finally:
        cloud.close()
        running.stop()
        broker.stop()


def through_ws(running: RunningDaemon, frame: BadFrame) -> tuple[dict[str, Any], int | None]:
    """The frame as one text frame (bytes sent as they are, even when they are not UTF-8): the reply, and the close
    code when the server closed the connection after it."""
    with connect(f"ws://127.0.0.1:{running.port}/ws", open_timeout=WAIT_S, proxy=None) as ws:
        assert json.loads(ws.recv(timeout=WAIT_S))["tipo"] == "info"
        ws.send(frame.payload, text=True)
        reply = json.loads(ws.recv(timeout=WAIT_S))
        try:
            ws.send('{"tipo":"ping","id":"after"}')
            pong = json.loads(ws.recv(timeout=WAIT_S))
            assert pong == {"tipo": "pong", "status": "ok", "id": "after"}
            return reply, None
        except ConnectionClosed as closed:
            return reply, closed.rcvd.code if closed.rcvd else None


def through_http(running: RunningDaemon, frame: BadFrame) -> dict[str, Any]:
    response = httpx.post(
        f"{running.http_url}/api/v1/jobs",
        content=frame.payload,
        headers={"content-type": "application/json"},
        timeout=WAIT_S,
    )
    assert response.status_code == 400, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body, dict)
    return body


def through_mqtt(cloud: Cloud, frame: BadFrame) -> dict[str, Any]:
    before = len(cloud.replies_of(SITE, tipo="error"))
    cloud.publish(SITE, frame.payload)
    wait_for(lambda: len(cloud.replies_of(SITE, tipo="error")) > before, f"the answer to {frame.name}")
    return cloud.replies_of(SITE, tipo="error")[before]


def test_every_door_answers_each_bad_frame_the_same_way_and_logs_no_traceback(
    daemon: tuple[RunningDaemon, Cloud], caplog: pytest.LogCaptureFixture
) -> None:
    running, cloud = daemon
    caplog.set_level(logging.DEBUG)
    answers: dict[str, dict[str, tuple[str, str | None]]] = {}
    for frame in BAD_FRAMES:
        ws_reply, close_code = through_ws(running, frame)
        http_reply = through_http(running, frame)
        mqtt_reply = through_mqtt(cloud, frame)
        answers[frame.name] = {
            door: (reply["mensaje"], reply.get("id"))
            for door, reply in (("/ws", ws_reply), ("POST /api/v1/jobs", http_reply), ("mqtt P/jobs", mqtt_reply))
        }
        for door, reply in (("/ws", ws_reply), ("POST /api/v1/jobs", http_reply), ("mqtt P/jobs", mqtt_reply)):
            assert reply["tipo"] == "error" and reply["status"] == "error", (frame.name, door, reply)
        # RFC 6455: a text frame that is not UTF-8 fails the connection (1007), after the client was told why.
        assert close_code == (1007 if frame.name == "invalid UTF-8" else None), frame.name

    expected = {frame.name: dict.fromkeys(answers[frame.name], (frame.answer, frame.with_id)) for frame in BAD_FRAMES}
    assert answers == expected
    assert running.virtual_jobs("front") == []
    # What the daemon logged (its own loggers and its server's); the test's own WebSocket client may log at DEBUG,
    # with the exception it met, when the daemon closes a connection under it.
    daemon_records = [record for record in caplog.records if not record.name.startswith("websockets.client")]
    faults = [record for record in daemon_records if record.exc_info or record.levelno >= logging.ERROR]
    assert faults == [], [record.getMessage() for record in faults]
    assert not any("Traceback" in record.getMessage() for record in daemon_records)
