"""Printers that say what they are (GS I): over a serial line and USB, a printer configured with no profile is
asked its model and manufacturer, and the answer picks its escpos-printer-db profile. The serial printer is a
real pty; USB is a fake with pyusb's shape (no USB hardware here)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from printers.fake_pyusb import EPSON, FakePyusb
from printers.test_serial_port import PtyPrinter
from ticket_daemon.config import PrinterSettings
from ticket_daemon.printers.identify import PrinterIdentity, identify_over_usb, identify_printers, reply_text
from ticket_daemon.printers.registry import PrinterRegistry
from ticket_daemon.printers.usb import UsbTransport

WAIT_S = 10.0


@pytest.fixture
def pty_model_printer() -> Iterator[PtyPrinter]:
    printer = PtyPrinter(model=(b"TM-T20II", b"EPSON"))
    yield printer
    printer.close()


def test_a_serial_printer_with_no_profile_is_identified(pty_model_printer: PtyPrinter) -> None:
    registry = PrinterRegistry.from_settings(
        [PrinterSettings(name="counter", uri=f"serial://{pty_model_printer.device}?baudrate=38400")]
    )

    asyncio.run(identify_printers(registry, timeout=WAIT_S))

    [detail] = registry.details()
    assert (detail["profile"], detail["profile_source"]) == ("TM-T20II", "identified")
    assert detail["reported"] == {"model": "TM-T20II", "manufacturer": "EPSON"}
    assert pty_model_printer.printed == b"", "the questions are not printed"


def test_identification_is_not_asked_when_the_printer_has_a_profile(pty_model_printer: PtyPrinter) -> None:
    uri = f"serial://{pty_model_printer.device}"
    registry = PrinterRegistry.from_settings([PrinterSettings(name="counter", uri=uri, profile="TM-T88V")])

    asyncio.run(identify_printers(registry, timeout=WAIT_S))

    assert registry.printers[0].identity is None
    assert registry.details()[0]["profile"] == "TM-T88V"


def test_identification_can_be_switched_off(pty_model_printer: PtyPrinter) -> None:
    uri = f"serial://{pty_model_printer.device}"
    registry = PrinterRegistry.from_settings([PrinterSettings(name="counter", uri=uri, identify=False)])

    asyncio.run(identify_printers(registry, timeout=WAIT_S))

    assert registry.details()[0]["profile_source"] == "default"


def test_a_usb_printer_says_what_it_is_on_bulk_in() -> None:
    api = FakePyusb()
    device = api.plug()
    device.identity = ("TM-T88V", "EPSON")

    identity = asyncio.run(identify_over_usb(UsbTransport(EPSON, api=api), 1.0))

    assert identity == PrinterIdentity("TM-T88V", "EPSON")
    assert device.printed == b""
    assert "release_interface" in api.names(), "the device is released again for the printer's worker"


def test_a_usb_printer_that_says_nothing_is_not_identified() -> None:
    api = FakePyusb()
    api.plug()

    assert asyncio.run(identify_over_usb(UsbTransport(EPSON, api=api), 0.2)) is None


def test_a_reply_is_read_after_status_bytes_and_only_once_complete() -> None:
    assert reply_text(b"\x14\x00\x00\x0f_TM-T20II\x00") == "TM-T20II"
    assert reply_text(b"_TM-T20") is None
    assert reply_text(b"") is None
