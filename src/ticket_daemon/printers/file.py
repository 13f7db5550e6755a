"""``file:///path``: write ESC/POS bytes to a device node (``/dev/usb/lp0``) or a regular file.

Semantics: the path is opened for appending and created if it is missing (its folder must exist), so a regular file
collects every job one after the other and a device node simply receives them. Nothing is ever truncated.

While jobs wait for the printer, the next one goes out through the handle the last one used (every write appends,
so a regular file still collects them in order); the worker closes it once nothing waits, when the daemon stops, or
after anything on it went wrong. ``?connection=per-job`` opens and closes the path for each job instead, and so does
a named pipe: the program reading it sees each close as the end of a job.

Opening, writing and closing run in daemon threads (``threads.run_in_daemon_thread``: reused from call to call, a
stuck one is left behind), bounded by the transport's timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from .base import DEFAULT_TIMEOUTS, Timeouts
from .errors import PrinterError, cannot_write, send_timed_out
from .status import PrinterState
from .threads import close_within, run_in_daemon_thread


def _open_for_append(path: Path) -> tuple[BinaryIO, bool]:
    """The handle, kept open across sends and closed in close(), and whether it may carry the jobs that wait: not
    a named pipe, whose reader sees each close as the end of a job."""
    handle = open(path, "ab", buffering=0)  # noqa: SIM115 - outlives this call: closed in close()
    try:
        is_pipe = stat.S_ISFIFO(os.fstat(handle.fileno()).st_mode)
    except OSError:
        handle.close()
        raise
    return handle, not is_pipe


def _close_opened(opened: tuple[BinaryIO, bool] | None) -> None:
    if opened is not None:
        _close_quietly(opened[0])


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

    def __init__(self, path: Path, *, timeouts: Timeouts = DEFAULT_TIMEOUTS, connection_per_job: bool = False) -> None:
        self.path = path
        self.uri = path.as_uri() if path.is_absolute() else f"file://{path}"
        self.timeouts = timeouts
        self._reusable = not connection_per_job
        self._handle: BinaryIO | None = None
        self._healthy = False  # opened, and every write since went through
        self._shares_jobs = False  # what was opened may carry several jobs (not a named pipe)

    async def open(self) -> None:
        if self._handle is not None:
            return
        path = self.path
        try:
            async with asyncio.timeout(self.timeouts.connect):
                opened = await run_in_daemon_thread(lambda: _open_for_append(path), abandoned=_close_opened)
            self._handle, self._shares_jobs = opened
            self._healthy = True
        except TimeoutError:
            raise cannot_write(str(path), "the device does not answer", retryable=True) from None
        except OSError as error:
            raise _os_error(path, error) from None

    async def send(self, data: bytes) -> None:
        handle = self._handle
        if handle is None:
            raise RuntimeError(f"{self.uri}: send() before open()")
        self._healthy = False  # until this write went through: a failed or cancelled one ends the handle's service
        try:
            async with asyncio.timeout(self.timeouts.for_write(len(data))):
                await run_in_daemon_thread(lambda: _write_all(handle, data), abandoned=lambda _: _close_quietly(handle))
            self._healthy = True
        except TimeoutError:
            self._handle = None  # its thread is still writing and closes the file when it is done
            raise send_timed_out(str(self.path)) from None
        except OSError as error:
            raise _os_error(self.path, error) from None

    async def status(self) -> PrinterState:
        return PrinterState.unknown  # a plain file or lp device gives no status back

    def can_take_another_job(self) -> bool:
        """Open, and every write on this handle went through: the next job may use it."""
        return self._reusable and self._shares_jobs and self._handle is not None and self._healthy

    async def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        await close_within(self.timeouts.status, lambda: _close_quietly(handle))
