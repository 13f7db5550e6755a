"""Odd JSON over a real socket: lone surrogates, huge numbers, NaN, deep nesting. Every reply is strict JSON (what
a browser's JSON.parse accepts), every error carries a category, and the connection keeps answering."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from server.harness import WAIT_S, DaemonLauncher, RunningDaemon, WsClient, ticket
from ticket_daemon.server.websocket import ClientConnection

CATEGORIES = ("VALIDATION", "JSON", "COMMAND", "TEXT", "IMAGE", "BARCODE", "QR", "TABLE", "RAW", "PRINTER", "EXECUTION")
CATEGORISED = re.compile(rf"^({'|'.join(CATEGORIES)}): \S")
# docs/protocol.md "Exact texts clients match on": kept word for word for the original's clients.
LEGACY_TEXTS = ("Field 'datos' is required for type 'ticket'", "Unknown message type:  ")
LONE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)


def strict(text: str) -> dict[str, Any]:
    def refuse(token: str) -> NoReturn:
        raise AssertionError(f"the server sent {token}, which is not JSON")

    text.encode("utf-8")  # no lone surrogate: it would not even be valid UTF-8
    value = json.loads(text, parse_constant=refuse)
    assert isinstance(value, dict)
    return value


def check_reply(reply: dict[str, Any]) -> None:
    if reply.get("status") == "error":
        mensaje = reply["mensaje"]
        assert CATEGORISED.match(mensaje) or mensaje.startswith(LEGACY_TEXTS), mensaje


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in __import__("os").environ if name.upper().startswith("TICKET_")]:
            patch.delenv(name)
        launcher = DaemonLauncher(Path(tmp_path_factory.mktemp("fuzz")))
        # Floods and rate limits are other tests' subject: here every frame must be answered.
        yield launcher.start(messages_per_second=100_000, message_burst=1_000_000, rate_limit_per_minute=0)
        launcher.stop_all()


@pytest.fixture(scope="module")
def client(running: RunningDaemon) -> WsClient:
    return running.connect(client_id="fuzzer")


class Counter:
    n = 0


def replies_until_pong(client: WsClient) -> list[dict[str, Any]]:
    """Send a ping after the frame under test; every frame up to its pong must be strict JSON."""
    Counter.n += 1
    marker = f"alive-{Counter.n}"
    client.send({"tipo": "ping", "id": marker})
    replies: list[dict[str, Any]] = []
    for _ in range(50):
        frame = client.ws.recv(timeout=WAIT_S)
        assert isinstance(frame, str), f"a binary frame: {frame!r}"
        reply = strict(frame)
        if reply == {"tipo": "pong", "id": marker, "status": "ok"}:
            return replies
        check_reply(reply)
        replies.append(reply)
    raise AssertionError(f"no pong among {replies}")


texts = (
    st.text(max_size=12)
    | st.text(LONE, min_size=1, max_size=3)
    | st.builds(lambda a, b, c: a + b + c, st.text(max_size=5), LONE, st.text(max_size=5))
)
numbers = st.integers(min_value=65, max_value=6000).map(lambda n: "9" * n) | st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "123456789012345678901234567890", "1.5", "-0"]
)
values = texts.map(lambda text: json.dumps(text)) | numbers | st.integers(1, 3000).map(lambda n: "[" * n + "]" * n)
tipos = st.sampled_from(["ping", "ticket", "job_status", "preview", "status", "fax"]).map(json.dumps) | values


@st.composite
def frames(draw: st.DrawFn) -> str:
    parts = [f'"tipo":{draw(tipos)}', f'"id":{draw(values)}']
    if draw(st.booleans()):
        parts.append(f'"printer":{draw(values)}')
    if draw(st.booleans()):
        datos = json.dumps(ticket(None, "fuzz")["datos"])
        parts.append(f'"datos":{draw(st.sampled_from([datos, "{}"]) | values)}')
    return "{" + ",".join(draw(st.permutations(parts))) + "}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=frames() | st.text(max_size=60))
def test_every_reply_to_odd_json_is_strict_json_with_a_category_and_the_connection_answers(
    client: WsClient, frame: str
) -> None:
    client.send(frame)
    replies_until_pong(client)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ('{"tipo":"ping","id":"\\ud83c"}', "VALIDATION: field 'id' is not valid text (lone UTF-16 surrogate)"),
        ('{"tipo":"ticket","id":"a\\ud83c","datos":{}}', "VALIDATION: field 'id' is not valid text"),
        ('{"tipo":"ticket","id":"ok","printer":"\\udc00","datos":{}}', "VALIDATION: field 'printer' is not valid"),
        ('{"tipo":"\\ud83c"}', "VALIDATION: field 'tipo' is not valid text"),
        ('{"tipo":"ticket","id":' + "7" * 5000 + ',"datos":{}}', "JSON: number too long at line 1 column 23"),
        ('{"tipo":"job_status","id":' + "7" * 5000 + "}", "JSON: number too long"),
        ('{"tipo":"ping","id":NaN}', "JSON: NaN is not a JSON number"),
        ('{"tipo":"ping","id":1e400}', "JSON: number out of range"),
        ('{"tipo":"ping","id":' + "[" * 3000 + "]" * 3000 + "}", "JSON: message is nested too deeply"),
        ('{"tipo":"job_status","id":"never-sent"}', "VALIDATION: Job not found: never-sent"),
        ('{"tipo":"preview"}', "VALIDATION: field 'datos' is required for type 'preview'"),
    ],
)
def test_odd_values_get_a_categorised_error_never_an_internal_one(client: WsClient, frame: str, expected: str) -> None:
    client.send(frame)
    (reply,) = replies_until_pong(client)
    assert reply["tipo"] == "error" and reply["mensaje"].startswith(expected), reply


def test_a_ticket_with_a_cut_emoji_id_does_not_silence_the_connection(running: RunningDaemon) -> None:
    till = running.connect(client_id="till-emoji")
    till.send('{"tipo":"ticket","id":"pedido-\\ud83c","datos":' + json.dumps(ticket(None)["datos"]) + "}")
    assert till.recv()["mensaje"].startswith("VALIDATION: field 'id'")
    ack, result = till.print_job(ticket("pedido-2"))
    assert (ack["id"], result["id"], result["status"]) == ("pedido-2", "pedido-2", "success")


def test_a_sender_that_fails_closes_the_connection_with_1011_and_says_why(
    daemons: DaemonLauncher, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = daemons.start()
    caplog.set_level(logging.ERROR, logger="ticket_daemon.server.websocket")
    till = running.connect(client_id="till-broken")
    (connection,) = [
        c
        for c in running.daemon.connections
        if isinstance(c, ClientConnection) and c.state.identity.client_id == "till-broken"
    ]

    async def failing_send_text(text: str) -> None:
        raise ValueError("an encoder bug")

    monkeypatch.setattr(
        connection.websocket, "send_text", failing_send_text
    )  # a fault in sending, not a leaving client
    till.send({"tipo": "ping", "id": "x"})
    with pytest.raises(ConnectionClosed):
        till.recv()
    assert till.close_code() == 1011
    assert any("sending to client till-broken" in r.getMessage() for r in caplog.records)
    assert running.connect().request({"tipo": "ping", "id": "y"})["tipo"] == "pong"
