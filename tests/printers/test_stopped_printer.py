"""A network printer that freezes in the middle of a job (a real ``ticket-daemon virtual-printer`` process stopped
with SIGSTOP): the job is never reported printed. Once the printer is back it is printed again from its beginning
and its result says so, or, under ``interrupted_policy = "fail"``, it ends in a ``PRINTER:`` error."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.harness import DaemonLauncher, printed_jobs, wait_until
from ticket_daemon.spool.worker import REPRINT_PROMISE

pytestmark = pytest.mark.slow

WAIT_S = 60.0
# 40 kB of receipt: two seconds for a 20 kB/s printer, ten times what its input buffer and the kernel hold for it.
LINES = [f"LINE {n:04d} OF A LONG RECEIPT, PRINTED SLOWLY" for n in range(900)]
PRINT_TIMEOUT_S = 8.0


def long_ticket(job_id: str) -> dict[str, Any]:
    commands: list[dict[str, Any]] = [{"type": "text", "data": {"content": {"text": line}}} for line in LINES]
    commands.append({"type": "cut", "data": {"mode": "partial"}})
    document = {"version": "1.0", "profile": {"model": "80mm EC-PM-80250"}, "commands": commands}
    return {"tipo": "ticket", "id": job_id, "datos": document}


@pytest.fixture
def slow_printer(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """A virtual printer process taking 20 kB/s; always resumed and stopped at the end."""
    out = tmp_path / "receipts"
    command = ["virtual-printer", "--listen", "127.0.0.1:0", "--out", str(out), "--bytes-per-second", "20000"]
    process = subprocess.Popen(
        [sys.executable, "-m", "ticket_daemon", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        os.set_blocking(process.stdout.fileno(), False)
        line = b""
        deadline = time.monotonic() + 30
        while not line.endswith(b"\n"):
            assert time.monotonic() < deadline and process.poll() is None, "the virtual printer did not start"
            line += process.stdout.read() or b""
            time.sleep(0.02)
        prefix = "virtual-printer listening on 127.0.0.1:"
        assert line.decode().startswith(prefix), line
        yield process, int(line.decode().strip().removeprefix(prefix)), out
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def job_row(data_dir: Path, job_id: str) -> tuple[str, bytes | None] | None:
    with sqlite3.connect(f"file:{data_dir / 'spool.sqlite3'}?mode=ro", uri=True) as reader:
        row = reader.execute("SELECT state, data FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else (row[0], row[1])


@pytest.mark.parametrize("policy", ["reprint", "fail"])
def test_a_printer_stopped_mid_job_never_gets_a_success_for_it(
    tmp_path: Path, slow_printer: tuple[subprocess.Popen[bytes], int, Path], policy: str
) -> None:
    process, port, out = slow_printer
    launcher = DaemonLauncher(tmp_path / "daemon")
    try:
        daemon = launcher.start(
            printers=[{"name": "counter", "uri": f"tcp://127.0.0.1:{port}"}],
            spool={"interrupted_policy": policy, "retry_initial_seconds": 0.5},
            print_timeout_seconds=PRINT_TIMEOUT_S,
        )
        client = daemon.connect()
        ack = client.request(long_ticket("long-1"))
        assert ack["tipo"] == "ack", ack
        wait_until(lambda: (job_row(daemon.data_dir, "long-1") or ("",))[0] == "printing", "the job to start")
        process.send_signal(signal.SIGSTOP)  # frozen a moment into the job, its input buffer soon full
        told = client.recv(timeout=WAIT_S)
        row = job_row(daemon.data_dir, "long-1")
        process.send_signal(signal.SIGCONT)
        result = told
        if policy == "reprint":
            assert row is not None and row[1] is not None, told  # waiting: its bytes are kept for the reprint
            job_bytes = row[1]
            result = client.recv(timeout=WAIT_S)
            wait_until(lambda: job_bytes in printed_jobs(out), "the complete job at the printer", timeout=WAIT_S)
    finally:
        process.send_signal(signal.SIGCONT)
        launcher.stop_all()

    if policy == "fail":
        assert (told["tipo"], told["id"], told["status"]) == ("result", "long-1", "error")
        assert told["mensaje"] == f"PRINTER: Timed out printing on 'counter' after {PRINT_TIMEOUT_S:.0f} s"
        return
    assert (told["tipo"], told["id"], told["status"]) == ("job", "long-1", "waiting")
    assert told["mensaje"] == f"PRINTER: Timed out printing on 'counter' after {PRINT_TIMEOUT_S:.0f} s{REPRINT_PROMISE}"
    assert (result["tipo"], result["id"], result["status"]) == ("result", "long-1", "success")
    assert re.fullmatch(r"Print completed in \d+ms; reprinted after an interruption", result["mensaje"])
    assert printed_jobs(out)[-1] == job_bytes  # printed again from its beginning, after what the freeze cut off
