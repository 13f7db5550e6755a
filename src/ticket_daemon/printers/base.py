"""The transport interface every printer link implements (docs/printers.md).

A transport only moves bytes and reports link errors as ``PrinterError``; it never decides what to print. All of
its methods are coroutines that keep blocking work (files, devices, rendering) off the event loop, and each one is
bounded by a timeout so a dead printer can never hang a worker.

Life of a transport: created by ``uri.open_transport`` (no I/O) → ``open()`` → any number of ``status()`` and
``send()`` → ``close()``. ``close()`` never raises and may be called more than once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .status import PrinterState


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long each step may take before the printer is reported unreachable. Seconds."""

    # A printer on the LAN answers a TCP connect in milliseconds; 3 s covers a busy Wi-Fi link without leaving the
    # assistant waiting long for "Cannot connect".
    connect: float = 3.0
    # Fixed part of a write's budget: time for a printer that is mid-job to start accepting data again.
    write: float = 10.0
    # Real-time status replies are immediate on Epson-compatible printers; 1.5 s tolerates a slow network.
    status: float = 1.5
    # Slowest throughput we wait for before calling a write stuck: a 70 mm/s printer printing full-width raster
    # (72 bytes per dot line, 8 lines per mm) consumes about 40 kB/s; 8 kB/s leaves a wide margin.
    slowest_bytes_per_second: int = 8_000

    def for_write(self, size: int) -> float:
        """Budget for writing ``size`` bytes: the fixed part plus the time the slowest printer needs to take them."""
        return self.write + size / self.slowest_bytes_per_second


DEFAULT_TIMEOUTS = Timeouts()

# ``?connection=…`` on the URI of a link that can carry several jobs (tcp, file, serial, usb): the jobs waiting for
# the printer share one connection (the default), or each job opens and closes one of its own.
CONNECTION_SHARED = "shared"
CONNECTION_PER_JOB = "per-job"


class Transport(Protocol):
    """A link to one printer. ``uri`` is the configured URI; ``can_read_status`` says whether ``status()`` can ever
    return something other than ``PrinterState.unknown``."""

    uri: str
    can_read_status: bool
    # Several jobs may follow one another over one connection as one byte stream (the device prints what arrives):
    # a raw socket, a device node, a serial or USB link. False where each job must be a job of its own (a spooler
    # job, one saved file per job).
    streams_jobs: bool

    async def open(self) -> None:
        """Connect or open the device. Raises ``PrinterError`` (e.g. ``Cannot connect to 10.0.0.5:9100``)."""

    async def send(self, data: bytes) -> None:
        """Deliver ``data`` to the printer: returns once the device (or the spooler that owns it) has accepted every
        byte, never while bytes still wait in a buffer on this side of the link. Raises ``PrinterError`` when the
        link fails or the device stops taking data within the write budget."""

    async def status(self) -> PrinterState:
        """The printer's real-time state; ``PrinterState.unknown`` when the link cannot read back. Never raises."""

    def can_take_another_job(self) -> bool:
        """Whether this open link may carry the next job too (the worker keeps it open while jobs wait for the
        printer): only a link whose every exchange went as expected, and never one where each job must be a job of
        its own."""

    async def close(self) -> None:
        """Release the link. Never raises."""
