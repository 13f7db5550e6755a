"""Each fault of the virtual network printer produces the status a real printer reports and the categorised outcome
the job gets. The steps are the printer worker's (check status, send only to a printer that can print, check
again: the reply queues behind the job, confirming the printer took it all)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from server.harness import DaemonLauncher, PrinterFarm, printed_jobs, ticket
from ticket_daemon.escpos import commands
from ticket_daemon.printers import PrinterError, PrinterState, TcpTransport, state_error
from ticket_daemon.printers.virtual_server import VirtualPrinterServer

WAIT_S = 20.0
JOB = commands.INITIALIZE + b"ORDER 12\n" + commands.CUT_PARTIAL


async def deliver(server: VirtualPrinterServer, data: bytes) -> tuple[PrinterState, str]:
    """(state seen before sending, the job's outcome: "success" or the PRINTER: sentence)."""
    printer = TcpTransport("127.0.0.1", server.port)
    await printer.open()
    try:
        before = await printer.status()
        problem = state_error(before)
        if problem is None:
            await printer.send(data)
            problem = state_error(await printer.status())
        return before, "success" if problem is None else f"{problem} (retryable={problem.retryable})"
    except PrinterError as error:
        return before, f"{error} (retryable={error.retryable})"
    finally:
        await printer.close()


def run_against(
    tmp_path: Path, data: bytes = JOB, *, expect_jobs: int = 0, **options: Any
) -> tuple[tuple[PrinterState, str], list[Path]]:
    async def story() -> tuple[tuple[PrinterState, str], list[Path]]:
        server = VirtualPrinterServer("127.0.0.1", 0, tmp_path / "out", **options)
        await server.start()
        try:
            outcome = await deliver(server, data)
            for _ in range(500):  # the printer saves a job once the connection is closed
                if len(list((tmp_path / "out").glob("*.bin"))) >= expect_jobs:
                    break
                await asyncio.sleep(0.01)
        finally:
            await server.stop()
        return outcome, sorted((tmp_path / "out").glob("*.bin"))

    return asyncio.run(asyncio.wait_for(story(), WAIT_S))


@pytest.mark.parametrize(
    ("fault", "state", "outcome"),
    [
        ("paper_out", PrinterState.paper_out, "PRINTER: Paper out (retryable=True)"),
        ("cover_open", PrinterState.cover_open, "PRINTER: Cover open (retryable=True)"),
        ("offline", PrinterState.offline, "PRINTER: Printer offline (retryable=True)"),
    ],
)
def test_a_printer_fault_is_reported_and_nothing_is_sent(
    tmp_path: Path, fault: str, state: PrinterState, outcome: str
) -> None:
    (seen, result), printed = run_against(tmp_path, status=fault)

    assert (seen, result) == (state, outcome)
    assert printed == []


def test_a_ready_printer_confirms_the_job_after_taking_it(tmp_path: Path) -> None:
    (seen, result), printed = run_against(tmp_path, expect_jobs=1)

    assert (seen, result) == (PrinterState.ready, "success")
    assert [path.read_bytes() for path in printed] == [JOB]


def test_a_printer_switched_off_mid_job_fails_the_job_as_connection_lost(tmp_path: Path) -> None:
    big_job = JOB + b"LINE OF A LONG RECEIPT\n" * 1_000_000  # 23 MB: far more than loopback socket buffers hold

    (seen, result), printed = run_against(tmp_path, big_job, fail_after_bytes=10_000)

    assert seen is PrinterState.ready
    assert result == "PRINTER: Connection lost while printing (retryable=True)"
    assert printed == []


def test_under_the_fail_policy_a_printer_switched_off_mid_job_ends_the_job_in_a_printer_error(tmp_path: Path) -> None:
    farm = PrinterFarm(tmp_path / "printers")
    launcher = DaemonLauncher(tmp_path / "daemon")
    try:
        uri, out = farm.start("flaky", fail_after_bytes=10)
        daemon = launcher.start(printers=[{"name": "flaky", "uri": uri}], spool={"interrupted_policy": "fail"})
        _, result = daemon.connect().print_job(ticket("cut-off", "A RECEIPT THAT NEVER ENDS"))
    finally:
        launcher.stop_all()
        farm.stop()

    # Sending had begun and interrupted_policy = "fail": the outcome is final, the operator decides on a reprint.
    # Whether the sender noticed the reset while writing or at the status check after it depends on socket buffers.
    assert (result["tipo"], result["status"]) == ("result", "error")
    assert result["mensaje"] in ("PRINTER: Connection lost while printing", "PRINTER: Printer offline")
    assert printed_jobs(out) == []
