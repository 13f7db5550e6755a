"""The MQTT front door of one daemon (in this process, uvicorn in a thread) against a real Mosquitto."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mqtt.broker import Cloud, Mosquitto, free_port, wait_for
from server.harness import RunningDaemon, receipt, ticket
from ticket_daemon.config import load_settings

SITE = "store1"
PASSWORD = "s3cret-broker-pass"


@pytest.fixture(autouse=True)
def _no_ticket_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("TICKET_"):
            monkeypatch.delenv(name)


def start_daemon(root: Path, mqtt: dict[str, Any], **server: Any) -> RunningDaemon:
    settings = load_settings(
        None,
        {
            "server": {"host": "127.0.0.1", "port": 0, "shutdown_grace_seconds": 2.0, "rate_limit_per_minute": 0,
                       **server},
            "storage": {"data_dir": root / "data"},
            "printers": [{"name": "front", "uri": "virtual://front", "default": True}],
            "mqtt": {"site": SITE, **mqtt},
        },
    )  # fmt: skip
    return RunningDaemon(settings)


@pytest.fixture
def running(tmp_path: Path, broker: Mosquitto) -> Iterator[RunningDaemon]:
    daemon = start_daemon(tmp_path, {"url": broker.url})
    try:
        yield daemon
    finally:
        daemon.stop()


def health(daemon: RunningDaemon) -> dict[str, Any]:
    body = httpx.get(f"{daemon.http_url}/health", timeout=5).json()
    assert isinstance(body, dict)
    return body


def test_job_from_the_cloud_is_acked_printed_and_answered_on_replies(running: RunningDaemon, cloud: Cloud) -> None:
    wait_for(lambda: (cloud.status_of(SITE) or {}).get("status") == "online", "the site to say it is online")
    status = cloud.status_of(SITE)
    assert status["printers"] == {"front": "ready"} and status["version"]
    assert cloud.retained["ticket-daemon/store1/printers/front"]["name"] == "front"
    assert health(running)["mqtt"]["state"] == "connected"

    cloud.publish(SITE, ticket("cloud-1", "from the cloud", printer="front"))
    wait_for(lambda: cloud.replies_of(SITE, "cloud-1", "result"), "the result on P/replies")
    ack, result = cloud.replies_of(SITE, "cloud-1")
    assert ack["tipo"] == "ack" and ack["status"] == "queued"
    assert result["status"] == "success" and result["mensaje"].startswith("Print completed in ")
    assert len(running.virtual_jobs("front")) == 1

    # The same id again (a redelivery): a duplicate, never a second print.
    cloud.publish(SITE, ticket("cloud-1", "from the cloud", printer="front"))
    wait_for(lambda: len(cloud.replies_of(SITE, "cloud-1")) >= 4, "the duplicate's replies")
    assert cloud.replies_of(SITE, "cloud-1")[2]["status"] == "duplicate"
    assert len(running.virtual_jobs("front")) == 1


def test_malformed_jobs_get_an_error_on_replies_and_are_not_redelivered(
    tmp_path: Path, broker: Mosquitto, cloud: Cloud
) -> None:
    daemon = start_daemon(tmp_path, {"url": broker.url})
    try:
        wait_for(lambda: (cloud.status_of(SITE) or {}).get("status") == "online", "online")
        cloud.publish(SITE, b"{not json")
        cloud.publish(SITE, b"[1, 2]")
        cloud.publish(SITE, {"tipo": "ticket", "id": "no-datos"})
        cloud.publish(SITE, {"tipo": "preview", "id": "wrong-type", "datos": receipt("x")})
        cloud.publish(SITE, {"tipo": "ticket", "id": "bad-doc", "datos": {"version": "1.0", "commands": 5}})
        cloud.publish(SITE, ticket("good-after", "still printing"))
        wait_for(lambda: cloud.replies_of(SITE, "good-after", "result"), "the good job's result")
        errors = cloud.replies_of(SITE, tipo="error")
        assert [e.get("id") for e in errors] == [None, None, "no-datos", "wrong-type", "bad-doc"]
        assert errors[0]["mensaje"].startswith("JSON: Invalid JSON at line 1")
        assert errors[1]["mensaje"] == "JSON: a message must be a JSON object, got a list"
        assert errors[2]["mensaje"] == "Field 'datos' is required for type 'ticket'"
        assert errors[3]["mensaje"] == "Unknown message type:  preview"  # two spaces, as the original
        assert errors[4]["mensaje"].startswith("VALIDATION: ")
    finally:
        daemon.stop()
    # Acknowledged: the same persistent session after a restart gets none of them again.
    replies_before = len(cloud.replies_of(SITE))
    daemon = start_daemon(tmp_path, {"url": broker.url})
    try:
        wait_for(lambda: health(daemon)["mqtt"]["state"] == "connected", "the session to resume")
        cloud.publish(SITE, ticket("marker", "after the restart"))
        wait_for(lambda: cloud.replies_of(SITE, "marker", "result"), "the marker's result")
        new = [reply.get("id") for _, reply in cloud.replies[replies_before:]]
        assert set(new) == {"marker"}, new
    finally:
        daemon.stop()


def test_broker_down_never_blocks_local_printing_and_health_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens there
    daemon = start_daemon(tmp_path, {"url": f"mqtt://127.0.0.1:{port}", "username": "shop", "password": PASSWORD})
    try:
        client = daemon.connect("till-1")
        _ack, result = client.print_job(ticket("local-1", "printed locally"))
        assert result["status"] == "success"
        wait_for(lambda: health(daemon)["mqtt"]["state"] == "down", "the link to be reported down")
        link = health(daemon)["mqtt"]
        assert link["broker"] == f"mqtt://127.0.0.1:{port}"
        assert link["last_error"].startswith("EXECUTION: cannot connect to the broker at")
        assert PASSWORD not in json.dumps(health(daemon))
        metrics = httpx.get(f"{daemon.http_url}/metrics", timeout=5).text
        assert 'ticket_daemon_broker_link{state="down"} 1.0' in metrics
    finally:
        daemon.stop()
    assert "cannot connect to the broker" in caplog.text
    assert PASSWORD not in caplog.text


def test_credentials_never_appear_in_logs(
    tmp_path: Path, broker: Mosquitto, cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    daemon = start_daemon(tmp_path, {"url": broker.url, "username": "shop-user", "password": PASSWORD})
    try:
        wait_for(lambda: (cloud.status_of(SITE) or {}).get("status") == "online", "online")
        cloud.publish(SITE, ticket("cred-1", "x"))
        wait_for(lambda: cloud.replies_of(SITE, "cred-1", "result"), "the result")
        assert PASSWORD not in json.dumps(health(daemon))
    finally:
        daemon.stop()
    assert "connected to mqtt://127.0.0.1" in caplog.text
    assert PASSWORD not in caplog.text
    # And a stop says offline (retained), as the last will would.
    wait_for(lambda: (cloud.status_of(SITE) or {}).get("status") == "offline", "offline after the stop")


def test_metrics_expose_every_family_after_a_job(running: RunningDaemon, cloud: Cloud) -> None:
    client = running.connect("till-1")
    client.print_job(ticket("m-1", "counted"))
    client.request(ticket("m-2", "refused", printer="nope"))
    text = httpx.get(f"{running.http_url}/metrics", timeout=5).text
    for line in (
        'ticket_daemon_jobs_accepted_total{printer="front"} 1.0',
        'ticket_daemon_jobs_printed_total{printer="front"} 1.0',
        'ticket_daemon_jobs_refused_total{category="PRINTER"} 1.0',
        "ticket_daemon_render_seconds_count 2.0",
        'ticket_daemon_print_seconds_count{printer="front"} 1.0',
        "ticket_daemon_queue_depth 0.0",
        "ticket_daemon_queue_capacity 100.0",
        "ticket_daemon_spool_jobs 1.0",
        "ticket_daemon_connections 1.0",
        'ticket_daemon_broker_link{state="connected"} 1.0',
    ):
        assert line in text, line
    assert "# TYPE ticket_daemon_jobs_failed_total counter" in text
