"""``virtual://NAME``: the built-in printer that draws what it would print (docs/printers.md).

Each ``send()`` is one job. It is rendered by the emulator in a worker thread and kept as ``NNNNNN.bin`` (the exact
bytes), ``NNNNNN.png`` (the paper) and ``NNNNNN.txt`` (the text transcript) under ``<data_dir>/virtual/<NAME>/``.
Only the newest ``keep`` jobs stay, so the folder never grows without bound; the dashboard lists them with
``list_jobs()``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import PrinterError, cannot_write
from .status import PrinterState

log = logging.getLogger(__name__)

# 20 receipts is a day's testing or a few minutes of a busy till, about 1-2 MB of PNGs: enough to look back at.
DEFAULT_KEEP = 20
# A name becomes a folder name: letters, digits, dot, dash and underscore, not starting with a dot.
VALID_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
_JOB_FILE = re.compile(r"(\d{6,})\.(bin|png|txt)")


@dataclass(frozen=True, slots=True)
class VirtualJob:
    number: int
    bytes_path: Path
    png_path: Path | None  # None when the job could not be drawn (see the log)
    text_path: Path | None
    size: int  # bytes received
    mtime: float  # when it was saved (seconds since the epoch)


def virtual_printer_dir(data_dir: Path, name: str) -> Path:
    if not VALID_NAME.fullmatch(name):
        raise PrinterError(
            f"Invalid virtual printer name '{name}': use letters, digits, '.', '-' and '_'", retryable=False
        )
    return data_dir / "virtual" / name


def _job_numbers(folder: Path) -> set[int]:
    if not folder.is_dir():
        return set()
    numbers = set()
    for entry in folder.iterdir():
        match = _JOB_FILE.fullmatch(entry.name)
        if match:
            numbers.add(int(match.group(1)))
    return numbers


def _write_atomically(path: Path, content: bytes) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(content)
    os.replace(partial, path)


def save_job(folder: Path, stem: str, data: bytes, dot_width: int, codecs: Mapping[int, str] | None = None) -> None:
    """Draw and store one job as ``<stem>.png``, ``<stem>.txt`` and ``<stem>.bin``. Blocking: run it in a thread.
    ``codecs`` is the ``ESC t`` table of the model it acts as (None: the six Epson-numbered pages).

    The ``.bin`` is written last, so a job whose bytes are there is complete.
    """
    folder.mkdir(parents=True, exist_ok=True)
    try:
        from ..emulator import emulate  # imported here: only virtual printers need the emulator and Pillow
        from ..resources import system_typefaces

        if codecs is None:
            drawn = emulate(data, dot_width, typefaces=system_typefaces())
        else:
            drawn = emulate(data, dot_width, typefaces=system_typefaces(), codecs=codecs)
    except Exception:  # the printer still "printed"; only the picture is missing
        log.exception("%s: job %s could not be drawn", folder, stem)
    else:
        _write_atomically(folder / f"{stem}.png", drawn.png)
        _write_atomically(folder / f"{stem}.txt", drawn.transcript.encode("utf-8"))
    _write_atomically(folder / f"{stem}.bin", data)


def _save_and_prune(
    folder: Path, number: int, data: bytes, dot_width: int, keep: int, codecs: Mapping[int, str] | None
) -> None:
    save_job(folder, f"{number:06d}", data, dot_width, codecs)
    for old in sorted(_job_numbers(folder))[:-keep]:
        for suffix in (".png", ".txt", ".bin"):
            (folder / f"{old:06d}{suffix}").unlink(missing_ok=True)


def list_jobs(folder: Path) -> list[VirtualJob]:
    """Saved jobs, newest first. Cheap (one directory listing of at most ``3 * keep`` files)."""
    jobs = []
    for number in sorted(_job_numbers(folder), reverse=True):
        stem = folder / f"{number:06d}"
        bytes_path = stem.with_suffix(".bin")
        try:
            stat = bytes_path.stat()
        except FileNotFoundError:  # still being saved, or pruned while we looked
            continue
        png, text = stem.with_suffix(".png"), stem.with_suffix(".txt")
        jobs.append(
            VirtualJob(
                number=number,
                bytes_path=bytes_path,
                png_path=png if png.exists() else None,
                text_path=text if text.exists() else None,
                size=stat.st_size,
                mtime=stat.st_mtime,
            )
        )
    return jobs


class VirtualTransport:
    can_read_status = True  # it is always ready
    streams_jobs = False  # one saved job per job

    def __init__(
        self,
        name: str,
        *,
        data_dir: Path,
        dot_width: int,
        keep: int = DEFAULT_KEEP,
        codecs: Mapping[int, str] | None = None,
    ) -> None:
        self.name = name
        self.codecs = codecs  # the ESC t table of the model it acts as (None: the six Epson-numbered pages)
        self.uri = f"virtual://{name}"
        self.folder = virtual_printer_dir(data_dir, name)
        self.dot_width = dot_width
        self.keep = max(1, keep)
        self._next_number: int | None = None

    async def open(self) -> None:
        try:
            numbers = await asyncio.to_thread(self._prepare)
        except OSError as error:
            raise cannot_write(str(self.folder), (error.strerror or str(error)).lower(), retryable=False) from None
        self._next_number = max(numbers, default=0) + 1

    def _prepare(self) -> set[int]:
        self.folder.mkdir(parents=True, exist_ok=True)
        return _job_numbers(self.folder)

    async def send(self, data: bytes) -> None:
        if self._next_number is None:
            raise RuntimeError(f"{self.uri}: send() before open()")
        number = self._next_number
        self._next_number += 1
        try:
            await asyncio.to_thread(_save_and_prune, self.folder, number, data, self.dot_width, self.keep, self.codecs)
        except OSError as error:
            raise cannot_write(str(self.folder), (error.strerror or str(error)).lower(), retryable=False) from None

    async def status(self) -> PrinterState:
        return PrinterState.ready

    def can_take_another_job(self) -> bool:
        return False

    async def close(self) -> None:
        self._next_number = None

    def list_jobs(self) -> list[VirtualJob]:
        return list_jobs(self.folder)
