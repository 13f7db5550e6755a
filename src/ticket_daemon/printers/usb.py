"""``usb://VID:PID[?interface=N]``: raw ESC/POS over a USB printer's bulk OUT endpoint (pyusb), status over bulk IN.

The pyusb package is the injectable ``api`` (``usb`` itself by default, imported lazily): the transport only uses
``api.core.find``, ``api.core.USBError``/``USBTimeoutError``, ``api.util.claim_interface``/``release_interface``/
``dispose_resources`` and the device's own methods, so a faithful fake can stand in for the tests. Every call runs
in a daemon thread bounded by the transport's timeouts, and pyusb's own timeouts (milliseconds) are set from them.

On Linux the ``usblp`` kernel driver usually owns the printer (``/dev/usb/lp0``, also usable as ``file://``): it is
detached while the daemon holds the interface and re-attached on close. Opening needs write access to the device
node: without it the job fails at once with a message pointing at the udev rule in ``docs/printers.md``.

Status is ``DLE EOT 1, 2, 4`` answered on the bulk IN endpoint; a printer without one reports ``unknown``. After a
job, the query is asked in the same thread call as the job's write (one hand-off per job), and ``status()`` gives its
answer.

While jobs wait for the printer, the interface stays claimed from one job to the next (``usblp`` gets the printer
back once nothing waits); ``?connection=per-job`` claims and releases it for each job.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from .base import DEFAULT_TIMEOUTS, Timeouts
from .errors import PrinterError, connection_lost, send_timed_out
from .status import PrinterState
from .status_exchange import StatusExchange
from .threads import close_within, run_in_daemon_thread

T = TypeVar("T")

_USB_ID = re.compile(r"([0-9A-Fa-f]{4}):([0-9A-Fa-f]{4})")
ENDPOINT_IN = 0x80  # bEndpointAddress bit 7: device-to-host (USB 2.0 §9.6.6)
TRANSFER_TYPE_MASK = 0x03  # bmAttributes bits 1..0
TRANSFER_BULK = 0x02
PRINTER_CLASS = 0x07  # bInterfaceClass of USB printers (USB Printer Class 1.1)
_READ_SIZE = 64  # one full-speed bulk packet; status replies are single bytes
# Bytes per bulk write call: small enough that a timeout leaves little of the job in doubt, big enough to keep a
# 250 mm/s printer fed (it consumes about 40 kB/s of raster).
_WRITE_CHUNK = 16 * 1024
UDEV_HINT = "see the udev rule in docs/printers.md"


@dataclass(frozen=True, slots=True)
class UsbTarget:
    OPTIONS: ClassVar[tuple[str, ...]] = ("interface",)

    vendor: int
    product: int
    interface: int = 0

    @property
    def id(self) -> str:
        return f"{self.vendor:04x}:{self.product:04x}"

    @classmethod
    def parse(cls, location: str, options: Mapping[str, str]) -> UsbTarget:
        """``04b8:0202`` plus ``interface``. Raises ``ValueError`` naming what is wrong."""
        matched = _USB_ID.fullmatch(location)
        if not matched:
            raise ValueError("expected usb://VID:PID with 4 hex digits each, e.g. usb://04b8:0202")
        interface = options.get("interface", "0")
        if not interface.isdigit() or int(interface) > 255:
            raise ValueError(f"interface must be a number 0-255, not '{interface}'")
        return cls(int(matched.group(1), 16), int(matched.group(2), 16), int(interface))


def load_pyusb() -> Any:
    import usb.core  # lazily: only USB printers need pyusb
    import usb.util

    return usb


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class _Link:
    """An opened device: the claimed interface and its endpoint addresses."""

    def __init__(self, device: Any, interface: int, out_address: int, in_address: int | None, reattach: bool) -> None:
        self.device = device
        self.interface = interface
        self.out_address = out_address
        self.in_address = in_address
        self.reattach = reattach


class UsbTransport:
    def __init__(
        self,
        target: UsbTarget,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        api: Any = None,
        connection_per_job: bool = False,
    ) -> None:
        self.target = target
        self.uri = f"usb://{target.id}" + (f"?interface={target.interface}" if target.interface else "")
        self.timeouts = timeouts
        self.can_read_status = True  # until open() finds no bulk IN endpoint
        self.streams_jobs = True
        self._api = api
        self._reusable = not connection_per_job
        self._link: _Link | None = None
        self._healthy = False  # open, and every write and status exchange since went as expected
        self._exchange = StatusExchange(timeouts)
        self._answer: PrinterState | None = None  # the answer to the query sent behind the last job, not yet given

    def _pyusb(self) -> Any:
        if self._api is None:
            try:
                self._api = load_pyusb()
            except ImportError:
                raise PrinterError("pyusb is not installed: USB printers cannot be used", retryable=False) from None
        return self._api

    def _error(self, error: Exception) -> PrinterError:
        """pyusb's ``USBError`` carries the errno libusb reported (``USBTimeoutError`` is a subclass)."""
        api = self._pyusb()
        where = f"USB printer {self.target.id}"
        if isinstance(error, api.core.USBTimeoutError):
            return send_timed_out(where)
        code = getattr(error, "errno", None)
        if code == errno.EACCES or code == errno.EPERM:
            return PrinterError(f"Permission denied opening {where} ({UDEV_HINT})", retryable=False)
        if code == errno.ENODEV or code == errno.ENOENT:
            return PrinterError(f"{where} was unplugged or switched off")
        if code == errno.EBUSY:
            return PrinterError(f"{where} is in use by another program")
        if code == errno.EPIPE or code == errno.EIO:
            return connection_lost()
        return PrinterError(f"{where} failed: {getattr(error, 'strerror', None) or error}")

    def _open_link(self) -> _Link:
        api = self._pyusb()
        target = self.target
        try:
            device = api.core.find(idVendor=target.vendor, idProduct=target.product)
        except ValueError:  # usb.core.NoBackendError: pyusb found no libusb to talk to USB with
            raise PrinterError(
                "USB printers need the libusb library, which is not installed on this computer (see docs/printers.md)",
                retryable=False,
            ) from None
        if device is None:
            raise PrinterError(f"USB printer {target.id} not found (is it plugged in and switched on?)")
        reattach = False
        try:
            if device.is_kernel_driver_active(target.interface):  # usblp owns it on Linux
                device.detach_kernel_driver(target.interface)
                reattach = True
        except NotImplementedError:  # Windows and macOS backends have no kernel driver to detach
            pass
        try:
            configuration = device.get_active_configuration()
        except api.core.USBError:  # not configured yet
            device.set_configuration()
            configuration = device.get_active_configuration()
        try:
            endpoints = list(configuration[(target.interface, 0)])
        except LookupError:  # pyusb raises IndexError for an interface the device does not have
            if reattach:
                with contextlib.suppress(Exception):
                    device.attach_kernel_driver(target.interface)
            raise PrinterError(
                f"USB printer {target.id} has no interface {target.interface}: "
                "fix '?interface=' in its address (most printers use 0)",
                retryable=False,
            ) from None
        out_address, in_address = None, None
        for endpoint in endpoints:
            if endpoint.bmAttributes & TRANSFER_TYPE_MASK != TRANSFER_BULK:
                continue
            if endpoint.bEndpointAddress & ENDPOINT_IN:
                in_address = in_address if in_address is not None else endpoint.bEndpointAddress
            elif out_address is None:
                out_address = endpoint.bEndpointAddress
        if out_address is None:
            raise PrinterError(f"USB device {target.id} has no bulk OUT endpoint: is it a printer?", retryable=False)
        api.util.claim_interface(device, target.interface)
        return _Link(device, target.interface, out_address, in_address, reattach)

    def _release(self, link: _Link | None) -> None:
        if link is None:
            return
        api = self._pyusb()
        with contextlib.suppress(Exception):
            api.util.release_interface(link.device, link.interface)
        if link.reattach:
            with contextlib.suppress(Exception):
                link.device.attach_kernel_driver(link.interface)
        with contextlib.suppress(Exception):
            api.util.dispose_resources(link.device)

    async def open(self) -> None:
        if self._link is not None:
            return
        api = self._pyusb()
        try:
            async with asyncio.timeout(self.timeouts.connect):
                self._link = await run_in_daemon_thread(self._open_link, abandoned=self._release)
        except TimeoutError:
            raise PrinterError(f"USB printer {self.target.id} does not answer") from None
        except api.core.USBError as error:
            raise self._error(error) from None
        self.can_read_status = self._link.in_address is not None
        self._exchange.restart()
        self._answer = None
        self._healthy = True

    async def _run(self, work: Callable[[_Link], T], budget: float) -> T:
        link = self._link
        if link is None:
            raise RuntimeError(f"{self.uri}: send() or status() before open()")
        try:
            async with asyncio.timeout(budget):
                return await run_in_daemon_thread(lambda: work(link), abandoned=lambda _: self._release(link))
        except TimeoutError:
            self._link = None  # its thread releases the device when it is done
            raise

    async def send(self, data: bytes) -> None:
        """Write ``data`` on bulk OUT. With a bulk IN endpoint, the status query goes out right behind the job in the
        same thread call (one hand-off for the job and its confirmation), and the next :meth:`status` gives that
        answer."""
        budget = self.timeouts.for_write(len(data))
        ask = self.can_read_status and not self._exchange.unanswered
        # What status() would allow right after the write: the status timeout plus the printer's time for the job.
        status_budget = self.timeouts.status + len(data) / self.timeouts.slowest_bytes_per_second
        written = threading.Event()
        api = self._pyusb()

        def write_then_ask(link: _Link) -> bytes | PrinterState | None:
            view = memoryview(data)
            stop = time.monotonic() + budget
            while view:
                left = stop - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                written_now = link.device.write(link.out_address, bytes(view[:_WRITE_CHUNK]), _milliseconds(left))
                view = view[written_now:]
            written.set()
            if not ask:
                return None
            try:
                return self._ask(api, link, status_budget)
            except api.core.USBError as error:
                return PrinterState.unknown if isinstance(error, api.core.USBTimeoutError) else PrinterState.offline

        self._answer = None
        self._healthy = False  # until this write went through: a failed or cancelled one ends the link's service
        extra = status_budget + self.timeouts.status if ask else 0.0
        try:
            outcome = await self._run(write_then_ask, budget + self.timeouts.write + extra)
        except TimeoutError:
            if not written.is_set():
                raise send_timed_out(f"USB printer {self.target.id}") from None
            outcome = PrinterState.unknown  # sent, but no answer in time: its thread was given up on with the link
        except api.core.USBError as error:
            raise self._error(error) from None
        self._exchange.job_sent(len(data))
        if isinstance(outcome, bytes):
            outcome = self._exchange.verdict(outcome, silence=PrinterState.unknown)
            self._healthy = True
        else:
            self._healthy = outcome is None
        self._answer = outcome

    async def status(self) -> PrinterState:
        """``DLE EOT 1, 2, 4`` out, one byte each back on bulk IN (``status_exchange``). Unplugged: ``offline``; no
        or a partial answer: ``unknown``. Right after a job, the answer to the query sent behind it."""
        answer, self._answer = self._answer, None
        if answer is not None:
            return answer
        if not self.can_read_status:
            return PrinterState.unknown
        if self._link is None:
            return PrinterState.offline
        if self._exchange.unanswered:
            return PrinterState.unknown
        api = self._pyusb()
        budget = self._exchange.budget()
        try:
            replies = await self._run(lambda link: self._ask(api, link, budget), budget + self.timeouts.status)
        except TimeoutError:
            self._healthy = False
            return PrinterState.unknown
        except api.core.USBError as error:
            self._healthy = False
            return PrinterState.unknown if isinstance(error, api.core.USBTimeoutError) else PrinterState.offline
        return self._exchange.verdict(replies, silence=PrinterState.unknown)

    def _ask(self, api: Any, link: _Link, budget: float) -> bytes:
        """Blocking, in the link's thread: the replies to one status query within ``budget`` seconds."""
        in_address = link.in_address
        assert in_address is not None

        def write(query: bytes) -> None:
            link.device.write(link.out_address, query, _milliseconds(budget))

        def read(_count: int, seconds: float) -> bytes:
            try:
                return bytes(link.device.read(in_address, _READ_SIZE, _milliseconds(seconds)))
            except api.core.USBTimeoutError:
                raise TimeoutError from None  # nothing more came within the time left

        with contextlib.suppress(api.core.USBTimeoutError):  # drop unsolicited bytes (ASB) first
            link.device.read(in_address, _READ_SIZE, 1)
        return self._exchange.collect(write, read, budget)

    async def ask(self, query: bytes, complete: Callable[[bytes], bool], budget: float) -> bytes:
        """``query`` out on bulk OUT, then what comes back on bulk IN until ``complete(reply)`` or ``budget`` seconds
        have passed (printer identification, GS I). Empty when the printer has no IN endpoint or says nothing."""
        if self._link is None or self._link.in_address is None:
            return b""
        api = self._pyusb()

        def exchange(link: _Link) -> bytes:
            in_address = link.in_address
            assert in_address is not None
            stop = time.monotonic() + budget
            link.device.write(link.out_address, query, _milliseconds(budget))
            reply = b""
            while not complete(reply) and (left := stop - time.monotonic()) > 0:
                try:
                    reply += bytes(link.device.read(in_address, _READ_SIZE, _milliseconds(left)))
                except api.core.USBTimeoutError:
                    break
            return reply

        try:
            return await self._run(exchange, budget + self.timeouts.status)
        except (TimeoutError, api.core.USBError):
            return b""

    def can_take_another_job(self) -> bool:
        """The interface is claimed and every exchange on it went as expected: the next job may use it."""
        return self._reusable and self._link is not None and self._healthy and not self._exchange.unanswered

    async def close(self) -> None:
        link, self._link = self._link, None
        if link is None:
            return
        await close_within(self.timeouts.status, lambda: self._release(link))
