"""Who may collect a job's result, and how much a connection may leave unread: a ``?client_id`` alone proves
nothing, and a client that never reads is cut off by bytes as well as by message count. Real daemon on 127.0.0.1."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from server.harness import DaemonLauncher, WsClient, receipt, refused_port, unread_flood, wait_until

TOKEN = "s3cret"
# The printer never answers and a job gives up waiting at once: its result is stored, owed to its client.
EXPIRES_AT_ONCE = {"retry_initial_seconds": 0.05, "retry_max_seconds": 0.05, "job_ttl_seconds": 0.2}


def dead_printer() -> list[dict[str, object]]:
    return [{"name": "kitchen", "uri": f"tcp://127.0.0.1:{refused_port()}", "default": True}]


def post_and_wait_for_expiry(url: str, job_id: str, query: str = "", **extra: object) -> None:
    posted = httpx.post(f"{url}/api/v1/jobs{query}", json={"id": job_id, "datos": receipt("SECRET"), **extra})
    assert posted.status_code == 202, posted.text
    # job_status reveals jobs: with a token configured it needs it too.
    headers = {"Authorization": f"Bearer {extra['auth_token']}"} if "auth_token" in extra else {}
    wait_until(
        lambda: httpx.get(f"{url}/api/v1/jobs/{job_id}{query}", headers=headers).json()["status"] == "expired",
        "the job to expire",
    )


def first_message_after_connecting(url: str) -> dict[str, object]:
    """What a client connecting to ``url`` is sent before the answer to its first ping."""
    client = WsClient(url)
    try:
        assert client.recv()["tipo"] == "info"
        client.send({"tipo": "ping", "id": "p"})
        return client.recv()
    finally:
        client.close()


def test_a_client_id_alone_does_not_collect_results_when_a_token_is_configured(daemons: DaemonLauncher) -> None:
    running = daemons.start(dead_printer(), spool=EXPIRES_AT_ONCE, auth_token=TOKEN)
    post_and_wait_for_expiry(running.http_url, "owed-1", "?client_id=shop", auth_token=TOKEN)

    impostor = first_message_after_connecting(f"{running.ws_url('shop')}")
    assert impostor["tipo"] == "pong"

    owner = first_message_after_connecting(f"{running.ws_url('shop')}&auth_token={TOKEN}")
    assert (owner["tipo"], owner["id"]) == ("result", "owed-1")


def test_a_client_proving_the_token_in_a_ticket_then_collects_its_results(daemons: DaemonLauncher) -> None:
    running = daemons.start(dead_printer(), spool=EXPIRES_AT_ONCE, auth_token=TOKEN)
    post_and_wait_for_expiry(running.http_url, "owed-2", "?client_id=shop", auth_token=TOKEN)

    client = running.connect("shop")
    client.send({"tipo": "ticket", "id": "new-2", "datos": receipt("NEW"), "auth_token": TOKEN})
    ack = client.recv()
    assert (ack["tipo"], ack["id"]) == ("ack", "new-2")
    client.send({"tipo": "ping", "id": "end"})
    later = [client.recv()]
    while later[-1]["tipo"] != "pong" and len(later) < 10:  # new-2's own notices may come in between
        later.append(client.recv())
    assert any((m["tipo"], m.get("id")) == ("result", "owed-2") for m in later)


def test_anonymous_jobs_cannot_be_collected_by_naming_the_address(daemons: DaemonLauncher) -> None:
    running = daemons.start(dead_printer(), spool=EXPIRES_AT_ONCE)
    post_and_wait_for_expiry(running.http_url, "anon-1")

    assert first_message_after_connecting(running.ws_url("127.0.0.1"))["tipo"] == "pong"
    assert first_message_after_connecting(running.ws_url("addr:127.0.0.1"))["tipo"] == "pong"
    assert first_message_after_connecting(running.ws_url("addr/127.0.0.1"))["tipo"] == "pong"


def test_a_client_that_never_reads_big_replies_is_cut_off_by_bytes(
    daemons: DaemonLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ticket_daemon.server.websocket")
    running = daemons.start(
        outbound_queue_messages=100_000,  # the count alone would let ~12 MB pile up
        outbound_queue_bytes=256 * 1024,
        messages_per_second=10_000,
        message_burst=10_000,
    )
    big_ping = json.dumps({"tipo": "ping", "id": "x" * 60_000})
    with unread_flood(running.port, big_ping):  # ~12 MB of pongs nobody reads
        other = running.connect()
        wait_until(lambda: len(running.daemon.connections) == 1, "the stubborn client to be disconnected")
        assert other.request({"tipo": "ping", "id": "p"})["tipo"] == "pong"
        assert any("is not reading its replies" in r.getMessage() for r in caplog.records)
