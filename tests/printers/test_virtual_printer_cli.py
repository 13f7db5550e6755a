"""``ticket-daemon virtual-printer`` stands in for a network receipt printer: a developer starts it, prints to it,
sees each receipt as bytes, picture and text, flips it into a fault from outside, and stops it with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ticket_daemon.escpos import commands
from ticket_daemon.printers import PrinterState, TcpTransport

T = TypeVar("T")
RECEIPT = commands.INITIALIZE + commands.align(1) + b"CAFE DEL SOL\nTotal 12.50\n" + commands.CUT_PARTIAL

pytestmark = pytest.mark.slow


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(scenario, timeout=60))


async def start_printer(out: Path, *options: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ticket_daemon",
        "virtual-printer",
        "--listen",
        "127.0.0.1:0",
        "--out",
        str(out),
        *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


async def listening_port(process: asyncio.subprocess.Process) -> int:
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
    prefix = "virtual-printer listening on 127.0.0.1:"
    assert line.startswith(prefix), line
    return int(line.removeprefix(prefix))


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode or 0, stderr.decode()


async def print_receipt(port: int, data: bytes) -> tuple[PrinterState, PrinterState]:
    printer = TcpTransport("127.0.0.1", port)
    await printer.open()
    try:
        before = await printer.status()
        await printer.send(data)
        return before, await printer.status()
    finally:
        await printer.close()


async def saved(out: Path, name: str) -> Path:
    for _ in range(1000):
        if (out / name).exists():
            return out / name
        await asyncio.sleep(0.02)
    raise AssertionError(f"{name} never appeared in {out}")


def test_prints_a_receipt_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "receipts"

    async def story() -> tuple[tuple[PrinterState, PrinterState], int, str]:
        process = await start_printer(out, "--width", "384")
        try:
            port = await listening_port(process)
            states = await print_receipt(port, RECEIPT)
            await saved(out, "job-000001.bin")
        finally:
            code, stderr = await stop(process)
        return states, code, stderr

    states, code, stderr = run(story())
    assert states == (PrinterState.ready, PrinterState.ready)
    assert code == 0, stderr
    assert (out / "job-000001.bin").read_bytes() == RECEIPT
    assert "CAFE DEL SOL" in (out / "job-000001.txt").read_text("utf-8")
    assert (out / "job-000001.png").read_bytes().startswith(b"\x89PNG")


def test_a_fault_set_from_outside_is_reported_and_nothing_prints(tmp_path: Path) -> None:
    out, status_file = tmp_path / "receipts", tmp_path / "status"

    async def story() -> tuple[tuple[PrinterState, PrinterState], tuple[PrinterState, PrinterState], int]:
        process = await start_printer(out, env={"TICKET_VIRTUAL_STATUS_FILE": str(status_file)})
        try:
            port = await listening_port(process)
            status_file.write_text("cover_open\n")
            during = await print_receipt(port, b"discarded\n")
            status_file.unlink()  # back to the --status it was started with (ok)
            after = await print_receipt(port, RECEIPT)
            await saved(out, "job-000001.bin")
        finally:
            code, _ = await stop(process)
        return during, after, code

    during, after, code = run(story())
    assert during == (PrinterState.cover_open, PrinterState.cover_open)
    assert after == (PrinterState.ready, PrinterState.ready)
    assert code == 0
    assert (out / "job-000001.bin").read_bytes() == RECEIPT
    assert not (out / "job-000002.bin").exists()


def test_started_in_a_fault_it_says_so(tmp_path: Path) -> None:
    async def story() -> tuple[tuple[PrinterState, PrinterState], int]:
        process = await start_printer(tmp_path, "--status", "paper_out")
        try:
            states = await print_receipt(await listening_port(process), RECEIPT)
        finally:
            code, _ = await stop(process)
        return states, code

    assert run(story()) == ((PrinterState.paper_out, PrinterState.paper_out), 0)


def test_a_wrong_listen_address_is_one_sentence(tmp_path: Path) -> None:
    async def story() -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ticket_daemon",
            "virtual-printer",
            "--listen",
            "localhost",
            "--out",
            str(tmp_path),
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        return process.returncode or 0, stderr.decode()

    code, stderr = run(story())
    assert code == 2
    assert stderr.strip() == "VALIDATION: --listen must be HOST:PORT (port 0-65535), not 'localhost'"
