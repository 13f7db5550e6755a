"""``file:///path``: write ESC/POS bytes to a device node (``/dev/usb/lp0``) or a regular file.

Semantics: the path is opened for appending and created if it is missing (its folder must exist), so a regular file
collects every job one after the other and a device node simply receives them. Nothing is ever truncated.

Opening, writing and closing run in daemon threads (``threads.run_in_daemon_thread``: reused from call to call, a
stuck one is left behind), bounded by the transport's timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from pathlib import Path
from typing import BinaryIO

from .base import DEFAULT_TIMEOUTS, Timeouts
from .errors import PrinterError, cannot_write, send_timed_out
from .status import PrinterState
from .threads import close_within, run_in_daemon_thread


def _open_for_append(path: Path) -> BinaryIO:
    return open(path, "ab", buffering=0)  # kept open across sends, closed in close()


def _write_all(handle: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = handle.write(view)
        if not written:  # a non-blocking device that took nothing: report it rather than spin
            raise BlockingIOError(errno.EAGAIN, "device not ready")
        view = view[written:]


def _close_quietly(handle: BinaryIO | None) -> None:
    if handle is not None:
        with contextlib.suppress(OSError):
            handle.close()


def _os_error(path: Path, error: OSError) -> PrinterError:
    """A sentence for the assistant: a missing device is a printer that is unplugged (retry later); a permission or
    type problem needs someone to fix the configuration (fail now)."""
    if isinstance(error, FileNotFoundError):
        return cannot_write(str(path), "not found (is the printer plugged in?)", retryable=True)
    if isinstance(error, PermissionError):
        return cannot_write(str(path), "permission denied", retryable=False)
    if isinstance(error, IsADirectoryError):
        return cannot_write(str(path), "it is a folder", retryable=False)
    if isinstance(error, BrokenPipeError | ConnectionError):
        return PrinterError("Connection lost while printing")
    reason = (error.strerror or str(error)).lower()
    return cannot_write(str(path), reason, retryable=True)


class FileTransport:
    can_read_status = False
    streams_jobs = True

    def __init__(self, path: Path, *, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> None:
        self.path = path
        self.uri = path.as_uri() if path.is_absolute() else f"file://{path}"
        self.timeouts = timeouts
        self._handle: BinaryIO | None = None

    async def open(self) -> None:
        if self._handle is not None:
            return
        path = self.path
        try:
            async with asyncio.timeout(self.timeouts.connect):
                self._handle = await run_in_daemon_thread(lambda: _open_for_append(path), abandoned=_close_quietly)
        except TimeoutError:
            raise cannot_write(str(path), "the device does not answer", retryable=True) from None
        except OSError as error:
            raise _os_error(path, error) from None

    async def send(self, data: bytes) -> None:
        handle = self._handle
        if handle is None:
            raise RuntimeError(f"{self.uri}: send() before open()")
        try:
            async with asyncio.timeout(self.timeouts.for_write(len(data))):
                await run_in_daemon_thread(lambda: _write_all(handle, data), abandoned=lambda _: _close_quietly(handle))
        except TimeoutError:
            self._handle = None  # its thread is still writing and closes the file when it is done
            raise send_timed_out(str(self.path)) from None
        except OSError as error:
            raise _os_error(self.path, error) from None

    async def status(self) -> PrinterState:
        return PrinterState.unknown  # a plain file or lp device gives no status back

    def can_take_another_job(self) -> bool:
        return False

    async def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        await close_within(self.timeouts.status, lambda: _close_quietly(handle))
