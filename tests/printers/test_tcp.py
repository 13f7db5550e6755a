"""A till prints to a network printer on port 9100: the bytes arrive exactly, faults are read back as sentences the
assistant can act on, and a printer that is off, hangs up or stalls is reported instead of hanging the worker."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from printers.epson_replies import epson_answer
from ticket_daemon.escpos import commands
from ticket_daemon.printers import PrinterError, PrinterState, TcpTransport, Timeouts, state_error
from ticket_daemon.printers.realtime import RealtimeSplitter
from ticket_daemon.printers.virtual_server import VirtualPrinterServer

T = TypeVar("T")
JOB = (
    commands.INITIALIZE
    + b"Table 4\n"
    + commands.raster_image(2, 2, b"\x10\x04\x01\xff")  # image bytes that spell DLE EOT 1
    + commands.feed_lines(3)
    + commands.CUT_PARTIAL
)


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(scenario, timeout=60))


async def with_printer(tmp_path: Path, story: Callable[[VirtualPrinterServer], Awaitable[T]], **options: Any) -> T:
    server = VirtualPrinterServer("127.0.0.1", 0, tmp_path / "out", **options)
    await server.start()
    try:
        return await story(server)
    finally:
        await server.stop()


async def printed(server: VirtualPrinterServer, number: int = 1) -> bytes:
    """The bytes of job ``number`` once the printer has saved it (the .bin is written last)."""
    job = server.out_dir / f"job-{number:06d}.bin"
    for _ in range(500):
        if job.exists():
            return job.read_bytes()
        await asyncio.sleep(0.02)
    raise AssertionError(f"{job.name} was never printed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def raw_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> asyncio.Server:
    return await asyncio.start_server(handler, "127.0.0.1", 0)


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


def test_job_arrives_byte_exact_and_status_queries_are_not_printed(tmp_path: Path) -> None:
    async def story(server: VirtualPrinterServer) -> tuple[PrinterState, PrinterState, bytes]:
        printer = TcpTransport("127.0.0.1", server.port)
        await printer.open()
        before = await printer.status()
        await printer.send(JOB)
        after = await printer.status()
        await printer.close()
        return before, after, await printed(server)

    assert run(with_printer(tmp_path, story)) == (PrinterState.ready, PrinterState.ready, JOB)


def test_each_job_is_its_own_connection_and_file(tmp_path: Path) -> None:
    async def story(server: VirtualPrinterServer) -> list[bytes]:
        for text in (b"first\n", b"second\n"):
            printer = TcpTransport("127.0.0.1", server.port)
            await printer.open()
            await printer.send(text)
            await printer.close()
            await printed(server, 1 if text == b"first\n" else 2)
        return [await printed(server, 1), await printed(server, 2)]

    assert run(with_printer(tmp_path, story)) == [b"first\n", b"second\n"]


def test_jobs_sent_one_after_another_over_one_connection_are_printed_as_jobs_of_their_own(tmp_path: Path) -> None:
    async def story(server: VirtualPrinterServer) -> list[bytes]:
        printer = TcpTransport("127.0.0.1", server.port)
        await printer.open()
        states = [await printer.status()]
        for text in (b"first\n", b"second\n"):
            await printer.send(text)
            states.append(await printer.status())
            assert printer.can_take_another_job()
        await printer.close()
        assert states == [PrinterState.ready] * 3
        return [await printed(server, 1), await printed(server, 2)]

    assert run(with_printer(tmp_path, story)) == [b"first\n", b"second\n"]


@pytest.mark.parametrize(
    ("fault", "state", "message"),
    [
        ("paper_out", PrinterState.paper_out, "PRINTER: Paper out"),
        ("cover_open", PrinterState.cover_open, "PRINTER: Cover open"),
        ("offline", PrinterState.offline, "PRINTER: Printer offline"),
    ],
)
def test_a_fault_is_read_back_as_a_sentence(tmp_path: Path, fault: str, state: PrinterState, message: str) -> None:
    async def story(server: VirtualPrinterServer) -> PrinterState:
        printer = TcpTransport("127.0.0.1", server.port)
        await printer.open()
        try:
            return await printer.status()
        finally:
            await printer.close()

    seen = run(with_printer(tmp_path, story, status=fault))
    assert seen is state
    error = state_error(seen)
    assert error is not None and str(error) == message and error.retryable


def test_a_printer_out_of_paper_prints_nothing_until_paper_is_loaded(tmp_path: Path) -> None:
    status_file = tmp_path / "status"
    status_file.write_text("paper_out\n")

    async def story(server: VirtualPrinterServer) -> tuple[PrinterState, bytes, list[str]]:
        printer = TcpTransport("127.0.0.1", server.port)
        await printer.open()
        await printer.send(b"lost while out of paper\n")
        during = await printer.status()  # answered after the job's bytes were taken (and thrown away)
        await printer.close()
        status_file.write_text("ok")
        printer = TcpTransport("127.0.0.1", server.port)
        await printer.open()
        await printer.send(JOB)
        await printer.close()
        return during, await printed(server), sorted(p.name for p in server.out_dir.glob("job-*.bin"))

    during, first_printed, jobs = run(with_printer(tmp_path, story, status_file=status_file))
    assert during is PrinterState.paper_out
    assert first_printed == JOB
    assert jobs == ["job-000001.bin"]


def test_printer_switched_off_is_a_retryable_cannot_connect() -> None:
    port = free_port()

    async def story() -> None:
        await TcpTransport("127.0.0.1", port).open()

    with pytest.raises(PrinterError) as info:
        run(story())
    assert str(info.value) == f"PRINTER: Cannot connect to 127.0.0.1:{port}"
    assert info.value.retryable


def test_printer_hanging_up_mid_job_is_connection_lost() -> None:
    async def hang_up_after_a_little(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1000)
        writer.transport.abort()

    async def story() -> None:
        server = await raw_server(hang_up_after_a_little)
        printer = TcpTransport("127.0.0.1", port_of(server))
        try:
            await printer.open()
            await printer.send(bytes(16 * 1024 * 1024))  # far more than any socket buffers can hold
        finally:
            await printer.close()
            server.close()

    with pytest.raises(PrinterError) as info:
        run(story())
    assert str(info.value) == "PRINTER: Connection lost while printing"
    assert info.value.retryable


def test_printer_that_stops_taking_data_times_out() -> None:
    stalled: list[asyncio.StreamWriter] = []

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stalled.append(writer)  # keep the connection open and read nothing

    async def story() -> None:
        server = await raw_server(never_read)
        printer = TcpTransport(
            "127.0.0.1", port_of(server), timeouts=Timeouts(write=0.5, slowest_bytes_per_second=10**12)
        )
        try:
            await printer.open()
            await printer.send(bytes(64 * 1024 * 1024))
        finally:
            await printer.close()
            for writer in stalled:
                writer.close()
            server.close()

    with pytest.raises(PrinterError) as info:
        run(story())
    assert str(info.value).startswith("PRINTER: Timed out sending to 127.0.0.1:")
    assert info.value.retryable


def test_printer_that_does_not_answer_status_is_unknown() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1024):
            pass
        writer.close()

    async def story() -> list[PrinterState]:
        server = await raw_server(silent)
        printer = TcpTransport("127.0.0.1", port_of(server), timeouts=Timeouts(status=0.3))
        try:
            await printer.open()
            states = [await printer.status()]
            await printer.send(b"still printable\n")
            states.append(await printer.status())
            return states
        finally:
            await printer.close()
            server.close()

    assert run(story()) == [PrinterState.unknown, PrinterState.unknown]


def test_status_after_the_printer_hung_up_is_offline() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def story() -> PrinterState:
        server = await raw_server(hang_up)
        printer = TcpTransport("127.0.0.1", port_of(server))
        try:
            await printer.open()
            for _ in range(100):  # bounded: until the hang-up reaches us
                state = await printer.status()
                if state is PrinterState.offline:
                    return state
                await asyncio.sleep(0.01)
            return state
        finally:
            await printer.close()
            server.close()

    assert run(story()) is PrinterState.offline


def test_slow_printer_makes_the_sender_wait(tmp_path: Path) -> None:
    """40 kB to a 20 kB/s printer: the status check after the job can only be answered once the printer has taken
    the whole job, at least a couple of seconds later (a lower bound, not a performance measurement)."""
    job = commands.INITIALIZE + bytes(range(32, 127)) * 420 + commands.CUT_FULL

    async def story(server: VirtualPrinterServer) -> tuple[float, PrinterState, bytes]:
        printer = TcpTransport("127.0.0.1", server.port)
        await printer.open()
        started = time.monotonic()
        await printer.send(job)
        state = await printer.status()
        elapsed = time.monotonic() - started
        await printer.close()
        return elapsed, state, await printed(server)

    elapsed, state, received = run(with_printer(tmp_path, story, bytes_per_second=20_000))
    assert state is PrinterState.ready
    assert received == job
    assert elapsed >= 1.5


@pytest.mark.parametrize(
    "state",
    [
        PrinterState.ready,
        PrinterState.paper_near_end,
        PrinterState.paper_out,
        PrinterState.cover_open,
        PrinterState.offline,
        PrinterState.error,
    ],
)
def test_a_printer_answering_epsons_status_bytes_is_read_as_its_state(state: PrinterState) -> None:
    """A bare network printer that answers DLE EOT with the bytes of Epson's bit tables, one reply per read."""

    async def epson(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        splitter = RealtimeSplitter()
        while data := await reader.read(1024):
            _, requests = splitter.feed(data)
            for reply in epson_answer(state, requests):
                writer.write(bytes([reply]))
                await writer.drain()
        writer.close()

    async def story() -> PrinterState:
        server = await raw_server(epson)
        printer = TcpTransport("127.0.0.1", port_of(server))
        try:
            await printer.open()
            return await printer.status()
        finally:
            await printer.close()
            server.close()

    assert run(story()) is state


def test_the_virtual_printer_sends_epsons_status_bytes_on_the_wire(tmp_path: Path) -> None:
    async def ask(server: VirtualPrinterServer) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04")  # DLE EOT 1, 2, 3, 4
            await writer.drain()
            return await reader.readexactly(4)
        finally:
            writer.close()

    # 1: bit 3 offline; 2: bit 5 stopped by paper end; 3: no error cause; 4: bits 2-3 near end, 5-6 roll end
    assert run(with_printer(tmp_path, ask, status="paper_out")) == bytes([0x1A, 0x32, 0x12, 0x7E])
    assert run(with_printer(tmp_path / "ok", ask)) == bytes([0x12, 0x12, 0x12, 0x12])


def test_a_printer_that_answers_only_part_of_the_status_is_unknown_for_the_connection() -> None:
    async def first_reply_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        splitter = RealtimeSplitter()
        while data := await reader.read(1024):
            _, requests = splitter.feed(data)
            if requests:
                writer.write(b"\x12")  # DLE EOT 1 answered "online", the rest never comes
                await writer.drain()
        writer.close()

    async def story() -> list[PrinterState]:
        server = await raw_server(first_reply_only)
        printer = TcpTransport("127.0.0.1", port_of(server), timeouts=Timeouts(status=0.3))
        try:
            await printer.open()
            return [await printer.status(), await printer.status()]
        finally:
            await printer.close()
            server.close()

    assert run(story()) == [PrinterState.unknown, PrinterState.unknown]


def test_a_printer_sending_status_on_its_own_is_unknown_and_its_connection_is_not_kept() -> None:
    """Bytes nobody asked for (a printer with automatic status back on) make replies impossible to match to
    queries: the state is unknown rather than misread, and the next job gets a connection of its own."""

    async def chatty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\x14\x00\x00\x0f")  # an automatic status back block, unasked
        splitter = RealtimeSplitter()
        while data := await reader.read(1024):
            _, requests = splitter.feed(data)
            writer.write(bytes([0x12]) * len(requests))
            await writer.drain()
        writer.close()

    async def story() -> tuple[PrinterState, PrinterState, bool]:
        server = await raw_server(chatty)
        printer = TcpTransport("127.0.0.1", port_of(server), timeouts=Timeouts(status=0.3))
        try:
            await printer.open()
            await asyncio.sleep(0.1)  # the unasked bytes arrive first
            before = await printer.status()
            await printer.send(b"still printed\n")
            return before, await printer.status(), printer.can_take_another_job()
        finally:
            await printer.close()
            server.close()

    assert run(story()) == (PrinterState.unknown, PrinterState.unknown, False)
