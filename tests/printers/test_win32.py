"""A till on Windows printing to an installed receipt printer through the spooler (``win32://Printer Name``).

pywin32 is replaced by a fake that behaves like ``win32print``: handles from ``OpenPrinter``, a spooled document per
``StartDocPrinter``, errors raised as ``pywintypes.error(winerror, funcname, strerror)``. The tests assert the exact
call sequence Microsoft documents for raw printing and what the assistant is told. Nothing here runs against the
real Windows spooler (see docs/printers.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from printers.fake_win32 import FakePywintypesError, FakeWin32Print
from ticket_daemon.printers import PrinterError, PrinterState, open_transport, parse_uri
from ticket_daemon.printers.win32 import Win32Transport

JOB = b"\x1b@WINDOWS RECEIPT\n" + bytes(range(256)) + b"\x1dVA\x03"


def print_job(api: FakeWin32Print, name: str = "EPSON TM-T20II Receipt", data: bytes = JOB) -> None:
    async def story() -> None:
        printer = Win32Transport(name, api=api)
        await printer.open()
        try:
            assert await printer.status() is PrinterState.unknown  # the spooler owns the printer
            await printer.send(data)
        finally:
            await printer.close()

    asyncio.run(asyncio.wait_for(story(), 20))


def test_a_raw_job_is_spooled_byte_exact_with_the_documented_call_sequence() -> None:
    api = FakeWin32Print()
    print_job(api)

    assert api.spooled == [JOB]
    writes = -(-len(JOB) // api.chunk)  # partial writes are continued until every byte is taken
    assert api.names() == [
        "OpenPrinter",
        "StartDocPrinter",
        "StartPagePrinter",
        *["WritePrinter"] * writes,
        "EndPagePrinter",
        "EndDocPrinter",
        "ClosePrinter",
    ]
    assert api.calls[1] == ("StartDocPrinter", 1, 1, ("ticket-daemon", None, "RAW"))


def test_a_printer_that_is_not_installed_fails_the_job_for_good() -> None:
    api = FakeWin32Print()
    with pytest.raises(PrinterError) as failure:
        print_job(api, name="Kitchen")

    assert str(failure.value) == "PRINTER: Windows printer 'Kitchen' is not installed"
    assert failure.value.retryable is False
    assert api.names() == ["OpenPrinter"]


def test_access_denied_is_reported_and_not_retried() -> None:
    api = FakeWin32Print()
    api.fail["OpenPrinter"] = FakePywintypesError(5, "OpenPrinter", "Access is denied.")
    with pytest.raises(PrinterError) as failure:
        print_job(api)

    assert str(failure.value) == "PRINTER: Access denied to Windows printer 'EPSON TM-T20II Receipt'"
    assert failure.value.retryable is False


def test_a_timeout_mid_write_aborts_the_document_so_no_half_receipt_stays_queued() -> None:
    api = FakeWin32Print()
    api.fail["WritePrinter"] = FakePywintypesError(121, "WritePrinter", "The semaphore timeout period has expired.")
    with pytest.raises(PrinterError) as failure:
        print_job(api)

    assert str(failure.value) == "PRINTER: Timed out sending to Windows printer 'EPSON TM-T20II Receipt'"
    assert failure.value.retryable is True
    assert api.names() == [
        "OpenPrinter",
        "StartDocPrinter",
        "StartPagePrinter",
        "WritePrinter",
        "AbortPrinter",
        "ClosePrinter",
    ]
    assert api.spooled == []


def test_a_stopped_spooler_is_retryable() -> None:
    api = FakeWin32Print()
    api.fail["OpenPrinter"] = FakePywintypesError(1722, "OpenPrinter", "The RPC server is unavailable.")
    with pytest.raises(PrinterError) as failure:
        print_job(api)
    assert str(failure.value) == "PRINTER: The Windows print spooler is not running"
    assert failure.value.retryable is True


def test_windows_printer_names_are_taken_whole_and_a_bare_name_means_the_spooler_on_windows() -> None:
    assert parse_uri("win32://EPSON TM-T20II Receipt").location == "EPSON TM-T20II Receipt"
    assert parse_uri("win32://\\\\till-2\\Receipt #2").location == "\\\\till-2\\Receipt #2"
    assert parse_uri("EPSON TM-T20II Receipt", windows=True) == parse_uri("win32://EPSON TM-T20II Receipt")
    with pytest.raises(PrinterError, match="the scheme must be one of"):
        parse_uri("EPSON TM-T20II Receipt", windows=False)
    transport = open_transport("win32://Bar", dot_width=576, data_dir=Path())
    assert isinstance(transport, Win32Transport) and transport.can_read_status is False
