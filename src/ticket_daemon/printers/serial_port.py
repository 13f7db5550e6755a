"""``serial:///dev/ttyUSB0?baudrate=9600&flow=rtscts`` (``serial://COM3?…`` on Windows): raw ESC/POS over RS-232.

Named ``serial_port`` so it never shadows pyserial's ``serial`` package, which is imported lazily (only when a
serial printer is used). Every pyserial call runs in a daemon thread of its own, bounded by the transport's
timeouts (see ``threads.run_in_daemon_thread``): a port stuck in the kernel never hangs a worker. While jobs wait
for the printer, the port stays open from one job to the next (``?connection=per-job``: opened for each job).

Status is read back with ``DLE EOT 1, 2, 4`` on the same line. A printer that answers nothing at all is reported
``offline`` (switched off or unplugged, so the job waits); a printer that never answers DLE EOT can be configured
with ``status=none`` (then its state is ``unknown`` and jobs are only *sent*). After a job, ``flush()`` waits until
the UART has shifted out every byte, so the status query that follows reaches the printer after the whole job; that
query is asked in the same thread call as the write (one hand-off per job), and ``status()`` gives its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from .base import DEFAULT_TIMEOUTS, Timeouts
from .errors import PrinterError, cannot_write, send_timed_out
from .status import PrinterState
from .status_exchange import StatusExchange
from .threads import close_within, run_in_daemon_thread

T = TypeVar("T")

FLOW_CONTROLS = ("none", "rtscts", "xonxoff", "dsrdtr")
PARITIES = {"N": "N", "E": "E", "O": "O", "none": "N", "even": "E", "odd": "O"}
# Epson TM serial models ship at 38400 or 9600 bps; 9600 is the setting every receipt printer supports.
DEFAULT_BAUDRATE = 9600


class SerialPort(Protocol):
    """The part of ``serial.Serial`` this transport uses."""

    write_timeout: float | None

    def write(self, data: bytes, /) -> int | None: ...
    def flush(self) -> None: ...
    def read(self, size: int = 1, /) -> bytes: ...
    def reset_input_buffer(self) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SerialSettings:
    OPTIONS: ClassVar[tuple[str, ...]] = ("baudrate", "bytesize", "parity", "stopbits", "flow", "status")

    baudrate: int = DEFAULT_BAUDRATE
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1
    flow: str = "none"
    read_status: bool = True

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> SerialSettings:
        """From the URI's query. Raises ``ValueError`` with a sentence naming the bad option."""
        baudrate = options.get("baudrate", str(DEFAULT_BAUDRATE))
        if not baudrate.isdigit() or not 50 <= int(baudrate) <= 4_000_000:
            raise ValueError(f"baudrate must be a number such as 9600, not '{baudrate}'")
        bytesize = options.get("bytesize", "8")
        if bytesize not in ("5", "6", "7", "8"):
            raise ValueError(f"bytesize must be 5-8, not '{bytesize}'")
        parity = options.get("parity", "N")
        if parity not in PARITIES:
            raise ValueError(f"parity must be N, E or O, not '{parity}'")
        stopbits = options.get("stopbits", "1")
        if stopbits not in ("1", "2"):
            raise ValueError(f"stopbits must be 1 or 2, not '{stopbits}'")
        flow = options.get("flow", "none")
        if flow not in FLOW_CONTROLS:
            raise ValueError(f"flow must be one of {', '.join(FLOW_CONTROLS)}, not '{flow}'")
        status = options.get("status", "dle_eot")
        if status not in ("dle_eot", "none"):
            raise ValueError(f"status must be dle_eot or none, not '{status}'")
        return cls(int(baudrate), int(bytesize), PARITIES[parity], int(stopbits), flow, status == "dle_eot")

    @property
    def bytes_per_second(self) -> float:
        """What the line carries at most: each byte takes a start bit, its data bits, parity and stop bits."""
        return self.baudrate / (1 + self.bytesize + (self.parity != "N") + self.stopbits)

    def pyserial_arguments(self) -> dict[str, Any]:
        return {
            "baudrate": self.baudrate,
            "bytesize": self.bytesize,
            "parity": self.parity,
            "stopbits": self.stopbits,
            "rtscts": self.flow == "rtscts",
            "xonxoff": self.flow == "xonxoff",
            "dsrdtr": self.flow == "dsrdtr",
        }


PortOpener = Callable[..., SerialPort]


def open_pyserial(device: str, **arguments: Any) -> SerialPort:
    import serial  # lazily: only serial printers need pyserial

    port: SerialPort = serial.Serial(device, **arguments)
    return port


def _serial_error(device: str, error: OSError, *, opening: bool = False) -> PrinterError:
    """pyserial raises ``SerialException`` (an ``OSError``) carrying the errno of the failed open or write."""
    code = error.errno
    if code == errno.ENOENT or "FileNotFoundError" in str(error) or "cannot find" in str(error).lower():
        return cannot_write(device, "serial port not found (is the printer plugged in?)", retryable=True)
    if code == errno.EACCES or "PermissionError" in str(error) or "access is denied" in str(error).lower():
        return cannot_write(device, "permission denied (add the daemon's user to the dialout group)", retryable=False)
    if code == errno.EBUSY:
        return cannot_write(device, "the serial port is in use by another program", retryable=True)
    if (code == errno.EIO or code == errno.ENXIO) and opening:  # nothing was being printed yet
        return cannot_write(device, "the serial port cannot be opened (is the printer switched on?)", retryable=True)
    if code == errno.EIO or code == errno.ENXIO:
        return PrinterError("Connection lost while printing")
    reason = (error.strerror or str(error)).lower()
    return cannot_write(device, reason, retryable=True)


def _close_quietly(port: SerialPort | None) -> None:
    if port is not None:
        with contextlib.suppress(Exception):
            port.close()


class SerialTransport:
    def __init__(
        self,
        device: str,
        settings: SerialSettings = SerialSettings(),
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        opener: PortOpener = open_pyserial,
        connection_per_job: bool = False,
    ) -> None:
        self.device = device
        self.settings = settings
        self.can_read_status = settings.read_status
        self.streams_jobs = True
        self.uri = f"serial://{device}"
        self.timeouts = timeouts
        self._open_port = opener
        self._reusable = not connection_per_job
        self._port: SerialPort | None = None
        self._healthy = False  # open, and every write and status exchange since went as expected
        self._exchange = StatusExchange(timeouts)
        self._answer: PrinterState | None = None  # the answer to the query sent behind the last job, not yet given

    async def open(self) -> None:
        if self._port is not None:
            return
        arguments = self.settings.pyserial_arguments()
        device, opener = self.device, self._open_port
        # read() waits at most the status timeout; write() is bounded per send by its own budget.
        try:
            async with asyncio.timeout(self.timeouts.connect):
                self._port = await run_in_daemon_thread(
                    lambda: opener(
                        device, timeout=self.timeouts.status, write_timeout=self.timeouts.write, **arguments
                    ),
                    abandoned=_close_quietly,
                )
        except TimeoutError:
            raise cannot_write(device, "the serial port does not answer", retryable=True) from None
        except ImportError:
            raise PrinterError("pyserial is not installed: serial printers cannot be used", retryable=False) from None
        except OSError as error:
            raise _serial_error(device, error, opening=True) from None
        self._exchange.restart()
        self._answer = None
        self._healthy = True

    def _require_port(self) -> SerialPort:
        if self._port is None:
            raise RuntimeError(f"{self.uri}: send() or status() before open()")
        return self._port

    async def _run(self, work: Callable[[SerialPort], T], budget: float) -> T:
        """``work(port)`` in a thread within ``budget`` seconds; a port given up on is closed and forgotten."""
        port = self._require_port()
        try:
            async with asyncio.timeout(budget):
                return await run_in_daemon_thread(lambda: work(port), abandoned=lambda _: _close_quietly(port))
        except TimeoutError:
            self._port = None  # its thread still holds it and closes it when done
            raise

    async def send(self, data: bytes) -> None:
        """Write ``data`` and wait until it left the UART. Over a line with status read back, the status query goes
        out right behind the job in the same thread call (one hand-off for the job and its confirmation), and the
        next :meth:`status` gives that answer."""
        budget = self._write_budget(len(data))
        ask = self.can_read_status and not self._exchange.unanswered
        # What status() would allow right after the write: the status timeout plus the printer's time for the job.
        status_budget = self.timeouts.status + len(data) / self.timeouts.slowest_bytes_per_second
        written = threading.Event()

        def write_then_ask(port: SerialPort) -> bytes | PrinterState | None:
            port.write_timeout = budget
            port.write(data)  # pyserial writes everything or raises SerialTimeoutException (write_timeout)
            port.flush()  # tcdrain: every byte has left the UART
            written.set()
            if not ask:
                return None
            try:
                return self._ask(port, status_budget)
            except OSError:
                return PrinterState.offline

        self._answer = None
        self._healthy = False  # until this write went through: a failed or cancelled one ends the port's service
        extra = status_budget + self.timeouts.status if ask else 0.0
        try:
            outcome = await self._run(write_then_ask, budget + self.timeouts.write + extra)
        except TimeoutError:
            if not written.is_set():
                raise send_timed_out(self.device) from None
            outcome = PrinterState.offline  # sent, but no answer in time: its thread was given up on with the port
        except OSError as error:
            if type(error).__name__ == "SerialTimeoutException":  # flow control held: printer not taking data
                raise send_timed_out(self.device) from None
            raise _serial_error(self.device, error) from None
        # flush() saw the bytes leave the UART; the printer may still be working through its input buffer.
        self._exchange.job_sent(len(data))
        if isinstance(outcome, bytes):
            outcome = self._exchange.verdict(outcome, silence=PrinterState.offline)
        self._healthy = outcome is not PrinterState.offline  # a printer that said nothing may be switched off
        self._answer = outcome

    def _write_budget(self, size: int) -> float:
        """The write timeout, stretched for a slow line: 50 kB of raster take 52 s at 9600 baud."""
        line = self.settings.bytes_per_second
        return self.timeouts.write + size / min(line, self.timeouts.slowest_bytes_per_second)

    async def status(self) -> PrinterState:
        """Ask ``DLE EOT 1, 2, 4``; one reply byte each (``status_exchange``). No reply at all: ``offline``; a
        partial or late one: ``unknown`` (and stays so on this connection, so a late byte is never read as the next
        answer). Right after a job, the answer to the query sent behind it."""
        answer, self._answer = self._answer, None
        if answer is not None:
            return answer
        if not self.can_read_status:
            return PrinterState.unknown
        if self._port is None:
            return PrinterState.offline
        if self._exchange.unanswered:
            return PrinterState.unknown
        budget = self._exchange.budget()
        try:
            replies = await self._run(lambda port: self._ask(port, budget), budget + self.timeouts.status)
        except (TimeoutError, OSError):
            self._healthy = False
            return PrinterState.offline
        state = self._exchange.verdict(replies, silence=PrinterState.offline)
        if state is PrinterState.offline:
            self._healthy = False
        return state

    def _ask(self, port: SerialPort, budget: float) -> bytes:
        """Blocking, in the port's thread: the replies to one status query within ``budget`` seconds."""
        port.reset_input_buffer()  # drop unsolicited bytes (ASB, XON/XOFF noise) before asking
        # read() returns what arrived within the port's own timeout (the status timeout set at open).
        return self._exchange.collect(port.write, lambda count, _seconds: port.read(count), budget)

    def can_take_another_job(self) -> bool:
        """The port is open and every exchange on it went as expected: the next job may use it."""
        return self._reusable and self._port is not None and self._healthy and not self._exchange.unanswered

    async def close(self) -> None:
        port, self._port = self._port, None
        if port is None:
            return
        await close_within(self.timeouts.status, lambda: _close_quietly(port))
