"""``tcp://host:port``: raw ESC/POS to a network printer (the "9100" or JetDirect protocol, like CUPS' socket backend).

Status is read with ``DLE EOT 1, 2, 4`` on the same connection. A background task collects whatever the printer
sends back, so replies are never mixed up with stale bytes and a printer that hangs up is noticed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket

from .base import DEFAULT_TIMEOUTS, Timeouts
from .errors import cannot_connect, connection_lost, send_timed_out
from .status import PrinterState
from .status_exchange import REPLY_COUNT, STATUS_QUERY, StatusExchange

DEFAULT_PORT = 9100
_READ_CHUNK = 256  # status replies are single bytes; anything longer is unsolicited and discarded

_UNREACHABLE = {errno.EHOSTUNREACH: "host unreachable", errno.ENETUNREACH: "network unreachable"}


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class TcpTransport:
    can_read_status = True
    # One connection per job, as a CUPS socket backend does: print servers and printers that count a job per
    # connection (and the virtual network printer, which saves one) see each job.
    streams_jobs = False

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> None:
        self.host = host
        self.port = port
        self.address = format_address(host, port)
        self.uri = f"tcp://{self.address}"
        self.timeouts = timeouts
        self._writer: asyncio.StreamWriter | None = None
        self._listener: asyncio.Task[None] | None = None
        self._replies = bytearray()
        self._replied = asyncio.Event()
        self._lost = False
        self._exchange = StatusExchange(timeouts)

    async def open(self) -> None:
        if self._writer is not None:
            return
        try:
            async with asyncio.timeout(self.timeouts.connect):
                reader, writer = await asyncio.open_connection(self.host, self.port)
        except TimeoutError:
            raise cannot_connect(self.address, f"no answer within {self.timeouts.connect:g} s") from None
        except ConnectionRefusedError:
            raise cannot_connect(self.address) from None
        except socket.gaierror:
            raise cannot_connect(self.address, "unknown host name") from None
        except OSError as error:
            reason = _UNREACHABLE.get(error.errno or 0) or (error.strerror or str(error)).lower()
            raise cannot_connect(self.address, reason) from None
        # drain() then waits until every byte is handed to the kernel, not just until the buffer is below 64 kB.
        writer.transport.set_write_buffer_limits(high=0)
        self._writer = writer
        self._lost = False
        self._exchange.restart()
        self._replies.clear()
        self._listener = asyncio.create_task(self._listen(reader), name=f"printer replies {self.address}")

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        try:
            while chunk := await reader.read(_READ_CHUNK):
                self._replies += chunk
                self._replied.set()
        except OSError:
            pass
        self._lost = True  # the printer hung up (or reset): nothing more can be sent on this connection
        self._replied.set()

    def _require_writer(self) -> asyncio.StreamWriter:
        if self._writer is None:
            raise RuntimeError(f"{self.uri}: send() or status() before open()")
        return self._writer

    async def send(self, data: bytes) -> None:
        writer = self._require_writer()
        if self._lost:
            raise connection_lost()
        try:
            async with asyncio.timeout(self.timeouts.for_write(len(data))):
                writer.write(data)
                await writer.drain()
        except TimeoutError:
            writer.transport.abort()  # the printer stopped taking data; what it got of this job is unknown
            self._lost = True
            raise send_timed_out(self.address) from None
        except OSError:  # ConnectionResetError, BrokenPipeError: the printer went away mid-job
            self._lost = True
            raise connection_lost() from None
        if self._lost:
            raise connection_lost()
        self._exchange.job_sent(len(data))

    async def status(self) -> PrinterState:
        """Ask ``DLE EOT 1, 2, 4`` and parse the replies (``status_exchange``), collected by the listener.

        A printer that hung up is ``offline``. One that does not answer in time is ``unknown``, and stays so on this
        connection: a late reply could otherwise be taken for the answer to the next query.
        """
        writer = self._require_writer()
        if self._lost:
            return PrinterState.offline
        if self._exchange.unanswered:
            return PrinterState.unknown
        self._replies.clear()
        self._replied.clear()
        try:
            async with asyncio.timeout(self._exchange.budget()):
                writer.write(STATUS_QUERY)
                await writer.drain()
                while len(self._replies) < REPLY_COUNT and not self._lost:
                    self._replied.clear()
                    await self._replied.wait()
        except TimeoutError:
            pass
        except OSError:
            self._lost = True
        silence = PrinterState.offline if self._lost else PrinterState.unknown
        return self._exchange.verdict(bytes(self._replies), silence=silence)

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        listener, self._listener = self._listener, None
        if writer is None:
            return
        writer.close()
        try:
            async with asyncio.timeout(self.timeouts.status):
                await writer.wait_closed()
        except (TimeoutError, OSError):
            writer.transport.abort()
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
