"""Misbehaving clients: oversized frames, floods, rate limits, clients that never read, handlers that blow up.
Each one is contained to its own connection (or address); everyone else keeps printing."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from server.harness import DaemonLauncher, WsClient, ticket, unread_flood, wait_until

RATE_LIMITED = "Rate limit exceeded: please wait before submitting more jobs"


def test_a_frame_over_the_size_limit_is_refused_with_1009_and_others_are_unaffected(daemons: DaemonLauncher) -> None:
    running = daemons.start(max_frame_bytes=64 * 1024)
    bystander = running.connect()
    offender = running.connect()

    with pytest.raises(ConnectionClosed):
        offender.send(json.dumps({"tipo": "ping", "id": "x" * 70_000}))
        offender.recv()
    assert offender.close_code() == 1009

    assert bystander.request({"tipo": "ping", "id": "fine"}) == {"tipo": "pong", "id": "fine", "status": "ok"}


def test_a_message_flood_is_refused_then_the_connection_is_closed_with_1008(
    daemons: DaemonLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    running = daemons.start()
    caplog.set_level(logging.WARNING, logger="ticket_daemon.audit")
    bystander = running.connect()
    flooder = running.connect(max_queue=None)

    replies: list[dict[str, object]] = []
    try:
        for n in range(5000):
            flooder.send({"tipo": "ping", "id": str(n)})
    except ConnectionClosed:
        pass
    try:
        while True:
            replies.append(flooder.recv())
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None

    assert code == 1008
    refusals = [reply for reply in replies if reply["tipo"] == "error"]
    assert refusals[0]["mensaje"] == "Too many messages: please slow down"
    # The refusal names the message it refused: the first one after the burst, never answered with a pong.
    refused_id = refusals[0]["id"]
    assert isinstance(refused_id, str) and refused_id.isdigit()
    assert refused_id not in {reply["id"] for reply in replies if reply["tipo"] == "pong"}
    assert sum(reply["tipo"] == "pong" for reply in replies) >= 200  # the burst itself was served
    assert any(r.getMessage().startswith("AUDIT: message flood") for r in caplog.records)
    assert bystander.request({"tipo": "status"})["status"] == "ok"


def test_a_reconnecting_client_gets_a_new_budget_but_not_past_its_address_ceiling(
    daemons: DaemonLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    # docs/protocol.md "Rate limits and floods": per connection, as the original; 10 × the limit per address.
    running = daemons.start(rate_limit_per_minute=3)
    caplog.set_level(logging.WARNING, logger="ticket_daemon.audit")
    till = running.connect(client_id="till-1")
    for n in range(3):
        till.print_job(ticket(f"ok-{n}"))

    assert till.request(ticket("too-many")) == {
        "tipo": "error",
        "id": "too-many",
        "status": "error",
        "mensaje": RATE_LIMITED,
    }
    till.close()
    other_till = running.connect(client_id="till-2")
    assert other_till.request(ticket("other-till"))["tipo"] == "ack"
    assert any("AUDIT: rate limited" in r.getMessage() and "till-1" in r.getMessage() for r in caplog.records)

    # Reconnecting in a loop: each connection gets 3 more, until the address has used its 30 (4 so far).
    accepted = 4
    for attempt in range(20):
        reconnected = running.connect(client_id="till-1")
        for n in range(3):
            reply = reconnected.request(ticket(f"again-{attempt}-{n}"))
            if reply["tipo"] == "ack":
                accepted += 1
                assert reconnected.recv()["tipo"] == "result"
            else:
                assert reply["mensaje"] == RATE_LIMITED
        reconnected.close()
    assert accepted == 30


def test_without_client_id_each_connection_has_its_own_budget(daemons: DaemonLauncher) -> None:
    running = daemons.start(rate_limit_per_minute=2)
    first = running.connect()
    first.print_job(ticket("a"))
    first.print_job(ticket("b"))
    assert first.request(ticket("c"))["mensaje"] == RATE_LIMITED
    first.close()
    second = running.connect()
    second.print_job(ticket("d"))
    second.print_job(ticket("e"))
    assert second.request(ticket("f"))["mensaje"] == RATE_LIMITED


def test_a_client_that_never_reads_does_not_stall_anyone_and_is_disconnected(
    daemons: DaemonLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ticket_daemon.server.websocket")
    running = daemons.start(outbound_queue_messages=8, messages_per_second=10_000, message_burst=10_000)
    big_ping = json.dumps({"tipo": "ping", "id": "x" * 60_000})
    with unread_flood(running.port, big_ping):  # ~12 MB of pongs nobody reads
        other = running.connect()
        wait_until(lambda: len(running.daemon.connections) == 1, "the stubborn client to be disconnected")
        _, result = other.print_job(ticket("meanwhile", "PRINTED ANYWAY"))
        assert result["status"] == "success"
        assert other.request({"tipo": "ping", "id": "p"})["tipo"] == "pong"
        health = httpx.get(f"{running.http_url}/health", timeout=10).json()
        assert health["connections"] == 1
        assert any("is not reading its replies" in r.getMessage() for r in caplog.records)


def test_absurdly_nested_json_is_a_json_error(daemons: DaemonLauncher) -> None:
    client = daemons.start().connect()
    reply = client.request("[" * 200_000)
    assert reply["tipo"] == "error" and reply["mensaje"].startswith("JSON: ")
    assert client.request({"tipo": "ping"})["tipo"] == "pong"


def test_a_handler_that_fails_answers_internal_error_and_the_connection_survives(
    daemons: DaemonLauncher, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken() -> int:
        raise RuntimeError("boom")

    running = daemons.start()
    monkeypatch.setattr(running.daemon.spool, "queue_depth", broken)  # what answering "status" asks the service
    client = running.connect()

    assert client.request({"tipo": "status", "id": "s"}) == {
        "tipo": "error",
        "id": "s",
        "status": "error",
        "mensaje": "EXECUTION: internal error",
    }
    assert client.request({"tipo": "ping"})["tipo"] == "pong"


def test_a_client_sending_only_garbage_cannot_reach_the_printer(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    client = running.connect()
    for frame in ("", "null", "{}", '{"tipo": null}', '{"tipo": "ticket", "datos": []}', "\udcff"):
        try:
            reply = client.request(frame)
        except (ConnectionClosed, UnicodeEncodeError):
            continue
        assert reply["tipo"] == "error"
    assert running.virtual_jobs("default") == []
    newcomer = WsClient(running.ws_url())
    assert newcomer.recv()["tipo"] == "info"
    newcomer.close()
