"""WebSocket protocol v1 (docs/protocol.md) as a POS client sees it: the whole conversation, with the exact texts
existing clients match on, against a real daemon on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
import re

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from server.harness import DaemonLauncher, PrinterFarm, WsClient, receipt, refused_port, ticket

PRINT_COMPLETED = re.compile(r"^Print completed in \d+ms$")


def test_a_ticket_is_acknowledged_then_printed_and_reported(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    client = running.connect()

    ack, result = client.print_job(ticket("pos1-001", "GRACIAS POR SU COMPRA"))

    assert ack == {
        "tipo": "ack",
        "id": "pos1-001",
        "status": "queued",
        "current": 1,
        "capacity": 100,
        "mensaje": "Job queued for printing",
    }
    assert result["tipo"] == "result" and result["id"] == "pos1-001" and result["status"] == "success"
    assert PRINT_COMPLETED.match(result["mensaje"]), result["mensaje"]
    # With no printer configured, the built-in virtual printer printed it.
    [printed] = running.virtual_jobs("default")
    assert b"GRACIAS POR SU COMPRA" in printed


def test_the_server_greets_a_new_connection(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    client = WsClient(running.ws_url())
    greeting = client.recv()
    assert greeting["tipo"] == "info" and greeting["status"] == "connected" and greeting["mensaje"]
    client.close()


def test_a_ticket_without_id_gets_a_server_made_uuid(daemons: DaemonLauncher) -> None:
    client = daemons.start().connect()
    ack, result = client.print_job(ticket(None))
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", ack["id"])
    assert result["id"] == ack["id"]


@pytest.mark.parametrize("message", [{"tipo": "ticket", "id": "t1"}, {"tipo": "ticket", "id": "t1", "datos": None}])
def test_a_ticket_without_datos_is_refused_with_the_exact_text(
    daemons: DaemonLauncher, message: dict[str, object]
) -> None:
    client = daemons.start().connect()
    assert client.request(message) == {
        "tipo": "error",
        "id": "t1",
        "status": "error",
        "mensaje": "Field 'datos' is required for type 'ticket'",
    }


def test_datos_of_the_wrong_type_is_a_validation_error(daemons: DaemonLauncher) -> None:
    client = daemons.start().connect()
    reply = client.request({"tipo": "ticket", "id": "t2", "datos": "not a document"})
    assert reply["tipo"] == "error" and reply["id"] == "t2"
    assert reply["mensaje"].startswith("VALIDATION: ")


def test_an_invalid_document_is_refused_before_it_is_queued(daemons: DaemonLauncher) -> None:
    running = daemons.start(documents="strict")
    client = running.connect()
    document = receipt("x")
    document["commands"].append({"type": "teleport", "data": {}})

    reply = client.request({"tipo": "ticket", "id": "bad-1", "datos": document})

    assert reply == {
        "tipo": "error",
        "id": "bad-1",
        "status": "error",
        "mensaje": "COMMAND: Unknown command type 'teleport' at command 2",
    }
    assert client.request({"tipo": "status"})["current"] == 0
    assert running.virtual_jobs("default") == []


def test_a_lenient_daemon_prints_an_unknown_command_and_names_the_skip_in_the_result(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    client = running.connect()
    document = receipt("x")
    document["commands"].append({"type": "teleport", "data": {}})

    _, result = client.print_job({"tipo": "ticket", "id": "odd-1", "datos": document})
    assert result["tipo"] == "result" and result["status"] == "success"
    assert result["mensaje"].startswith("Print completed in ")
    assert "COMMAND: Unknown command type 'teleport' at command 2" in result["mensaje"]
    assert len(running.virtual_jobs("default")) == 1


def test_an_unknown_message_type_is_named_in_the_error(daemons: DaemonLauncher) -> None:
    client = daemons.start().connect()
    assert client.request({"tipo": "fax"}) == {
        "tipo": "error",
        "status": "error",
        "mensaje": "Unknown message type:  fax",  # two spaces, as the original sends it
    }


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ("{not json", "JSON: Invalid JSON at line 1 column 2"),
        ("[1, 2]", "JSON: a message must be a JSON object, got a list"),
        ('"ticket"', "JSON: a message must be a JSON object, got a string"),
        ('{"datos": {}}', "JSON: field 'tipo' is required and must be a string"),
        ('{"tipo": 7}', "JSON: field 'tipo' is required and must be a string"),
        (b"\x00\x01binary", "JSON: binary frames are not accepted"),
    ],
)
def test_a_frame_that_is_not_a_message_gets_a_json_error_and_the_connection_stays_open(
    daemons: DaemonLauncher, frame: str | bytes, expected: str
) -> None:
    client = daemons.start().connect()
    reply = client.request(frame)
    assert reply["tipo"] == "error" and reply["status"] == "error"
    assert reply["mensaje"].startswith(expected), reply["mensaje"]
    assert client.request({"tipo": "ping", "id": "still-here"}) == {"tipo": "pong", "id": "still-here", "status": "ok"}


def test_ping_status_and_printers(daemons: DaemonLauncher) -> None:
    running = daemons.start(
        printers=[
            {"name": "caja", "uri": "virtual://caja", "default": True},
            {"name": "cocina", "uri": "virtual://cocina", "aliases": ["kitchen"]},
        ]
    )
    client = running.connect()

    assert client.request({"tipo": "ping", "id": "ping-1"}) == {"tipo": "pong", "id": "ping-1", "status": "ok"}
    assert client.request({"tipo": "ping"}) == {"tipo": "pong", "status": "ok"}
    assert client.request({"tipo": "status"}) == {
        "tipo": "status",
        "status": "ok",
        "current": 0,
        "capacity": 100,
        "mensaje": "Queue: 0/100",
    }
    printers = client.request({"tipo": "get_printers"})
    assert printers["tipo"] == "printers" and printers["status"] == "ok"
    assert [(p["name"], p["status"], p["is_default"], p["is_virtual"]) for p in printers["printers"]] == [
        ("caja", "ready", True, True),
        ("cocina", "ready", False, True),
    ]
    assert printers["summary"]["detected_count"] == 2 and printers["summary"]["default_name"] == "caja"


def test_get_printers_reports_an_unreachable_printer_as_offline_without_stalling(daemons: DaemonLauncher) -> None:
    running = daemons.start(printers=[{"name": "dead", "uri": f"tcp://127.0.0.1:{refused_port()}"}])
    printers = running.connect().request({"tipo": "get_printers"})
    assert printers["printers"][0]["status"] == "offline"
    assert printers["summary"] == {"status": "ok", "detected_count": 1, "thermal_count": 1, "default_name": "dead"}


def test_job_status_follows_a_job_to_its_end(daemons: DaemonLauncher) -> None:
    client = daemons.start().connect()
    client.print_job(ticket("js-1"))

    job = client.request({"tipo": "job_status", "id": "js-1"})
    assert job["tipo"] == "job" and job["id"] == "js-1" and job["status"] == "success"
    assert job["printer"] == "default" and PRINT_COMPLETED.match(job["mensaje"])

    missing = client.request({"tipo": "job_status", "id": "nope"})
    assert missing == {"tipo": "error", "id": "nope", "status": "error", "mensaje": "VALIDATION: Job not found: nope"}


def test_a_resent_id_of_a_client_that_names_itself_is_never_printed_twice(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    client = running.connect("till-1")  # an anonymous client's resend prints again (test_anonymous_ids.py)
    client.print_job(ticket("once", "ONLY ONCE"))

    duplicate = client.request(ticket("once", "ONLY ONCE"))
    again = client.recv()

    assert duplicate["tipo"] == "ack" and duplicate["status"] == "duplicate" and duplicate["id"] == "once"
    assert duplicate["job_status"] == "success"
    assert again["tipo"] == "result" and again["id"] == "once" and again["status"] == "success"
    assert len(running.virtual_jobs("default")) == 1


def test_preview_draws_the_receipt_as_png(daemons: DaemonLauncher) -> None:
    client = daemons.start().connect()
    reply = client.request({"tipo": "preview", "id": "pv", "datos": receipt("PREVIEW ME")})
    assert reply["tipo"] == "preview" and reply["status"] == "ok" and reply["id"] == "pv"
    assert reply["width"] == 576 and reply["height"] > 0
    assert base64.b64decode(reply["image"]).startswith(b"\x89PNG\r\n\x1a\n")

    bad = client.request({"tipo": "preview", "datos": {"version": "1.0"}})
    assert bad["tipo"] == "error" and bad["mensaje"] == "VALIDATION: field 'profile' is required"


def test_with_an_auth_token_only_tickets_carrying_it_are_accepted(
    daemons: DaemonLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    client = daemons.start(auth_token="s3cret-token").connect()
    caplog.set_level(logging.WARNING, logger="ticket_daemon.audit")

    missing = client.request(ticket("a1"))
    wrong = client.request(ticket("a2", auth_token="guess"))
    ack, result = client.print_job(ticket("a3", auth_token="s3cret-token"))

    refusal = {"tipo": "error", "status": "error", "mensaje": "Invalid or missing auth token"}
    assert missing == {**refusal, "id": "a1"} and wrong == {**refusal, "id": "a2"}
    assert ack["status"] == "queued" and result["status"] == "success"
    audit_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("AUDIT: auth failure")]
    assert len(audit_lines) == 2
    assert all("guess" not in line and "s3cret" not in line for line in audit_lines)


def test_pages_from_other_sites_cannot_open_the_socket(
    daemons: DaemonLauncher, caplog: pytest.LogCaptureFixture
) -> None:
    running = daemons.start(allowed_origins=["https://pos.example.com"])
    caplog.set_level(logging.WARNING, logger="ticket_daemon.audit")

    # Refused at the handshake (docs/protocol.md "Who may connect"), not accepted then closed.
    with pytest.raises(InvalidStatus) as refused:
        WsClient(running.ws_url(), origin="https://evil.example")
    assert refused.value.response.status_code == 403
    assert any("origin refused" in r.getMessage() and "evil.example" in r.getMessage() for r in caplog.records)

    for origin in (None, "http://localhost:3000", "http://127.0.0.1:8080", "https://pos.example.com"):
        client = WsClient(running.ws_url(), origin=origin)
        assert client.recv()["tipo"] == "info", origin
        client.close()


def test_allowed_origins_star_lets_every_site_in(daemons: DaemonLauncher) -> None:
    running = daemons.start(allowed_origins=["*"])
    client = WsClient(running.ws_url(), origin="https://anywhere.example")
    assert client.recv()["tipo"] == "info"
    client.close()


def test_health_reports_queue_workers_printers_and_build(daemons: DaemonLauncher, printer_farm: PrinterFarm) -> None:
    uri, _ = printer_farm.start("front")
    running = daemons.start(printers=[{"name": "front", "uri": uri}], env="prod")
    running.connect().print_job(ticket("h1"))

    response = httpx.get(f"{running.http_url}/health", timeout=10)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    health = response.json()
    assert health["status"] == "ok"
    assert health["queue"] == {"current": 0, "capacity": 100, "utilization": 0.0}
    assert health["worker"] == {"running": True, "jobs_processed": 1, "jobs_failed": 0}
    assert health["printers"]["status"] == "ok" and health["printers"]["thermal_count"] == 1
    assert health["build"]["env"] == "prod" and {"date", "time"} <= health["build"].keys()
    assert isinstance(health["uptime_seconds"], int)


def test_health_out_of_the_box_is_ok_and_shows_no_physical_printer(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    health = httpx.get(f"{running.http_url}/health", timeout=10).json()
    assert health["status"] == "ok" and health["printers"]["status"] == "ok"
    assert health["printers"]["thermal_count"] == 0 and health["printers"]["default_name"] == "default"


def test_http_preview_and_printers(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    with httpx.Client(base_url=running.http_url, timeout=10) as http:
        png = http.post("/api/v1/preview", json=receipt("HTTP PREVIEW"))
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG") and png.headers["x-image-width"] == "576"

        bad = http.post("/api/v1/preview", json={"version": "1.0", "profile": {"model": "x"}, "commands": []})
        assert bad.status_code == 400
        assert bad.json() == {
            "status": "error",
            "mensaje": "VALIDATION: field 'commands' must hold at least one command",
        }

        foreign = http.post("/api/v1/preview", json=receipt("x"), headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403

        printers = http.get("/api/v1/printers").json()
        assert printers["printers"][0]["name"] == "default" and printers["summary"]["default_name"] == "default"


def test_printer_is_chosen_by_name_then_by_model_then_default(daemons: DaemonLauncher) -> None:
    running = daemons.start(
        printers=[
            {"name": "caja", "uri": "virtual://caja"},
            {"name": "cocina", "uri": "virtual://cocina", "aliases": ["58mm PT-210"]},
        ]
    )
    client = running.connect()

    client.print_job(ticket("by-name", "FOR THE KITCHEN", printer="cocina"))
    client.print_job({"tipo": "ticket", "id": "by-model", "datos": receipt("PT-210 MODEL", model="58mm PT-210")})
    client.print_job(ticket("by-default", "FIRST IS DEFAULT"))
    unknown = client.request(ticket("nowhere", printer="garage"))

    kitchen, till = running.virtual_jobs("cocina"), running.virtual_jobs("caja")
    assert [b"FOR THE KITCHEN" in job for job in kitchen] == [True, False]
    assert b"PT-210 MODEL" in kitchen[1]
    assert len(till) == 1 and b"FIRST IS DEFAULT" in till[0]
    assert unknown["tipo"] == "error" and unknown["id"] == "nowhere"
    assert unknown["mensaje"].startswith("PRINTER: Unknown printer 'garage'")


def test_results_go_to_the_connection_that_sent_the_job(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    sender, bystander = running.connect(), running.connect()
    sender.print_job(ticket("mine"))
    assert bystander.request({"tipo": "ping", "id": "b"}) == {"tipo": "pong", "id": "b", "status": "ok"}
