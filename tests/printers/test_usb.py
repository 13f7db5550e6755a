"""A receipt printer plugged in by USB (``usb://VID:PID``): bulk OUT carries the job, bulk IN the DLE EOT replies.

pyusb is replaced by a fake with its shape (``core.find``, ``core.USBError(strerror, error_code, errno)``,
``core.USBTimeoutError``, ``util.claim_interface``…, a device whose configuration is indexed by
``(interface, alternate)``). The tests assert the call sequence (kernel driver detached and given back) and what the
assistant is told. Nothing here runs against real USB hardware (see docs/printers.md)."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest

from printers.fake_pyusb import EPSON, FakePyusb, USBError, USBTimeoutError
from ticket_daemon.printers import PrinterError, PrinterState, open_transport, parse_uri
from ticket_daemon.printers.usb import UsbTarget, UsbTransport

JOB = b"\x1b@USB RECEIPT\n" + bytes(range(256)) + b"\x1dVA\x03"


def run_story(api: FakePyusb, *, data: bytes = JOB) -> tuple[PrinterState, ...]:
    async def story() -> tuple[PrinterState, ...]:
        printer = UsbTransport(EPSON, api=api)
        await printer.open()
        try:
            before = await printer.status()
            if before is not PrinterState.ready:
                return (before,)
            await printer.send(data)
            return before, await printer.status()
        finally:
            await printer.close()

    return asyncio.run(asyncio.wait_for(story(), 20))


def test_a_job_goes_out_on_bulk_out_byte_exact_and_usblp_is_given_the_printer_back() -> None:
    api = FakePyusb()
    device = api.plug()

    assert run_story(api) == (PrinterState.ready, PrinterState.ready)
    assert bytes(device.printed) == JOB
    assert api.names()[:7] == [
        "find",
        "is_kernel_driver_active",
        "detach_kernel_driver",
        "get_active_configuration",
        "set_configuration",
        "get_active_configuration",
        "claim_interface",
    ]
    assert api.names()[-3:] == ["release_interface", "attach_kernel_driver", "dispose_resources"]
    assert device.kernel_driver is True


def test_paper_out_is_read_back_and_nothing_is_sent() -> None:
    api = FakePyusb()
    device = api.plug(state=PrinterState.paper_out)

    assert run_story(api) == (PrinterState.paper_out,)
    assert device.printed == b""


def test_an_unplugged_printer_is_retryable_with_a_plain_sentence() -> None:
    api = FakePyusb()
    with pytest.raises(PrinterError) as failure:
        run_story(api)
    assert str(failure.value) == "PRINTER: USB printer 04b8:0202 not found (is it plugged in and switched on?)"
    assert failure.value.retryable is True


def test_permission_denied_points_at_the_udev_rule() -> None:
    api = FakePyusb()
    api.plug()
    api.find_error = USBError("Access denied (insufficient permissions)", -3, errno.EACCES)
    with pytest.raises(PrinterError) as failure:
        run_story(api)
    assert str(failure.value) == (
        "PRINTER: Permission denied opening USB printer 04b8:0202 (see the udev rule in docs/printers.md)"
    )
    assert failure.value.retryable is False


def test_a_computer_without_libusb_gets_a_sentence_not_a_crash() -> None:
    api = FakePyusb()
    api.plug()
    api.find_error = ValueError("No backend available")  # usb.core.NoBackendError is a ValueError
    with pytest.raises(PrinterError) as failure:
        run_story(api)
    assert str(failure.value) == (
        "PRINTER: USB printers need the libusb library, which is not installed on this computer (see docs/printers.md)"
    )
    assert failure.value.retryable is False


def test_an_interface_the_printer_does_not_have_names_the_address_option() -> None:
    api = FakePyusb()
    device = api.plug()

    async def story() -> None:
        await UsbTransport(UsbTarget(EPSON.vendor, EPSON.product, interface=3), api=api).open()

    with pytest.raises(PrinterError) as failure:
        asyncio.run(asyncio.wait_for(story(), 20))
    assert str(failure.value) == (
        "PRINTER: USB printer 04b8:0202 has no interface 3: fix '?interface=' in its address (most printers use 0)"
    )
    assert failure.value.retryable is False
    assert device.kernel_driver is True  # usblp gets the printer back


def test_a_timeout_mid_write_is_reported_and_the_device_released() -> None:
    api = FakePyusb()
    device = api.plug()
    device.fail_write = USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
    device.fail_write_after = 128
    with pytest.raises(PrinterError) as failure:
        run_story(api)
    assert str(failure.value) == "PRINTER: Timed out sending to USB printer 04b8:0202"
    assert failure.value.retryable is True
    assert "release_interface" in api.names()


def test_unplugging_mid_job_says_the_printer_was_unplugged() -> None:
    api = FakePyusb()
    device = api.plug()
    device.fail_write = USBError("No such device (it may have been disconnected)", -4, errno.ENODEV)
    device.fail_write_after = 64
    with pytest.raises(PrinterError) as failure:
        run_story(api)
    assert str(failure.value) == "PRINTER: USB printer 04b8:0202 was unplugged or switched off"


def test_usb_uris_name_vendor_product_and_interface() -> None:
    parsed = parse_uri("usb://04B8:0e15?interface=1")
    assert (parsed.scheme, parsed.location, parsed.option("interface")) == ("usb", "04b8:0e15", "1")
    transport = open_transport("usb://04b8:0e15?interface=1", dot_width=576, data_dir=Path())
    assert isinstance(transport, UsbTransport) and transport.target == UsbTarget(0x04B8, 0x0E15, 1)
    with pytest.raises(PrinterError, match="expected usb://VID:PID"):
        parse_uri("usb://epson")


@pytest.mark.parametrize("per_job", [False, True])
def test_a_usb_link_may_carry_the_next_job_until_an_exchange_fails_unless_each_job_has_its_own(per_job: bool) -> None:
    api = FakePyusb()
    device = api.plug()

    async def story() -> list[bool]:
        printer = UsbTransport(EPSON, api=api, connection_per_job=per_job)
        answers = []
        await printer.open()
        try:
            for job in (b"first\n", b"second\n"):
                await printer.send(job)
                assert await printer.status() is PrinterState.ready
                answers.append(printer.can_take_another_job())
            device.fail_write = USBError("Input/Output Error", -1, errno.EIO)
            with pytest.raises(PrinterError):
                await printer.send(b"third\n")
            answers.append(printer.can_take_another_job())
        finally:
            await printer.close()
        return answers

    assert asyncio.run(asyncio.wait_for(story(), 20)) == [not per_job, not per_job, False]
    assert api.names().count("claim_interface") == 1
    assert bytes(device.printed) == b"first\nsecond\n"
