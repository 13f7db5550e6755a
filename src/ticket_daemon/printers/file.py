"""``file:///path``: write ESC/POS bytes to a device node (``/dev/usb/lp0``) or a regular file.

Semantics: the path is opened for appending and created if it is missing (its folder must exist), so a regular file
collects every job one after the other and a device node simply receives them. Nothing is ever truncated.

Opening, writing and closing run in a daemon thread of their own, bounded by the transport's timeouts. A device
stuck in the kernel cannot be interrupted, so after a timeout its thread is abandoned: being a daemon thread, it
never keeps the daemon from exiting (a thread pool's worker would be joined at shutdown and hang it).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from .base import DEFAULT_TIMEOUTS, Timeouts
from .errors import PrinterError, cannot_write, send_timed_out
from .status import PrinterState

T = TypeVar("T")


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


async def run_in_daemon_thread(function: Callable[[], T], *, abandoned: Callable[[T | None], None] | None = None) -> T:
    """``await`` ``function()`` run in a new daemon thread. If the caller stopped waiting (timeout, cancellation),
    ``abandoned`` is called when the function ends, with its result (None if it failed), so nothing leaks: a file
    opened too late, or a handle whose write was given up on."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def give_up(result: T | None) -> None:
        if abandoned is not None:
            abandoned(result)

    def deliver(result: T) -> None:
        if future.cancelled():
            give_up(result)
        else:
            future.set_result(result)

    def fail(error: BaseException) -> None:
        if future.cancelled():
            give_up(None)
        else:
            future.set_exception(error)

    def work() -> None:
        try:
            result = function()
        except BaseException as error:  # handed to the awaiting coroutine, not lost in the thread
            try:
                loop.call_soon_threadsafe(fail, error)
            except RuntimeError:  # the event loop is gone: nobody is waiting any more
                give_up(None)
            return
        try:
            loop.call_soon_threadsafe(deliver, result)
        except RuntimeError:
            give_up(result)

    threading.Thread(target=work, name="printer-file-io", daemon=True).start()
    return await future


async def close_within(timeout: float, close: Callable[[], None]) -> None:
    """Run a blocking ``close()`` in a daemon thread, waiting at most ``timeout`` seconds. A device stuck in close
    is left to its thread, which finishes on its own: closing never raises and never blocks a stop."""
    try:
        async with asyncio.timeout(timeout):
            await run_in_daemon_thread(close)
    except TimeoutError:
        pass


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

    async def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        await close_within(self.timeouts.status, lambda: _close_quietly(handle))
