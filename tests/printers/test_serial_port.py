"""A till with a receipt printer on a serial port: the job arrives byte-exact, the printer's DLE EOT replies are read
back, and a printer out of paper holds the job until paper is loaded.

The "serial cable" is a pseudo-terminal pair: the transport opens the slave side with pyserial like a real
``/dev/ttyUSB0``; a small printer model on the master side answers ``DLE EOT n`` and keeps what it printed."""

from __future__ import annotations

import asyncio
import errno
import os
import select
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from printers.epson_replies import epson_answer
from server.harness import DaemonLauncher, ticket
from ticket_daemon.escpos import commands
from ticket_daemon.printers import PrinterError, PrinterState, Timeouts, open_transport, parse_uri, state_error
from ticket_daemon.printers.realtime import RealtimeSplitter
from ticket_daemon.printers.serial_port import SerialSettings, SerialTransport

pytest.importorskip("serial")
if os.name != "posix":
    pytest.skip("pseudo-terminals need a POSIX system", allow_module_level=True)

WAIT_S = 20.0
T = TypeVar("T")
JOB = (
    commands.INITIALIZE
    + b"SERIAL RECEIPT\n"
    + commands.raster_image(2, 2, b"\x10\x04\x01\xff")  # image bytes that spell DLE EOT 1
    + commands.CUT_PARTIAL
)


class PtyPrinter:
    """An Epson-like printer on the master side of a pty: answers DLE EOT at once, prints only when ready; given a
    ``model`` (name, manufacturer), it also answers GS I 67 / 66 with them, as that printer would."""

    def __init__(self, model: tuple[bytes, bytes] | None = None) -> None:
        self.model = model
        self.master, slave = os.openpty()
        self.device = os.ttyname(slave)
        os.close(slave)  # pyserial opens it by name; the pty lives while the master is open
        self.state = PrinterState.ready
        self.printed = bytearray()
        self.discarded = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pty-printer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        splitter = RealtimeSplitter()
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:  # the slave side is closed for now (EIO): wait for the next open
                self._stop.wait(0.02)
                continue
            payload, requests = splitter.feed(data)
            if self.state is PrinterState.ready:
                self.print(payload)
            else:
                self.discarded += len(payload)
            if requests:  # answered after taking the bytes ahead of the request, like a printer's input buffer
                os.write(self.master, epson_answer(self.state, requests))
            for n in splitter.take_identity_requests():
                if self.model is not None and n in (67, 66):
                    os.write(self.master, b"_" + self.model[0 if n == 67 else 1] + b"\x00")

    def print(self, payload: bytes) -> None:
        """Bytes that reached the paper (the printer was ready)."""
        self.printed += payload

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=WAIT_S)
        os.close(self.master)


@pytest.fixture
def pty_printer() -> Iterator[PtyPrinter]:
    printer = PtyPrinter()
    yield printer
    printer.close()


def run(story: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(story, WAIT_S))


async def wait_for_bytes(printer: PtyPrinter, count: int) -> bytes:
    for _ in range(500):
        if len(printer.printed) >= count:
            break
        await asyncio.sleep(0.01)
    return bytes(printer.printed)


def test_a_job_over_a_serial_line_arrives_byte_exact_and_status_is_read_back(pty_printer: PtyPrinter) -> None:
    async def story() -> tuple[PrinterState, PrinterState, bytes]:
        printer = open_transport(
            f"serial://{pty_printer.device}?baudrate=19200&flow=none", dot_width=576, data_dir=Path()
        )
        await printer.open()
        before = await printer.status()
        await printer.send(JOB)
        after = await printer.status()
        await printer.close()
        return before, after, await wait_for_bytes(pty_printer, len(JOB))

    assert run(story()) == (PrinterState.ready, PrinterState.ready, JOB)


def test_paper_out_holds_the_job_until_paper_is_loaded(pty_printer: PtyPrinter) -> None:
    pty_printer.state = PrinterState.paper_out

    async def attempt() -> PrinterError | None:
        """What a printer worker does: check, send only when the printer can print, check again."""
        printer = SerialTransport(pty_printer.device)
        await printer.open()
        try:
            problem = state_error(await printer.status())
            if problem is None:
                await printer.send(JOB)
                problem = state_error(await printer.status())
            return problem
        finally:
            await printer.close()

    held = run(attempt())
    assert isinstance(held, PrinterError)
    assert (str(held), held.retryable) == ("PRINTER: Paper out", True)
    assert pty_printer.printed == b"" and pty_printer.discarded == 0  # nothing was sent into the empty printer

    pty_printer.state = PrinterState.ready  # the assistant loads a new roll; the spool retries
    assert run(attempt()) is None
    assert run(wait_for_bytes(pty_printer, len(JOB))) == JOB


@pytest.mark.parametrize(
    ("state", "message"),
    [(PrinterState.cover_open, "PRINTER: Cover open"), (PrinterState.offline, "PRINTER: Printer offline")],
)
def test_faults_are_read_back_as_sentences(pty_printer: PtyPrinter, state: PrinterState, message: str) -> None:
    pty_printer.state = state

    async def story() -> PrinterState:
        printer = SerialTransport(pty_printer.device)
        await printer.open()
        try:
            return await printer.status()
        finally:
            await printer.close()

    read = run(story())
    assert read is state
    assert str(state_error(read)) == message


def test_a_printer_that_never_answers_is_offline(tmp_path: Path) -> None:
    master, slave = os.openpty()  # nothing reads the master: a printer switched off at the end of the cable
    device = os.ttyname(slave)
    os.close(slave)
    try:

        async def story() -> PrinterState:
            printer = SerialTransport(device)
            await printer.open()
            try:
                return await printer.status()
            finally:
                await printer.close()

        assert run(story()) is PrinterState.offline
    finally:
        os.close(master)


def test_a_missing_serial_port_says_to_plug_the_printer_in(tmp_path: Path) -> None:
    async def story() -> None:
        await SerialTransport(str(tmp_path / "ttyUSB9")).open()

    with pytest.raises(PrinterError) as failure:
        run(story())
    assert "serial port not found (is the printer plugged in?)" in str(failure.value)
    assert failure.value.retryable is True


@pytest.mark.parametrize("code", [errno.EIO, errno.ENXIO])
def test_a_port_that_fails_to_open_is_not_reported_as_lost_mid_print(code: int) -> None:
    def opener(device: str, **arguments: object) -> HeldPort:
        raise OSError(code, os.strerror(code))

    async def story() -> None:
        await SerialTransport("/dev/ttyUSB0", opener=opener).open()

    with pytest.raises(PrinterError) as failure:
        run(story())
    assert str(failure.value) == (
        "PRINTER: Cannot write to /dev/ttyUSB0: the serial port cannot be opened (is the printer switched on?)"
    )
    assert failure.value.retryable is True


def test_serial_uri_options_are_checked_when_the_configuration_is_read() -> None:
    parsed = parse_uri("serial:///dev/ttyUSB0?baudrate=38400&flow=rtscts&parity=E")
    assert parsed.location == "/dev/ttyUSB0"
    settings = SerialSettings.from_options(dict(parsed.options))
    assert (settings.baudrate, settings.flow, settings.parity) == (38400, "rtscts", "E")
    assert parse_uri("serial://COM3?baudrate=9600").location == "COM3"
    with pytest.raises(PrinterError, match="baudrate must be a number"):
        parse_uri("serial:///dev/ttyS0?baudrate=fast")
    with pytest.raises(PrinterError, match="flow must be one of none, rtscts, xonxoff, dsrdtr"):
        parse_uri("serial:///dev/ttyS0?flow=magic")
    with pytest.raises(PrinterError, match="unknown option 'speed'"):
        parse_uri("serial:///dev/ttyS0?speed=9600")


def test_through_the_daemon_a_serial_printer_out_of_paper_holds_the_job_until_paper_is_loaded(
    pty_printer: PtyPrinter, tmp_path: Path
) -> None:
    pty_printer.state = PrinterState.paper_out
    launcher = DaemonLauncher(tmp_path / "daemon")
    try:
        running = launcher.start(
            printers=[
                {"name": "counter", "uri": f"serial://{pty_printer.device}?baudrate=38400"},
                {"name": "reference", "uri": "virtual://reference"},
            ],
            spool={"retry_initial_seconds": 0.2, "retry_max_seconds": 0.5},
        )
        client = running.connect()
        _, reference = client.print_job(ticket("reference", "TABLE 3", printer="reference"))
        _, waiting = client.print_job(ticket("held", "TABLE 3", printer="counter"))
        assert pty_printer.printed == b"" and pty_printer.discarded == 0

        pty_printer.state = PrinterState.ready  # the assistant loads a new roll
        result = client.recv(timeout=WAIT_S)
    finally:
        launcher.stop_all()

    assert reference["status"] == "success", reference
    assert waiting == {"tipo": "job", "id": "held", "status": "waiting", "mensaje": "PRINTER: Paper out"}
    assert (result["tipo"], result["id"], result["status"]) == ("result", "held", "success")
    assert bytes(pty_printer.printed) == running.virtual_jobs("reference")[0]


class HeldPort:
    """A port whose printer holds CTS low (buffer full, or switched off): pyserial's write gives up after
    ``write_timeout`` with ``SerialTimeoutException``."""

    def __init__(self) -> None:
        self.write_timeout: float | None = None
        self.closed = False

    def write(self, data: bytes, /) -> int | None:
        import serial

        raise serial.SerialTimeoutException("Write timeout")

    def flush(self) -> None: ...

    def read(self, size: int = 1, /) -> bytes:
        return b""

    def reset_input_buffer(self) -> None: ...

    def close(self) -> None:
        self.closed = True


def test_a_printer_holding_flow_control_times_out_the_send_with_a_budget_for_the_line_speed() -> None:
    port = HeldPort()
    opened: dict[str, object] = {}

    def opener(device: str, **arguments: object) -> HeldPort:
        opened.update(arguments, device=device)
        return port

    async def story() -> None:
        printer = SerialTransport("/dev/ttyS1", SerialSettings(baudrate=9600, flow="rtscts"), opener=opener)
        await printer.open()
        try:
            await printer.send(b"x" * 9_600)
        finally:
            await printer.close()

    with pytest.raises(PrinterError) as failure:
        run(story())

    assert (str(failure.value), failure.value.retryable) == ("PRINTER: Timed out sending to /dev/ttyS1", True)
    assert opened["rtscts"] is True and opened["baudrate"] == 9600
    assert port.write_timeout == pytest.approx(10.0 + 9_600 / 960)  # 8N1: 10 bits a byte, 960 bytes a second
    assert port.closed


def test_the_answer_to_the_query_behind_a_job_is_the_status_that_follows_it(pty_printer: PtyPrinter) -> None:
    async def story() -> tuple[PrinterState, PrinterState, bool]:
        printer = SerialTransport(pty_printer.device)
        await printer.open()
        try:
            assert await printer.status() is PrinterState.ready
            await printer.send(JOB)
            pty_printer.state = PrinterState.cover_open  # opened after the job: the next check sees it, not this one
            after_job = await printer.status()
            return after_job, await printer.status(), printer.can_take_another_job()
        finally:
            await printer.close()

    assert run(story()) == (PrinterState.ready, PrinterState.cover_open, True)
    assert bytes(pty_printer.printed) == JOB


def test_a_printer_that_takes_a_job_but_never_answers_behind_it_is_offline_and_its_port_is_not_kept() -> None:
    master, slave = os.openpty()  # nothing reads the master: the printer died as the job went out
    device = os.ttyname(slave)
    os.close(slave)
    try:

        async def story() -> tuple[PrinterState, bool]:
            printer = SerialTransport(device, timeouts=Timeouts(status=0.3))
            await printer.open()
            try:
                await printer.send(b"job\n")  # the bytes left the UART: sent, whatever the printer says next
                return await printer.status(), printer.can_take_another_job()
            finally:
                await printer.close()

        assert run(story()) == (PrinterState.offline, False)
    finally:
        os.close(master)
