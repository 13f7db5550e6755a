"""Printing through real network printers: one worker per printer, printers in parallel, each in its own order,
clear ``PRINTER:`` results when a printer is down, and a graceful stop. The printers are virtual network printers
(raw TCP, DLE EOT) that save every job they print."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import require_shared, shared_examples
from server.harness import WAIT_S, DaemonLauncher, PrinterFarm, WsClient, printed_jobs, refused_port, ticket, wait_until


def test_two_printers_print_their_own_jobs_in_acceptance_order(
    daemons: DaemonLauncher, printer_farm: PrinterFarm
) -> None:
    front_uri, front_out = printer_farm.start("front")
    back_uri, back_out = printer_farm.start("back")
    running = daemons.start(printers=[{"name": "front", "uri": front_uri}, {"name": "back", "uri": back_uri}])
    client = running.connect()

    for n in range(1, 5):
        for printer in ("front", "back"):
            client.send(ticket(f"{printer}-{n}", f"{printer.upper()} ORDER {n}", printer=printer))
    replies = [client.recv() for _ in range(16)]
    acks = [reply for reply in replies if reply["tipo"] == "ack"]
    results = [reply for reply in replies if reply["tipo"] == "result"]

    assert len(acks) == 8
    assert all(result["status"] == "success" for result in results), results
    wait_until(lambda: len(printed_jobs(front_out)) == 4 and len(printed_jobs(back_out)) == 4, "8 printed jobs")
    for out, label in ((front_out, b"FRONT"), (back_out, b"BACK")):
        order = [int(found.group(1)) for job in printed_jobs(out) if (found := re.search(label + rb" ORDER (\d)", job))]
        assert order == [1, 2, 3, 4]


def test_a_slow_printer_does_not_hold_up_another_printer(daemons: DaemonLauncher, printer_farm: PrinterFarm) -> None:
    slow_uri, _ = printer_farm.start("slow", bytes_per_second=20)
    fast_uri, fast_out = printer_farm.start("fast")
    running = daemons.start(printers=[{"name": "slow", "uri": slow_uri}, {"name": "fast", "uri": fast_uri}])
    client = running.connect()

    client.send(ticket("slow-1", "A LONG RECEIPT " * 20, printer="slow"))
    for n in range(3):
        client.send(ticket(f"fast-{n}", printer="fast"))
    results: list[dict[str, object]] = []
    while len(results) < 3:
        reply = client.recv()
        if reply["tipo"] == "result":
            results.append(reply)

    # The fast printer's jobs all finished while the slow printer was still taking its first job.
    assert [(r["id"], r["status"]) for r in results] == [
        ("fast-0", "success"),
        ("fast-1", "success"),
        ("fast-2", "success"),
    ]
    wait_until(lambda: len(printed_jobs(fast_out)) == 3, "the fast printer to save its 3 jobs")


# The job waits for an unreachable printer no longer than this (job_ttl_seconds), retried every 0.2 s meanwhile.
SHORT_WAIT = {"job_ttl_seconds": 1.0, "retry_initial_seconds": 0.2, "retry_max_seconds": 0.2}


def test_a_printer_that_refuses_connections_gets_a_clear_error_and_others_carry_on(daemons: DaemonLauncher) -> None:
    port = refused_port()
    running = daemons.start(
        printers=[{"name": "dead", "uri": f"tcp://127.0.0.1:{port}"}, {"name": "alive", "uri": "virtual://alive"}],
        spool=SHORT_WAIT,
    )
    client = running.connect()

    assert client.request(ticket("to-dead", printer="dead"))["status"] == "queued"
    waiting = client.recv()
    _, printed = client.print_job(ticket("to-alive", "STILL PRINTING", printer="alive"))
    failed = client.recv()

    assert waiting == {
        "tipo": "job",
        "id": "to-dead",
        "status": "waiting",
        "mensaje": f"PRINTER: Cannot connect to 127.0.0.1:{port}",
    }
    assert printed["status"] == "success"
    assert (failed["tipo"], failed["id"], failed["status"]) == ("result", "to-dead", "error")
    assert failed["mensaje"].startswith("PRINTER: Expired after waiting")
    assert failed["mensaje"].endswith(f"(Cannot connect to 127.0.0.1:{port})")
    assert b"STILL PRINTING" in running.virtual_jobs("alive")[0]
    assert (running.daemon.spool.jobs_processed, running.daemon.spool.jobs_failed) == (1, 1)


def test_a_printer_out_of_paper_says_so_and_prints_nothing(daemons: DaemonLauncher, printer_farm: PrinterFarm) -> None:
    uri, out = printer_farm.start("empty", status="paper_out")
    client = daemons.start(printers=[{"name": "empty", "uri": uri}], spool=SHORT_WAIT).connect()

    _, waiting = client.print_job(ticket("no-paper"))
    result = client.recv()

    assert waiting == {"tipo": "job", "id": "no-paper", "status": "waiting", "mensaje": "PRINTER: Paper out"}
    assert (result["status"], result["mensaje"]) == (
        "error",
        "PRINTER: Expired after waiting 1 s for printer 'empty' (Paper out)",
    )
    assert printed_jobs(out) == []


def test_a_client_that_vanishes_mid_job_still_gets_its_receipt(
    daemons: DaemonLauncher, printer_farm: PrinterFarm
) -> None:
    uri, out = printer_farm.start("slowish", bytes_per_second=200)
    running = daemons.start(printers=[{"name": "slowish", "uri": uri}])
    client = running.connect()
    assert client.request(ticket("orphan", "NOBODY WAITS FOR ME"))["status"] == "queued"
    client.close()

    wait_until(lambda: running.daemon.spool.jobs_processed == 1, "the orphan job to finish", timeout=30)
    wait_until(lambda: len(printed_jobs(out)) == 1, "the orphan job to be saved", timeout=30)
    assert b"NOBODY WAITS FOR ME" in printed_jobs(out)[0]
    assert running.connect().request({"tipo": "ping", "id": "after"})["tipo"] == "pong"


def test_stopping_finishes_the_job_in_progress_then_closes_clients_with_1001(
    daemons: DaemonLauncher, printer_farm: PrinterFarm
) -> None:
    # With the in-memory queue the jobs not started are lost, so their clients are told (the durable spool keeps
    # them: tests/server/test_spool.py).
    uri, _ = printer_farm.start("slow", bytes_per_second=20)
    running = daemons.start(
        printers=[{"name": "slow", "uri": uri}], storage={"spool": "memory"}, shutdown_grace_seconds=15
    )
    client = running.connect()
    assert client.request(ticket("in-progress", "LAST ONE"))["status"] == "queued"
    assert client.request(ticket("not-started"))["status"] == "queued"

    running.request_stop()
    first, second = client.recv(timeout=30), client.recv(timeout=30)
    code = client.close_code(timeout=30)
    running.thread.join(timeout=30)

    assert (first["id"], first["status"]) == ("in-progress", "success")
    assert second == {
        "tipo": "result",
        "id": "not-started",
        "status": "error",
        "mensaje": "EXECUTION: the print service is shutting down, please retry in a few seconds",
    }
    assert code == 1001
    assert not running.thread.is_alive()


@pytest.mark.slow
def test_serve_command_prints_out_of_the_box_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TICKET_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "ticket_daemon", "serve", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        ready: list[str] = []
        stdout = process.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: ready.append(stdout.readline()))
        reader.start()
        reader.join(timeout=30)
        assert ready and ready[0].startswith("ticket-daemon ready: dashboard http://127.0.0.1:"), ready
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", ready[0])
        assert found is not None, ready
        port = int(found.group(1))

        client = WsClient(f"ws://127.0.0.1:{port}/ws")
        assert client.recv()["tipo"] == "info"
        client.send(ticket("from-cli", "OUT OF THE BOX"))
        assert client.recv()["tipo"] == "ack"
        assert client.recv()["status"] == "success"

        process.send_signal(signal.SIGTERM)
        assert client.close_code() == 1001
        assert process.wait(timeout=WAIT_S * 2) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT_S)
    saved = list((data_dir / "virtual" / "default").glob("*.bin"))
    assert len(saved) == 1 and b"OUT OF THE BOX" in saved[0].read_bytes()
    log_file = data_dir / "logs" / "ticket-daemon.log"
    assert "from-cli" in log_file.read_text()


def test_real_pos_documents_print_through_the_daemon(daemons: DaemonLauncher) -> None:
    require_shared()
    documents = shared_examples("service") + shared_examples("library")
    # Two of them define and run macros (GS : / GS ^) in raw commands, which the default raw_policy "safe" refuses
    # by design (docs/document.md "raw"); everything else prints by default, and with raw_policy = "allow" (the
    # original's behaviour, README) every one prints.
    refused_by_safe = {"kiosk_turns.json", "raw_advanced_test_1.json"}
    assert _print_all(daemons.start(rate_limit_per_minute=0), documents).keys() == refused_by_safe
    assert _print_all(daemons.start(rate_limit_per_minute=0, raw_policy="allow"), documents) == {}


def _print_all(running: Any, documents: list[Path]) -> dict[str, str]:
    """Send every document as a ticket; the ones that did not print, with their message."""
    client = running.connect()
    failures = {}
    for n, path in enumerate(documents):
        ack = client.request({"tipo": "ticket", "id": f"doc-{n}", "datos": json.loads(path.read_text("utf-8"))})
        if ack["tipo"] != "ack":
            failures[path.name] = ack["mensaje"]
            continue
        result = client.recv(timeout=30)
        if result["status"] != "success":
            failures[path.name] = result["mensaje"]
    return failures
