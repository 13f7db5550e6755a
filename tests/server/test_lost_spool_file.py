"""A spool file lost under a running daemon (real SQLite file, real daemon on 127.0.0.1, a real network printer):
deleted, replaced by another file or overwritten, it is noticed at the next group commit. New tickets are refused
with a ``STORAGE:`` sentence that says what to do, ``/health`` says ``degraded`` with the same sentence, a job
already accepted still prints, and what the open file held is saved next to it so that a restart loses nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from server.harness import DaemonLauncher, PrinterFarm, RunningDaemon, WsClient, printed_jobs, ticket, wait_until
from service.helpers import ServeProcess, get_json, write_config
from ticket_daemon.store.database import SqliteJobStore

QUICK_RETRY = {"retry_initial_seconds": 0.2, "retry_max_seconds": 0.2}


def lost(spool: Path, what: str) -> str:
    rescued = spool.with_name("spool.rescued.sqlite3")
    return (
        f"the spool file {spool} {what} while the daemon was running: new tickets are refused and the jobs already "
        f"accepted still print; the jobs it held are saved in {rescued}: stop the daemon, put that file in place of "
        f"{spool} and start it again"
    )


def health(running: RunningDaemon) -> dict[str, Any]:
    with httpx.Client(base_url=running.http_url, trust_env=False, timeout=10) as http:
        report = http.get("/health").json()
    assert isinstance(report, dict)
    return report


def a_job_waiting_for_paper(
    daemons: DaemonLauncher, printer_farm: PrinterFarm, tmp_path: Path
) -> tuple[RunningDaemon, WsClient, Path, Path]:
    """A daemon whose printer is out of paper, with job "held-1" accepted and waiting for it."""
    status_file = tmp_path / "status"
    status_file.write_text("paper_out")
    uri, out = printer_farm.start("kitchen", status_file=status_file)
    running = daemons.start(printers=[{"name": "kitchen", "uri": uri}], spool=QUICK_RETRY)
    till = running.connect("till-a")
    assert till.request(ticket("held-1", "ACCEPTED BEFORE"))["status"] == "queued"
    assert till.recv()["status"] == "waiting"
    assert health(running)["status"] == "ok"
    return running, till, status_file, out


def refused_then_held_job_prints(
    running: RunningDaemon, till: WsClient, status_file: Path, out: Path, why: str
) -> None:
    refused = till.request(ticket("new-1", "AFTER THE LOSS"))
    assert refused == {"tipo": "error", "id": "new-1", "status": "error", "mensaje": "STORAGE: " + why}
    report = health(running)
    assert report["status"] == "degraded"
    assert report["spool"] == {**report["spool"], "status": "degraded", "reason": why}

    status_file.write_text("ok")  # paper is back: the job accepted before the loss prints
    while (message := till.recv())["tipo"] != "result":
        assert message["tipo"] == "job"  # "waiting" notices meanwhile
    assert (message["id"], message["status"]) == ("held-1", "success")
    wait_until(lambda: len(printed_jobs(out)) == 1, "the accepted job to print")
    assert b"ACCEPTED BEFORE" in printed_jobs(out)[0]
    assert health(running)["status"] == "degraded"  # until the daemon is restarted on a file that holds its jobs


def test_a_spool_file_deleted_under_a_running_daemon_refuses_new_tickets_and_still_prints_accepted_ones(
    daemons: DaemonLauncher, printer_farm: PrinterFarm, tmp_path: Path
) -> None:
    running, till, status_file, out = a_job_waiting_for_paper(daemons, printer_farm, tmp_path)
    spool = running.data_dir / "spool.sqlite3"
    spool.unlink()

    refused_then_held_job_prints(running, till, status_file, out, lost(spool, "was deleted"))

    running.stop()  # the copy is made again at the stop, with the final states
    rescued = SqliteJobStore(spool.with_name("spool.rescued.sqlite3"))
    assert [(job.id, job.state.value) for job in rescued.recent(10)] == [("held-1", "success")]
    rescued.close()


def test_a_spool_file_replaced_under_a_running_daemon_refuses_new_tickets_and_still_prints_accepted_ones(
    daemons: DaemonLauncher, printer_farm: PrinterFarm, tmp_path: Path
) -> None:
    running, till, status_file, out = a_job_waiting_for_paper(daemons, printer_farm, tmp_path)
    spool = running.data_dir / "spool.sqlite3"
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    os.replace(other, spool)

    refused_then_held_job_prints(running, till, status_file, out, lost(spool, "was replaced by another file"))


def test_a_spool_file_overwritten_in_place_refuses_new_tickets(daemons: DaemonLauncher, tmp_path: Path) -> None:
    running = daemons.start()
    till = running.connect("till-a")
    assert till.print_job(ticket("before", "FINE"))[1]["status"] == "success"
    spool = running.data_dir / "spool.sqlite3"
    with spool.open("r+b") as file:
        file.write(b"\0" * 100)  # the header: no longer an SQLite database

    refused = till.request(ticket("after", "REFUSED"))
    why = lost(spool, "was truncated or overwritten")
    assert refused == {"tipo": "error", "id": "after", "status": "error", "mensaje": "STORAGE: " + why}
    assert health(running)["status"] == "degraded"


def test_a_serve_process_whose_spool_file_is_deleted_keeps_printing_and_saves_its_jobs_for_the_restart(
    printer_farm: PrinterFarm, tmp_path: Path
) -> None:
    status_file = tmp_path / "status"
    status_file.write_text("paper_out")
    uri, out = printer_farm.start("kitchen", status_file=status_file)
    data_dir = tmp_path / "shop"
    config = write_config(
        tmp_path / "config.toml",
        {"host": "127.0.0.1", "port": 0},
        [{"name": "kitchen", "uri": uri}],
        storage={"data_dir": str(data_dir)},
        spool=QUICK_RETRY,
    )
    daemon = ServeProcess(config)
    try:
        till = WsClient(f"{daemon.ws_url}?client_id=till-a")
        assert till.recv()["tipo"] == "info"
        assert till.request(ticket("held-1", "ACCEPTED BEFORE"))["status"] == "queued"
        assert till.recv()["status"] == "waiting"
        spool = data_dir / "spool.sqlite3"
        spool.unlink()

        why = lost(spool, "was deleted")
        assert till.request(ticket("new-1", "AFTER THE LOSS"))["mensaje"] == "STORAGE: " + why
        report = get_json(f"{daemon.http_url}/health")
        assert (report["status"], report["spool"]["reason"]) == ("degraded", why)
        status_file.write_text("ok")
        while (message := till.recv())["tipo"] != "result":
            assert message["tipo"] == "job"
        assert (message["id"], message["status"]) == ("held-1", "success")
        wait_until(lambda: len(printed_jobs(out)) == 1, "the accepted job to print")
        till.close()
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
    finally:
        daemon.kill()

    # What the operator is told to do: the saved file in place of the lost one, then a start that finds its jobs.
    os.replace(spool.with_name("spool.rescued.sqlite3"), spool)
    restarted = ServeProcess(config)
    try:
        report = get_json(f"{restarted.http_url}/health")
        assert report["spool"]["status"] == "ok" and report["spool"]["size"] == 1
    finally:
        restarted.signal(signal.SIGTERM)
        restarted.wait()
        restarted.kill()
