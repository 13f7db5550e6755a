"""The durable spool seen from a POS client: once acked, a job prints exactly once or its client is told why not,
across restarts, printer outages and reconnects (issue "Never lose a ticket, never print it twice")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from blocking_store import BlockingStore
from server.harness import DaemonLauncher, PrinterFarm, WsClient, printed_jobs, receipt, ticket, wait_until
from ticket_daemon.render.job import render_document
from ticket_daemon.store.database import SqliteJobStore
from ticket_daemon.store.jobs import Job, JobState
from ticket_daemon.store.sqlite import SqliteSpool

# Retry an unavailable printer every 0.2 s, so an outage ends promptly after the printer is back.
FAST_RETRY = {"retry_initial_seconds": 0.2, "retry_max_seconds": 0.2}


def texts(jobs: list[bytes]) -> list[str]:
    """The marker line of each printed job (tickets here print one ``JOB-…`` line)."""
    found = []
    for data in jobs:
        start = data.index(b"JOB-")
        found.append(data[start : data.index(b"\n", start)].decode())
    return found


def receive_until(client: WsClient, wanted: int, tipo: str = "result") -> list[dict[str, Any]]:
    """Messages until ``wanted`` of type ``tipo`` arrived (all of them, in order)."""
    seen: list[dict[str, Any]] = []
    while sum(1 for message in seen if message["tipo"] == tipo) < wanted:
        seen.append(client.recv(timeout=30))
    return seen


def test_jobs_not_started_at_shutdown_print_after_the_restart_and_the_client_is_told(
    daemons: DaemonLauncher, printer_farm: PrinterFarm, tmp_path: Path
) -> None:
    uri, out = printer_farm.start("slow", bytes_per_second=20)
    printers = [{"name": "slow", "uri": uri}]
    data_dir = tmp_path / "shop"
    first = daemons.start(printers=printers, storage={"data_dir": data_dir}, shutdown_grace_seconds=15)
    client = first.connect("till-1")
    assert client.request(ticket("in-progress", "JOB-1"))["status"] == "queued"
    assert client.request(ticket("not-started", "JOB-2"))["status"] == "queued"

    first.request_stop()
    done = client.recv(timeout=30)
    assert (done["id"], done["status"]) == ("in-progress", "success")
    assert client.close_code(timeout=30) == 1001
    first.thread.join(timeout=30)

    second = daemons.start(printers=printers, storage={"data_dir": data_dir})
    again = second.connect("till-1")
    result = again.recv(timeout=30)

    assert (result["tipo"], result["id"], result["status"]) == ("result", "not-started", "success")
    wait_until(lambda: len(printed_jobs(out)) == 2, "both jobs to be saved", timeout=30)
    assert texts(printed_jobs(out)) == ["JOB-1", "JOB-2"]


def test_resubmitting_an_id_never_prints_it_again_even_across_a_restart(
    daemons: DaemonLauncher, tmp_path: Path
) -> None:
    storage = {"data_dir": tmp_path / "shop"}
    running = daemons.start(storage=storage)
    client = running.connect("till-1")
    _, first_result = client.print_job(ticket("once", "JOB-once"))
    assert first_result["status"] == "success"

    ack = client.request(ticket("once", "JOB-once"))
    resent = client.recv()
    assert (ack["status"], ack["job_status"]) == ("duplicate", "success")
    # docs/protocol.md "Ids": the result again, saying it was not printed again.
    sent_again = {**first_result, "mensaje": first_result["mensaje"] + " (duplicate id: not printed again)"}
    assert resent == sent_again
    running.stop()

    restarted = daemons.start(storage=storage)
    client = restarted.connect("till-1")
    ack = client.request(ticket("once", "JOB-once"))
    assert (ack["status"], ack["job_status"]) == ("duplicate", "success")
    assert client.recv() == sent_again
    assert len(restarted.virtual_jobs("default")) == 1


def test_a_duplicate_sent_while_the_job_waits_is_acked_as_duplicate_and_printed_once(
    daemons: DaemonLauncher, printer_farm: PrinterFarm, tmp_path: Path
) -> None:
    status_file = tmp_path / "status"
    status_file.write_text("offline")
    uri, out = printer_farm.start("kitchen", status_file=status_file)
    running = daemons.start(printers=[{"name": "kitchen", "uri": uri}], spool=FAST_RETRY)
    client = running.connect("till-1")
    assert client.request(ticket("k-1", "JOB-k1"))["status"] == "queued"
    assert client.recv()["status"] == "waiting"

    ack = client.request(ticket("k-1", "JOB-k1"))
    assert (ack["status"], ack["job_status"]) == ("duplicate", "waiting")
    status_file.write_text("ok")
    result = client.recv(timeout=30)

    assert (result["id"], result["status"]) == ("k-1", "success")
    wait_until(lambda: len(printed_jobs(out)) == 1, "the job to be saved")
    assert texts(printed_jobs(out)) == ["JOB-k1"]


def outage_story(daemons: DaemonLauncher, printer_farm: PrinterFarm, tmp_path: Path, tries: int) -> None:
    """The kitchen printer stays down while the worker tries it ``tries`` times, backing off to once a second."""
    status_file = tmp_path / "kitchen-status"
    status_file.write_text("offline")
    uri, out = printer_farm.start("kitchen", status_file=status_file)
    running = daemons.start(
        printers=[{"name": "kitchen", "uri": uri}, {"name": "bar", "uri": "virtual://bar"}],
        spool={**FAST_RETRY, "retry_max_seconds": 1.0},
    )
    client = running.connect("till-1")
    for n in range(1, 4):
        client.send(ticket(f"k-{n}", f"JOB-k{n}", printer="kitchen"))
    client.send(ticket("b-1", "JOB-b1", printer="bar"))

    # Every ticket is acked; the other printer is unaffected; every kitchen client is told its job waits.
    seen: list[dict[str, Any]] = []
    while len(seen) < 8:
        seen.append(client.recv(timeout=30))
    acks = [m["id"] for m in seen if m["tipo"] == "ack" and m["status"] == "queued"]
    waiting = [m for m in seen if m["tipo"] == "job"]
    assert acks == ["k-1", "k-2", "k-3", "b-1"]
    assert [m["id"] for m in seen if m["tipo"] == "result"] == ["b-1"]
    assert sorted(m["id"] for m in waiting) == ["k-1", "k-2", "k-3"]
    assert {m["status"] for m in waiting} == {"waiting"}
    assert {m["mensaje"] for m in waiting} == {"PRINTER: Printer offline"}
    for n in range(1, 4):  # each waiting notice came after that job's ack
        assert seen.index(next(m for m in seen if m["tipo"] == "ack" and m["id"] == f"k-{n}")) < seen.index(
            next(m for m in waiting if m["id"] == f"k-{n}")
        )
    state = httpx.get(f"{running.http_url}/api/v1/jobs/k-3?client_id=till-1", timeout=10).json()
    assert (state["tipo"], state["status"], state["printer"]) == ("job", "waiting", "kitchen")

    def tries_so_far() -> int:
        job = httpx.get(f"{running.http_url}/api/v1/jobs/k-1?client_id=till-1", timeout=10).json()
        attempts: int = job["attempts"]
        return attempts

    wait_until(lambda: tries_so_far() >= tries, f"{tries} tries at the kitchen printer", timeout=tries * 2.0)
    assert printed_jobs(out) == []
    status_file.write_text("ok")

    results = receive_until(client, 3)
    assert [(m["id"], m["status"]) for m in results if m["tipo"] == "result"] == [
        ("k-1", "success"),
        ("k-2", "success"),
        ("k-3", "success"),
    ]
    wait_until(lambda: len(printed_jobs(out)) == 3, "the kitchen jobs to be saved")
    assert texts(printed_jobs(out)) == ["JOB-k1", "JOB-k2", "JOB-k3"]


def test_a_printer_that_is_down_for_a_while_prints_everything_in_order_when_back(
    daemons: DaemonLauncher, printer_farm: PrinterFarm, tmp_path: Path
) -> None:
    outage_story(daemons, printer_farm, tmp_path, tries=4)  # about 2 s: 0.2 + 0.4 + 0.8 + 1


@pytest.mark.slow
def test_a_printer_that_is_down_for_30_seconds_prints_everything_in_order_when_back(
    daemons: DaemonLauncher, printer_farm: PrinterFarm, tmp_path: Path
) -> None:
    outage_story(daemons, printer_farm, tmp_path, tries=30)  # about 30 s at one try a second


def test_a_client_that_disconnects_before_its_result_gets_it_when_it_reconnects(
    daemons: DaemonLauncher, printer_farm: PrinterFarm
) -> None:
    uri, out = printer_farm.start("slowish", bytes_per_second=200)
    running = daemons.start(printers=[{"name": "slowish", "uri": uri}])
    client = running.connect("till-7")
    assert client.request(ticket("t7-1", "JOB-t7"))["status"] == "queued"
    client.close()
    wait_until(lambda: len(printed_jobs(out)) == 1, "the job to print", timeout=30)

    back = running.connect("till-7")
    result = back.recv()
    assert (result["tipo"], result["id"], result["status"]) == ("result", "t7-1", "success")
    # Delivered once: a later reconnect gets nothing more.
    back.close()
    later = running.connect("till-7")
    assert later.request({"tipo": "ping", "id": "p"})["tipo"] == "pong"


def test_a_spool_that_cannot_be_opened_refuses_tickets_without_ack_and_keeps_serving(
    daemons: DaemonLauncher, tmp_path: Path
) -> None:
    data_dir = tmp_path / "broken"
    data_dir.mkdir()
    (data_dir / "spool.sqlite3").write_bytes(b"this is not a database" * 100)
    running = daemons.start(storage={"data_dir": data_dir})
    client = running.connect()

    reply = client.request(ticket("lost?", "JOB-x"))
    assert (reply["tipo"], reply["status"], reply["id"]) == ("error", "error", "lost?")
    assert reply["mensaje"].startswith("STORAGE: ")
    assert client.request({"tipo": "ping", "id": "still-here"}) == {"tipo": "pong", "status": "ok", "id": "still-here"}
    health = httpx.get(f"{running.http_url}/health", timeout=10).json()
    assert health["status"] == "degraded" and health["spool"]["status"] == "error"
    assert running.virtual_jobs("default") == []


class SpoolOnASmallDisk(SqliteSpool):
    """The real SQLite spool whose file may not grow any more (``PRAGMA max_page_count``): SQLITE_FULL, as on a full
    disk."""

    def fill_the_disk(self) -> None:
        def freeze(store: SqliteJobStore) -> None:
            store._db.execute("PRAGMA max_page_count = 1")  # clamped to the current size: no new page

        assert self._store is not None, "the spool is open"
        self._runner._executor.submit(freeze, self._store).result(timeout=10)


def test_a_full_disk_refuses_new_tickets_without_ack_and_everything_else_keeps_working(
    daemons: DaemonLauncher, tmp_path: Path
) -> None:
    spool = SpoolOnASmallDisk(tmp_path / "small" / "spool.sqlite3")
    running = daemons.start(store=spool)
    client = running.connect("till-1")  # names itself: its resent id below is a duplicate
    _, result = client.print_job(ticket("before", "JOB-before"))
    assert result["status"] == "success"

    spool.fill_the_disk()
    refused = None
    for n in range(200):  # the free space left in the file's last pages runs out after a few jobs
        reply = client.request(ticket(f"big-{n}", *["JOB-" + "x" * 40] * 30))
        if reply["tipo"] == "error":
            refused = reply
            break
        assert client.recv()["tipo"] == "result"
    assert refused is not None, "the spool never filled up"

    assert refused["mensaje"].startswith("STORAGE: ") and "full" in refused["mensaje"]
    job_id = refused["id"]
    assert client.request({"tipo": "job_status", "id": job_id})["mensaje"] == f"VALIDATION: Job not found: {job_id}"
    assert client.request({"tipo": "ping", "id": "alive"})["tipo"] == "pong"
    ack = client.request(ticket("before", "JOB-before"))  # what is stored is still served
    assert (ack["status"], ack["job_status"]) == ("duplicate", "success")
    assert client.recv()["status"] == "success"


@pytest.mark.parametrize("policy", ["reprint", "fail"])
def test_a_job_cut_off_mid_send_is_reprinted_or_failed_as_configured(
    daemons: DaemonLauncher, tmp_path: Path, policy: str
) -> None:
    # What a daemon killed mid-send leaves behind: the job's row says "printing".
    data_dir = tmp_path / "shop"
    rendered = render_document(receipt("JOB-cut"), raw_policy="allow")
    store = BlockingStore(data_dir / "spool.sqlite3")
    stored = store.add(
        Job(
            id="cut",
            client_id="till-1",
            printer="default",
            document=rendered.document_json,
            data=rendered.data,
            created_at=1.0,
            updated_at=1.0,
        ),
        capacity=10,
    )
    store.move(stored.seq, JobState.PRINTING, now=2.0, attempts=1)
    store.close()

    running = daemons.start(storage={"data_dir": data_dir}, spool={"interrupted_policy": policy})
    result = running.connect("till-1").recv()

    assert (result["tipo"], result["id"]) == ("result", "cut")
    if policy == "reprint":
        assert result["status"] == "success"
        assert result["mensaje"].endswith("; reprinted after an interruption")
        assert len(running.virtual_jobs("default")) == 1
    else:
        assert result["status"] == "error"
        assert result["mensaje"].startswith("PRINTER: Interrupted")
        assert running.virtual_jobs("default") == []


def test_health_shows_the_spool(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    client = running.connect()
    client.print_job(ticket("h-1", "JOB-h1"))

    spool = httpx.get(f"{running.http_url}/health", timeout=10).json()["spool"]
    assert spool == {"status": "ok", "size": 1, "pending": 0, "oldest_waiting_seconds": 0.0}
