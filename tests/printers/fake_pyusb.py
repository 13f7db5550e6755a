"""pyusb as the USB transport sees it: ``core.find``, ``core.USBError(strerror, error_code, errno)``,
``core.USBTimeoutError``, ``util.claim_interface``…, and an Epson-like printer whose configuration is indexed by
``(interface, alternate)``. ``test_fake_conformance.py`` checks these signatures against the installed pyusb."""

from __future__ import annotations

import array
import errno
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from printers.epson_replies import epson_answer
from ticket_daemon.printers import PrinterState
from ticket_daemon.printers.realtime import RealtimeSplitter
from ticket_daemon.printers.usb import UsbTarget

EPSON = UsbTarget(0x04B8, 0x0202)


class USBError(OSError):
    """``usb.core.USBError(strerror, error_code=None, errno=None)``."""

    def __init__(self, strerror: str, error_code: int | None = None, errno: int | None = None) -> None:
        super().__init__(errno, strerror)
        self.backend_error_code = error_code


class USBTimeoutError(USBError):
    pass


@dataclass
class Endpoint:
    bEndpointAddress: int
    bmAttributes: int


class FakeConfiguration(dict[tuple[int, int], list[Endpoint]]):
    """pyusb's ``Configuration``: indexing an interface it does not have raises IndexError."""

    def __missing__(self, key: tuple[int, int]) -> list[Endpoint]:
        raise IndexError(f"invalid interface {key}")


class FakePrinterDevice:
    """An Epson-like USB printer: bulk OUT 0x01, bulk IN 0x82, owned by usblp until detached."""

    def __init__(self, api: FakePyusb, state: PrinterState = PrinterState.ready, packet: int = 64) -> None:
        self.api = api
        self.state = state
        self.packet = packet  # bytes taken per write call
        self.configured = False
        self.kernel_driver = True
        self.printed = bytearray()
        self.pending_replies = bytearray()
        self.fail_write: Exception | None = None
        self.fail_write_after = 0  # bytes accepted before fail_write is raised
        self.identity: tuple[str, str] | None = None  # (model, manufacturer) it answers GS I with; None: silent
        self._splitter = RealtimeSplitter()

    def is_kernel_driver_active(self, interface: int) -> bool:
        self.api.calls.append(("is_kernel_driver_active", interface))
        return self.kernel_driver

    def detach_kernel_driver(self, interface: int) -> None:
        self.api.calls.append(("detach_kernel_driver", interface))
        self.kernel_driver = False

    def attach_kernel_driver(self, interface: int) -> None:
        self.api.calls.append(("attach_kernel_driver", interface))
        self.kernel_driver = True

    def set_configuration(self) -> None:
        self.api.calls.append(("set_configuration",))
        self.configured = True

    def get_active_configuration(self) -> dict[tuple[int, int], list[Endpoint]]:
        self.api.calls.append(("get_active_configuration",))
        if not self.configured:
            raise USBError("Configuration not set", None, None)
        return FakeConfiguration({(0, 0): [Endpoint(0x82, 0x02), Endpoint(0x01, 0x02), Endpoint(0x83, 0x03)]})

    def write(self, endpoint: int, data: Any, timeout: int) -> int:
        self.api.calls.append(("write", endpoint))
        assert endpoint == 0x01
        chunk = bytes(data[: self.packet])
        if self.fail_write is not None and len(self.printed) + len(chunk) > self.fail_write_after:
            raise self.fail_write
        payload, requests = self._splitter.feed(chunk)
        self.pending_replies += epson_answer(self.state, requests)
        for n in self._splitter.take_identity_requests():  # GS I 67 model, 66 manufacturer: 5F text 00
            text = {67: self.identity[0], 66: self.identity[1]}.get(n) if self.identity else None
            if text is not None:
                self.pending_replies += b"_" + text.encode() + b"\x00"
        if self.state is PrinterState.ready:
            self.printed += payload
        return len(chunk)

    def read(self, endpoint: int, size_or_buffer: int, timeout: int) -> array.array[int]:
        self.api.calls.append(("read", endpoint))
        assert endpoint == 0x82
        if not self.pending_replies:
            raise USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
        out, self.pending_replies = self.pending_replies[:size_or_buffer], self.pending_replies[size_or_buffer:]
        return array.array("B", out)


class FakePyusb:
    """The ``usb`` package as the transport sees it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.devices: dict[tuple[int, int], FakePrinterDevice] = {}
        self.find_error: Exception | None = None
        self.core = SimpleNamespace(find=self._find, USBError=USBError, USBTimeoutError=USBTimeoutError)
        self.util = SimpleNamespace(
            claim_interface=lambda device, interface: self.calls.append(("claim_interface", interface)),
            release_interface=lambda device, interface: self.calls.append(("release_interface", interface)),
            dispose_resources=lambda device: self.calls.append(("dispose_resources",)),
        )

    def plug(self, target: UsbTarget = EPSON, **options: Any) -> FakePrinterDevice:
        device = FakePrinterDevice(self, **options)
        self.devices[(target.vendor, target.product)] = device
        return device

    def _find(self, *, idVendor: int, idProduct: int) -> FakePrinterDevice | None:
        self.calls.append(("find", idVendor, idProduct))
        if self.find_error is not None:
            raise self.find_error
        return self.devices.get((idVendor, idProduct))

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]


@dataclass
class FakeUsbDevice:
    """A device on the bus as discovery sees it: descriptors only."""

    idVendor: int
    idProduct: int
    interface_classes: list[int] = field(default_factory=list)

    def __iter__(self) -> Any:  # configurations → interfaces, as pyusb iterates them
        interfaces = [
            SimpleNamespace(bInterfaceNumber=n, bInterfaceClass=c) for n, c in enumerate(self.interface_classes)
        ]
        return iter([interfaces])


class FakeUsbBus:
    """The ``usb`` package as discovery sees it: ``core.find(find_all=True)`` lists every device."""

    def __init__(self, devices: list[FakeUsbDevice]) -> None:
        self.devices = devices
        self.core = SimpleNamespace(find=self._find)

    def _find(self, find_all: bool = False) -> Iterator[FakeUsbDevice]:
        assert find_all
        return iter(self.devices)
