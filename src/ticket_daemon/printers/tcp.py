"""``tcp://host:port``: raw ESC/POS to a network printer (the "9100" or JetDirect protocol, like CUPS' socket backend).

Status is read with ``DLE EOT 1, 2, 4`` on the same connection. A background task collects whatever the printer
sends back, so replies are never mixed up with stale bytes and a printer that hangs up is noticed at once.

``send()`` returns only once the printer has accepted every byte: handing bytes to the kernel is not enough (a
stopped printer leaves them queued in the socket, and they would be lost with the connection). The status query
asked after a job goes out right behind the job's bytes, in the same write: the printer answers it only once it has
read every byte before it, so the first reply confirms the job without waiting for the printer's TCP
acknowledgement (often delayed by tens of milliseconds), and ``status()`` then reads the rest of that answer. A
printer that does not answer is confirmed by its TCP stack instead: where the kernel tells how much of its send
queue the peer has not acknowledged (``SIOCOUTQ``), everything but the query must drain within the write budget;
elsewhere the connection is half-closed after the job and the printer's own end of the connection (it closes once
it has read everything) confirms it. Replies are matched to queries by their order on the connection, one byte per
query. ``close()`` is graceful: a FIN after the queued bytes, never a reset that would discard them.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import sys
import time

from .base import DEFAULT_TIMEOUTS, Timeouts
from .errors import cannot_connect, connection_lost, send_timed_out
from .status import PrinterState, is_status_byte
from .status_exchange import REPLY_COUNT, STATUS_QUERY, StatusExchange

DEFAULT_PORT = 9100
_READ_CHUNK = 256  # status replies are single bytes; bytes beyond the replies asked for are unsolicited

_UNREACHABLE = {errno.EHOSTUNREACH: "host unreachable", errno.ENETUNREACH: "network unreachable"}
# How often the send queue is looked at while a printer works through a job: the first look comes at once, then
# less often, up to this. A printer's TCP stack often delays its acknowledgement (delayed ACK, ~40 ms on Linux), so a
# job is seen taken a few milliseconds after that ACK rather than at the next doubling step; an ioctl every 5 ms
# while a slow printer takes a long job costs nothing.
_DRAIN_POLL_MAX_SECONDS = 0.005


def unsent_bytes(sock: socket.socket) -> int | None:
    """Bytes of ``sock``'s send queue the peer has not acknowledged yet; None where the system does not say.

    Linux ``SIOCOUTQ`` (the same number as ``TIOCOUTQ``): the unacknowledged bytes of a TCP socket, so 0 means the
    printer's own TCP stack has taken every byte. Elsewhere the ioctl is missing or answers for terminals only."""
    if not sys.platform.startswith("linux"):
        return None
    import fcntl
    import termios

    try:
        answer = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except OSError:
        return None
    return int.from_bytes(answer, sys.byteorder, signed=True)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class TcpTransport:
    can_read_status = True
    streams_jobs = False  # each job is claimed, sent and confirmed on its own, even over a connection kept open

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        connection_per_job: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.address = format_address(host, port)
        self.uri = f"tcp://{self.address}"
        # While jobs wait for the printer, the next one goes out over the connection the last one used, each
        # confirmed by its own status answer; ``connection=per-job`` opens one for each job instead, as a CUPS
        # socket backend does, for a print server that counts a job per connection.
        self._reusable = not connection_per_job
        self.timeouts = timeouts
        self._writer: asyncio.StreamWriter | None = None
        self._listener: asyncio.Task[None] | None = None
        self._replies = bytearray()  # every reply byte of this connection, in order
        self._asked = 0  # replies owed on this connection so far: one per query sent
        self._after_job: int | None = None  # where the replies to the query sent behind the last job begin
        self._replied = asyncio.Event()
        self._ended = asyncio.Event()  # the printer closed its end (or reset the connection)
        self._lost = False  # nothing more can be sent or asked on this connection
        self._reset = False  # the connection ended with an error rather than the printer's orderly close
        self._half_closed = False  # our end sent its FIN: the job is complete, no more queries
        self._stalled = False  # a send did not finish: bytes may still be queued, nothing more goes out
        self._delivered = False  # a send completed: the printer acknowledged every byte of it
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
        self._lost = self._reset = self._half_closed = self._stalled = self._delivered = False
        self._ended.clear()
        self._exchange.restart()
        self._replies.clear()
        self._asked = 0
        self._after_job = None
        self._listener = asyncio.create_task(self._listen(reader), name=f"printer replies {self.address}")

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        try:
            while chunk := await reader.read(_READ_CHUNK):
                if len(self._replies) + len(chunk) > self._asked:
                    # More bytes than queries asked (a printer sending status on its own): replies can no longer
                    # be matched to queries on this connection, and nothing more of them is kept.
                    self._exchange.unanswered = True
                else:
                    self._replies += chunk
                self._replied.set()
        except OSError:
            self._reset = True
        self._lost = True  # the printer hung up (or reset): nothing more can be sent on this connection
        self._ended.set()
        self._replied.set()

    def _require_writer(self) -> asyncio.StreamWriter:
        if self._writer is None:
            raise RuntimeError(f"{self.uri}: send() or status() before open()")
        return self._writer

    async def send(self, data: bytes) -> None:
        """Returns once the printer has accepted every byte of ``data`` (see the module's docstring)."""
        writer = self._require_writer()
        if self._stalled:
            raise send_timed_out(self.address)
        if self._lost or self._half_closed:
            raise connection_lost()
        self._after_job = None
        # Once a query went partly unanswered, replies can no longer be matched to queries on this connection.
        query = b"" if self._exchange.unanswered else STATUS_QUERY
        first_reply = self._asked
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeouts.for_write(len(data))):
                writer.write(data + query)
                if query:
                    self._asked += REPLY_COUNT
                await writer.drain()
                await self._until_accepted(writer, first_reply if query else None, behind=len(query))
        except TimeoutError:
            self._stalled = True  # the printer stopped taking data: what it got of this job is unknown
            raise send_timed_out(self.address) from None
        except OSError:  # ConnectionResetError, BrokenPipeError: the printer went away mid-job
            self._lost = True
            raise connection_lost() from None
        except asyncio.CancelledError:  # the job's own time ran out meanwhile
            self._stalled = True
            raise
        self._delivered = True
        self._after_job = first_reply if query else None
        self._exchange.job_sent(len(data), since=started)

    async def _until_accepted(self, writer: asyncio.StreamWriter, first_reply: int | None, *, behind: int) -> None:
        """Wait until the printer has taken every byte of the job: it answered the query sent behind it
        (``first_reply`` is where that answer begins), or the kernel's send queue holds no more than the ``behind``
        bytes of that query (the printer's TCP stack acknowledged the rest). Without a way to look at the queue, the
        connection is half-closed: the answer, or the printer's own close once it has read everything, confirms it."""
        sock = writer.get_extra_info("socket")
        pause = 0.0
        while True:
            if writer.transport.is_closing() or (sock is not None and sock.fileno() < 0):  # the connection failed
                self._lost = True
                raise connection_lost()
            if (
                first_reply is not None
                and len(self._replies) > first_reply
                and not self._exchange.unanswered
                and is_status_byte(self._replies[first_reply])
            ):
                return  # the printer read past the job's last byte
            unsent = unsent_bytes(sock) if sock is not None else None
            if unsent is not None and unsent <= behind:
                return  # taken, even if the printer has closed its end since (some close once they have a job)
            if self._lost:
                if unsent is None and self._half_closed and not self._reset:
                    return  # the printer closed its end after reading everything up to our FIN
                raise connection_lost()
            if unsent is None and not self._half_closed:
                self._half_closed = True
                writer.write_eof()  # a FIN after the job's bytes (and the query behind them)
            self._replied.clear()  # set by the listener on every reply and at the end of the connection
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._replied.wait()
            pause = min(_DRAIN_POLL_MAX_SECONDS, pause * 2 or 0.001)

    def can_take_another_job(self) -> bool:
        """The connection is open and every exchange on it went as expected: the next job may use it."""
        return (
            self._reusable
            and self._writer is not None
            and not (self._lost or self._half_closed or self._stalled or self._exchange.unanswered)
            and not self._writer.transport.is_closing()
        )

    async def status(self) -> PrinterState:
        """The printer's state from ``DLE EOT 1, 2, 4`` (``status_exchange``), its replies collected by the listener:
        the answer to the query sent behind the last job, or to one asked now.

        A printer that hung up (or reset the connection after taking a job) is ``offline``. One that does not answer
        in time is ``unknown``, and stays so on this connection: a late reply could otherwise be taken for the
        answer to the next query. Nothing more can be asked once the printer closed its end in order after taking
        every byte of a job (some close once they have a job), after our half-close, or after a stalled send:
        ``unknown``, unless the answer to the query behind the job came first.
        """
        writer = self._require_writer()
        first_reply, self._after_job = self._after_job, None
        if first_reply is None:
            if self._lost and not self._reset and (self._delivered or self._half_closed):
                return PrinterState.unknown
            if self._lost:
                return PrinterState.offline
            if self._exchange.unanswered or self._stalled:
                return PrinterState.unknown
            first_reply = self._asked
        elif self._exchange.unanswered:
            return PrinterState.unknown
        wanted = first_reply + REPLY_COUNT
        try:
            async with asyncio.timeout(self._exchange.budget()):
                if first_reply == self._asked:  # nothing asked yet: ask now
                    self._asked += REPLY_COUNT
                    writer.write(STATUS_QUERY)
                    await writer.drain()
                while len(self._replies) < wanted and not (self._lost or self._exchange.unanswered):
                    self._replied.clear()
                    await self._replied.wait()
        except TimeoutError:
            pass
        except OSError:  # the query met a closed connection: how it ended (in order, or a reset) tells which
            self._lost = True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.timeouts.status):
                    await self._ended.wait()
        replies = bytes(self._replies[first_reply:wanted])
        if len(replies) < REPLY_COUNT and self._lost and not self._reset and self._delivered:
            return PrinterState.unknown  # the printer closed in order after taking the job: no fault
        silence = PrinterState.offline if self._lost else PrinterState.unknown
        return self._exchange.verdict(replies, silence=silence)

    async def close(self) -> None:
        """Graceful: a FIN after every queued byte, then, after a job, the printer's own close is awaited (bounded)
        while its replies are still read, so nothing arriving late makes our kernel answer with a reset (a printer
        may drop the input it has not printed on a reset). After a stalled send
        the connection is released once the status timeout has passed, without a reset: the kernel keeps offering
        the printer what it already holds, and the job does not count as printed."""
        writer, self._writer = self._writer, None
        listener, self._listener = self._listener, None
        if writer is None:
            return
        try:
            async with asyncio.timeout(self.timeouts.status):
                if not (self._lost or self._half_closed or self._stalled or writer.transport.is_closing()):
                    self._half_closed = True
                    writer.write_eof()
                if self._delivered and not self._stalled:  # only a job's bytes need protecting from a reset
                    await self._ended.wait()
                writer.close()
                await writer.wait_closed()
        except (TimeoutError, OSError, RuntimeError):  # RuntimeError: uvloop's word for a transport already closed
            writer.transport.abort()  # a plain close(2), no SO_LINGER: queued bytes still go out, then a FIN
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
