"""``win32://Printer Name``: a RAW job through the Windows print spooler (pywin32's ``win32print``).

The sequence is the one Microsoft documents for sending raw data ("How To: Print Raw Data to a Printer"):
``OpenPrinter`` → ``StartDocPrinter`` (level 1, datatype ``RAW``) → ``StartPagePrinter`` → ``WritePrinter``… →
``EndPagePrinter`` → ``EndDocPrinter`` → ``ClosePrinter``, with ``AbortPrinter`` when anything fails after the
document was started, so no half job stays in the queue.

pywin32 is imported lazily; the ``api`` object (``win32print`` plus ``error``, pywintypes' exception type) is
injectable so a faithful fake can stand in for the tests. Its errors carry ``winerror``, ``funcname`` and
``strerror``, like ``pywintypes.error``.

The spooler owns the printer: ``status()`` is ``unknown`` (discovery reports the spooler's status word), and a job
is *sent* (spooled) when ``send()`` returns, not confirmed printed.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

from .base import DEFAULT_TIMEOUTS, Timeouts
from .errors import PrinterError, send_timed_out
from .status import PrinterState
from .threads import close_within, run_in_daemon_thread

JOB_TITLE = "ticket-daemon"
DOC_INFO_LEVEL = 1  # DOC_INFO_1: (pDocName, pOutputFile, pDatatype)

# Win32 error codes (winerror.h) the assistant can act on.
ERROR_ACCESS_DENIED = 5
ERROR_SEM_TIMEOUT = 121
ERROR_TIMEOUT = 1460
ERROR_INVALID_PRINTER_NAME = 1801
ERROR_PRINTER_NOT_FOUND = 3012
RPC_S_SERVER_UNAVAILABLE = 1722  # the spooler service is not running
ERROR_PRINTER_DELETED = 1905
ERROR_NOT_READY = 21


def load_pywin32() -> Any:
    import pywintypes  # lazily: only Windows printers need pywin32
    import win32print

    api = SimpleNamespace(**{name: getattr(win32print, name) for name in dir(win32print) if not name.startswith("_")})
    api.error = pywintypes.error
    return api


def spooler_error(name: str, error: Any) -> PrinterError:
    """A sentence for a ``pywintypes.error``: an unknown printer or a denied one needs the configuration fixed."""
    code = getattr(error, "winerror", None)
    if code in (ERROR_INVALID_PRINTER_NAME, ERROR_PRINTER_NOT_FOUND, ERROR_PRINTER_DELETED):
        return PrinterError(f"Windows printer '{name}' is not installed", retryable=False)
    if code == ERROR_ACCESS_DENIED:
        return PrinterError(f"Access denied to Windows printer '{name}'", retryable=False)
    if code == RPC_S_SERVER_UNAVAILABLE:
        return PrinterError("The Windows print spooler is not running")
    if code in (ERROR_SEM_TIMEOUT, ERROR_TIMEOUT):
        return send_timed_out(f"Windows printer '{name}'")
    if code == ERROR_NOT_READY:
        return PrinterError(f"Windows printer '{name}' is not ready")
    reason = getattr(error, "strerror", None) or str(error)
    return PrinterError(f"Windows printer '{name}': {reason}")


class Win32Transport:
    streams_jobs = False  # each job is a spooler document of its own
    can_read_status = False  # the spooler owns the printer; its state comes from EnumPrinters (discovery)

    def __init__(self, name: str, *, timeouts: Timeouts = DEFAULT_TIMEOUTS, api: Any = None) -> None:
        self.name = name
        self.uri = f"win32://{name}"
        self.timeouts = timeouts
        self._api = api
        self._handle: Any = None

    def _win32(self) -> Any:
        if self._api is None:
            try:
                self._api = load_pywin32()
            except ImportError:
                raise PrinterError(
                    "pywin32 is not installed: Windows printers cannot be used", retryable=False
                ) from None
        return self._api

    def _close_handle(self, handle: Any) -> None:
        if handle is not None:
            with contextlib.suppress(Exception):
                self._win32().ClosePrinter(handle)

    async def open(self) -> None:
        if self._handle is not None:
            return
        api = self._win32()
        name = self.name
        try:
            async with asyncio.timeout(self.timeouts.connect):
                self._handle = await run_in_daemon_thread(lambda: api.OpenPrinter(name), abandoned=self._close_handle)
        except TimeoutError:
            raise PrinterError("The Windows print spooler does not answer") from None
        except api.error as error:
            raise spooler_error(name, error) from None

    def _print_raw(self, handle: Any, data: bytes) -> None:
        api = self._win32()
        api.StartDocPrinter(handle, DOC_INFO_LEVEL, (JOB_TITLE, None, "RAW"))
        try:
            api.StartPagePrinter(handle)
            view = memoryview(data)
            while view:
                written = api.WritePrinter(handle, bytes(view))
                if not written:
                    raise api.error(ERROR_NOT_READY, "WritePrinter", "The device is not ready.")
                view = view[written:]
            api.EndPagePrinter(handle)
        except BaseException:
            with contextlib.suppress(Exception):
                api.AbortPrinter(handle)  # deletes the spool file: nothing half-printed stays in the queue
            raise
        api.EndDocPrinter(handle)

    async def send(self, data: bytes) -> None:
        handle = self._handle
        if handle is None:
            raise RuntimeError(f"{self.uri}: send() before open()")
        api = self._win32()
        try:
            async with asyncio.timeout(self.timeouts.for_write(len(data))):
                await run_in_daemon_thread(
                    lambda: self._print_raw(handle, data), abandoned=lambda _: self._close_handle(handle)
                )
        except TimeoutError:
            self._handle = None  # its thread still holds it and closes it when the spooler lets go
            raise send_timed_out(f"Windows printer '{self.name}'") from None
        except api.error as error:
            raise spooler_error(self.name, error) from None

    async def status(self) -> PrinterState:
        return PrinterState.unknown

    def can_take_another_job(self) -> bool:
        return False

    async def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        await close_within(self.timeouts.status, lambda: self._close_handle(handle))
