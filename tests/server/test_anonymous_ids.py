"""docs/protocol.md "Idempotent ids", for clients that never name themselves (every client written for the
original daemon), over real WebSocket connections to a daemon on 127.0.0.1: every ticket prints, even under an id
that the connection or another tab on the same machine used before; ``job_status`` and results refer to the newest
job of that id from that connection; a result only goes to the connection that sent the job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from server.harness import DaemonLauncher, PrinterFarm, RunningDaemon, ticket, wait_until


def printed_with(jobs: list[bytes], text: bytes) -> int:
    return sum(text in job for job in jobs)


def test_two_anonymous_tabs_on_one_machine_print_two_documents_under_one_id(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    tab_a, tab_b = running.connect(), running.connect()  # both from 127.0.0.1, neither names itself

    ack_a, result_a = tab_a.print_job(ticket("1", "FROM TAB A"))
    ack_b, result_b = tab_b.print_job(ticket("1", "FROM TAB B"))

    assert (ack_a["id"], ack_a["status"]) == ("1", "queued")
    assert (ack_b["id"], ack_b["status"]) == ("1", "queued")  # never "duplicate", never an id conflict
    assert (result_a["id"], result_a["status"]) == ("1", "success")
    assert (result_b["id"], result_b["status"]) == ("1", "success")
    wait_until(lambda: len(running.virtual_jobs("default")) == 2, "both receipts to print")
    printed = running.virtual_jobs("default")
    assert (printed_with(printed, b"FROM TAB A"), printed_with(printed, b"FROM TAB B")) == (1, 1)


def test_an_anonymous_connection_that_sends_an_id_again_prints_it_again(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    till = running.connect()

    for _ in range(2):
        ack, result = till.print_job(ticket("order-7", "SAME RECEIPT"))
        assert (ack["tipo"], ack["id"], ack["status"]) == ("ack", "order-7", "queued")
        assert (result["id"], result["status"]) == ("order-7", "success")
        assert not str(result["mensaje"]).endswith("(duplicate id: not printed again)")

    wait_until(lambda: len(running.virtual_jobs("default")) == 2, "the receipt to print twice")
    assert printed_with(running.virtual_jobs("default"), b"SAME RECEIPT") == 2


def test_job_status_of_an_anonymous_connection_names_its_own_newest_job_of_that_id(
    daemons: DaemonLauncher, printer_farm: PrinterFarm, tmp_path: Path
) -> None:
    status_file = tmp_path / "status"
    status_file.write_text("paper_out")
    kitchen, _ = printer_farm.start("kitchen", status_file=status_file)
    bar, _ = printer_farm.start("bar", status_file=status_file)
    printers: list[dict[str, Any]] = [
        {"name": "counter", "uri": "virtual://counter", "default": True},
        {"name": "kitchen", "uri": kitchen},
        {"name": "bar", "uri": bar},
    ]
    running = daemons.start(printers=printers, spool={"retry_initial_seconds": 60, "retry_max_seconds": 60})
    tab_a, tab_b = running.connect(), running.connect()
    assert tab_a.request(ticket("7", "A FIRST", printer="kitchen"))["status"] == "queued"
    assert tab_a.recv()["status"] == "waiting"  # for paper
    assert [m["status"] for m in tab_a.print_job(ticket("7", "A SECOND"))] == ["queued", "success"]
    assert tab_b.request(ticket("7", "B LATER", printer="bar"))["status"] == "queued"
    assert tab_b.recv()["status"] == "waiting"

    # A's newest job with id 7 printed; B's (newer, on the same machine) waits for paper: each tab sees its own.
    status_a = tab_a.request({"tipo": "job_status", "id": "7"})
    assert (status_a["tipo"], status_a["id"], status_a["status"]) == ("job", "7", "success")
    assert status_a["printer"] == "counter"
    status_b = tab_b.request({"tipo": "job_status", "id": "7"})
    assert (status_b["tipo"], status_b["status"], status_b["printer"]) == ("job", "waiting", "bar")
    # A tab that never sent id 7 (a page reloaded) is told about the newest job with it from its machine.
    reloaded = running.connect().request({"tipo": "job_status", "id": "7"})
    assert (reloaded["tipo"], reloaded["status"], reloaded["printer"]) == ("job", "waiting", "bar")
    assert {str(job["client_id"]) for job in _recent(running) if job["id"] == "7"} == {"addr/127.0.0.1"}


def test_a_result_only_goes_to_the_anonymous_connection_that_sent_the_job(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    sender, other_tab = running.connect(), running.connect()
    sender.print_job(ticket("42", "ONLY FOR THE SENDER"))
    sender.print_job(ticket("42", "ONLY FOR THE SENDER"))

    pong = other_tab.request({"tipo": "ping", "id": "nothing-else"})
    assert pong["tipo"] == "pong"  # the first message the other tab gets: no result of the sender's jobs


def test_a_named_clients_resend_within_the_window_is_still_a_duplicate(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    till = running.connect("till-9")
    _, first = till.print_job(ticket("n-1", "ONCE"))
    again = till.request(ticket("n-1", "ONCE"))
    assert (again["tipo"], again["status"]) == ("ack", "duplicate")
    assert till.recv()["mensaje"] == str(first["mensaje"]) + " (duplicate id: not printed again)"
    assert till.request({"tipo": "ping", "id": "settle"})["tipo"] == "pong"
    assert len(running.virtual_jobs("default")) == 1


def test_the_http_mirror_without_a_client_id_prints_every_ticket_and_reports_the_newest(
    daemons: DaemonLauncher,
) -> None:
    running = daemons.start()
    with httpx.Client(base_url=running.http_url, trust_env=False, timeout=10) as http:
        for text in ("FIRST COPY", "SECOND COPY"):
            reply = http.post("/api/v1/jobs", json=ticket("h-1", text))
            assert (reply.status_code, reply.json()["status"]) == (202, "queued")
        wait_until(lambda: len(running.virtual_jobs("default")) == 2, "both receipts to print")
        wait_until(lambda: http.get("/api/v1/jobs/h-1").json()["status"] == "success", "the newest to finish")


def _recent(running: RunningDaemon) -> list[dict[str, object]]:
    with httpx.Client(base_url=running.http_url, trust_env=False, timeout=10) as http:
        jobs = http.get("/api/v1/jobs").json()["jobs"]
    assert isinstance(jobs, list)
    return jobs
