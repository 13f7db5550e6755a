"""The daemon's life-cycle as the till sees it: a real ``ticket-daemon serve`` process, real signals, real printers
(virtual network printers on 127.0.0.1), and the exit status a supervisor (systemd, the SCM) acts on."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from server.harness import PrinterFarm, WsClient, printed_jobs, ticket
from service.helpers import WAIT_S, ServeProcess, wait_until, write_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def job_state(client: WsClient, job_id: str) -> str:
    reply: dict[str, Any] = client.request({"tipo": "job_status", "id": job_id})
    return str(reply.get("status"))


def test_sigterm_during_a_slow_job_finishes_it_keeps_the_queue_and_prints_the_rest_after_restart(
    tmp_path: Path, printer_farm: PrinterFarm
) -> None:
    slow_uri, slow_out = printer_farm.start("slow", bytes_per_second=60)
    fast_uri, fast_out = printer_farm.start("fast")
    data_dir = tmp_path / "data"
    server = {"port": 0, "shutdown_grace_seconds": 30}
    first = write_config(
        tmp_path / "first.toml",
        server,
        printers=[{"name": "bar", "uri": slow_uri}],
        storage={"data_dir": str(data_dir)},
    )
    daemon = ServeProcess(first)
    try:
        client = WsClient(daemon.ws_url + "?client_id=till-1")
        assert client.recv()["tipo"] == "info"
        for job_id, text in (("one", "FIRST ORDER"), ("two", "SECOND ORDER"), ("three", "THIRD ORDER")):
            assert client.request(ticket(job_id, text))["tipo"] == "ack"
        wait_until(lambda: job_state(client, "one") == "printing", "the first job to be at the printer")

        daemon.signal(signal.SIGTERM)
        messages = []
        code = None
        while code is None:  # everything the till hears until the daemon hangs up
            try:
                messages.append(client.recv(timeout=40))
            except Exception:
                code = client.close_code(timeout=5)
                break
        status = daemon.wait(timeout=40)
    finally:
        daemon.kill()

    results = {m["id"]: m["status"] for m in messages if m.get("tipo") == "result"}
    assert results.get("one") == "success"  # the job in progress finished
    assert "two" not in results and "three" not in results  # the others were not failed: still in the spool
    assert code == 1001
    assert status == 0
    # The virtual printer answers the status query after a job before it has saved the job (in a thread of its own).
    wait_until(lambda: printed_jobs(slow_out) != [], "the slow printer to save the job it finished")
    assert len(printed_jobs(slow_out)) == 1 and b"FIRST ORDER" in printed_jobs(slow_out)[0]

    # Restart (the "bar" printer was swapped for a faster one): the queued jobs print, in order.
    second = write_config(
        tmp_path / "second.toml",
        server,
        printers=[{"name": "bar", "uri": fast_uri}],
        storage={"data_dir": str(data_dir)},
    )
    daemon = ServeProcess(second)
    try:
        wait_until(lambda: len(printed_jobs(fast_out)) == 2, "the queued jobs to print after the restart", timeout=30)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
    finally:
        daemon.kill()
    printed = printed_jobs(fast_out)
    assert b"SECOND ORDER" in printed[0] and b"THIRD ORDER" in printed[1]


def test_a_second_stop_signal_forces_the_exit_with_a_failure_status(tmp_path: Path, printer_farm: PrinterFarm) -> None:
    uri, _ = printer_farm.start("very-slow", bytes_per_second=10)
    data_dir = tmp_path / "data"
    config = write_config(
        tmp_path / "config.toml",
        {"port": 0, "shutdown_grace_seconds": 120},
        printers=[{"name": "bar", "uri": uri}],
        storage={"data_dir": str(data_dir)},
    )
    daemon = ServeProcess(config)
    try:
        client = WsClient(daemon.ws_url)
        assert client.recv()["tipo"] == "info"
        assert client.request(ticket("long", "A VERY LONG RECEIPT", "WITH MANY LINES"))["tipo"] == "ack"
        wait_until(lambda: job_state(client, "long") == "printing", "the job to be at the printer")

        daemon.signal(signal.SIGTERM)
        log_file = data_dir / "logs" / "ticket-daemon.log"
        wait_until(lambda: "stopping:" in log_file.read_text(encoding="utf-8"), "the graceful stop to begin")
        daemon.signal(signal.SIGTERM)
        status = daemon.wait(timeout=WAIT_S)
    finally:
        daemon.kill()

    assert status == 128 + signal.SIGTERM
    assert "second stop signal (SIGTERM)" in log_file.read_text(encoding="utf-8")


def _printed(client: WsClient, message: dict[str, Any]) -> str:
    """Send a ticket; its result's status (the job's own messages in between are skipped)."""
    client.send(message)
    while (reply := client.recv())["tipo"] != "result":
        assert reply["tipo"] in ("ack", "job"), reply
    return str(reply["status"])


def _children(pid: int) -> list[int]:
    return [
        int(child) for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()
    ]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="Linux /proc")
def test_the_daemon_runs_as_one_process_until_a_document_needs_a_render_worker(
    tmp_path: Path, printer_farm: PrinterFarm
) -> None:
    uri, _ = printer_farm.start("bar")
    config = write_config(
        tmp_path / "config.toml",
        {"port": 0},
        printers=[{"name": "bar", "uri": uri}],
        storage={"data_dir": str(tmp_path)},
    )
    logo = json.loads((EXAMPLES / "receipt.json").read_text(encoding="utf-8"))
    daemon = ServeProcess(config)
    try:
        client = WsClient(daemon.ws_url + "?client_id=till-1")
        assert client.recv()["tipo"] == "info"
        assert _printed(client, ticket("plain", "CAFE 1,50")) == "success"
        alone = _children(daemon.process.pid)
        assert _printed(client, {"tipo": "ticket", "id": "logo", "datos": logo}) == "success"
        after_receipt = _children(daemon.process.pid)
        client.send({"tipo": "preview", "id": "pv", "datos": logo})
        while (reply := client.recv())["tipo"] != "preview":
            assert reply["tipo"] in ("job", "result"), reply
        with_workers = _children(daemon.process.pid)
    finally:
        daemon.kill()

    assert alone == []  # no forkserver, resource tracker or render worker while nothing needs them
    assert after_receipt == []  # a lone receipt renders in the daemon's process rather than wait for a worker
    assert reply["status"] == "ok" and with_workers != []  # a preview always renders in a worker
