"""Counts the opens and closes of one path as the kernel reports them (Linux inotify), whoever makes them.

A test watches a printer's device node (a pty slave standing in for ``/dev/usb/lp0`` or ``/dev/ttyUSB0``) or capture
file and reads how many times the daemon opened and closed it, without touching the daemon's code.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import sys
from pathlib import Path
from types import TracebackType

import pytest

needs_inotify = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="opens are counted with inotify")

# <sys/inotify.h>
IN_OPEN = 0x20
IN_CLOSE_WRITE = 0x08
IN_CLOSE_NOWRITE = 0x10
IN_NONBLOCK = os.O_NONBLOCK
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


class OpenCounter:
    """``with OpenCounter(path) as counter:`` then ``counter.opens`` / ``counter.closes`` so far."""

    def __init__(self, path: Path | str) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.inotify_init1(IN_NONBLOCK)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        mask = IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE
        if self._libc.inotify_add_watch(self._fd, os.fsencode(path), mask) < 0:
            error = ctypes.get_errno()
            os.close(self._fd)
            raise OSError(error, f"inotify_add_watch {path}")
        self._opens = 0
        self._closes = 0

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 65536)
            except OSError as error:
                if error.errno == errno.EAGAIN:
                    return
                raise
            offset = 0
            while offset < len(data):
                _wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                self._opens += bool(mask & IN_OPEN)
                self._closes += bool(mask & (IN_CLOSE_WRITE | IN_CLOSE_NOWRITE))
                offset += _EVENT.size + length

    @property
    def opens(self) -> int:
        self._read()
        return self._opens

    @property
    def closes(self) -> int:
        self._read()
        return self._closes

    def __enter__(self) -> OpenCounter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        os.close(self._fd)
