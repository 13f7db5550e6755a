"""With no printer at hand, virtual://NAME "prints" each job as the exact bytes, a picture of the paper and its text,
keeping only the newest ones for the dashboard."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from ticket_daemon.escpos import commands
from ticket_daemon.printers import PrinterState, VirtualTransport, list_jobs, open_transport

T = TypeVar("T")


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(scenario, timeout=60))


def receipt(number: int) -> bytes:
    return commands.INITIALIZE + f"Order {number}\n".encode() + commands.CUT_PARTIAL


async def print_on(transport: VirtualTransport, *jobs: bytes) -> PrinterState:
    await transport.open()
    try:
        for job in jobs:
            await transport.send(job)
        return await transport.status()
    finally:
        await transport.close()


def test_a_job_is_kept_as_bytes_picture_and_text(tmp_path: Path) -> None:
    transport = open_transport("virtual://counter", dot_width=384, data_dir=tmp_path)
    assert isinstance(transport, VirtualTransport)
    assert run(print_on(transport, receipt(1))) is PrinterState.ready

    [job] = transport.list_jobs()
    folder = tmp_path / "virtual" / "counter"
    assert job.number == 1
    assert job.bytes_path == folder / "000001.bin"
    assert job.bytes_path.read_bytes() == receipt(1)
    assert job.size == len(receipt(1))
    assert job.text_path is not None and "Order 1" in job.text_path.read_text("utf-8")
    assert job.png_path is not None and job.png_path.read_bytes().startswith(b"\x89PNG")


def test_only_the_newest_jobs_are_kept(tmp_path: Path) -> None:
    run(print_on(VirtualTransport("till", data_dir=tmp_path, dot_width=576, keep=3), *map(receipt, range(1, 6))))
    # a later session continues the numbering and the pruning
    run(print_on(VirtualTransport("till", data_dir=tmp_path, dot_width=576, keep=3), receipt(6)))

    folder = tmp_path / "virtual" / "till"
    jobs = list_jobs(folder)
    assert [job.number for job in jobs] == [6, 5, 4]
    assert [job.bytes_path.read_bytes() for job in jobs] == [receipt(6), receipt(5), receipt(4)]
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{n:06d}.{ext}" for n in (4, 5, 6) for ext in ("bin", "png", "txt")
    ]


def test_bytes_the_emulator_cannot_draw_are_still_kept(tmp_path: Path) -> None:
    garbage = bytes(range(256)) * 4
    transport = VirtualTransport("odd", data_dir=tmp_path, dot_width=576)
    run(print_on(transport, garbage))
    [job] = transport.list_jobs()
    assert job.bytes_path.read_bytes() == garbage


def test_a_printer_that_never_printed_lists_nothing(tmp_path: Path) -> None:
    assert VirtualTransport("new", data_dir=tmp_path, dot_width=576).list_jobs() == []
