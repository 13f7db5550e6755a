"""A network ESC/POS printer simulator for tests and demos (the ``ticket-daemon virtual-printer`` command).

It behaves like an Epson-compatible printer on raw TCP port 9100: ``DLE EOT n`` (n = 1..4) is answered at once
with status bytes that reflect the current fault, and everything else a connection sends is printed. What it printed
is saved job by job as ``job-NNNNNN.bin`` (the exact bytes), ``.png`` and ``.txt`` (drawn by the emulator): a job
ends where a status request follows printed bytes (the daemon asks the status after each job, and sends the jobs
waiting for a printer one after another over one connection) or where the connection closes. In a fault state
(paper out, cover open, offline) it still answers status requests but prints nothing: the data is discarded and
logged. ``bytes_per_second`` models a slow printer: input is read no faster than that through a small receive
buffer, so the sender's writes back up as they do against a real 250 mm/s printer.

``fail_after_bytes`` (``--fail-after-bytes N``) models a printer switched off mid-job: once a job has delivered N
bytes the connection is reset (nothing of that job is saved), so the sender sees the link drop.

``model`` (``--model NAME``, an escpos-printer-db profile) makes it act as that printer: it answers ``GS I 67`` with
the model's name and ``GS I 66`` with its vendor (``5F … 00``, as the printer would), and draws text with that
model's ``ESC t`` table and paper width. Without a model it says it is a "Virtual Printer" by "ticket-daemon", which
names no profile, so the daemon lays jobs out for a printer of no known model. A ``GS I`` is never printed.

The fault can change at run time: when ``status_file`` (``TICKET_VIRTUAL_STATUS_FILE`` for the command) exists, its
stripped content (``ok``, ``paper_out``, ``cover_open`` or ``offline``) is the current state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import struct
from pathlib import Path

from ..escpos.printerdb import ModelProfile
from .identify import REPLY_END, REPLY_START
from .realtime import RealtimeSplitter
from .status import PrinterState, status_replies
from .tcp import format_address
from .virtual import save_job

log = logging.getLogger(__name__)

STATUS_FILE_ENV = "TICKET_VIRTUAL_STATUS_FILE"
STATUSES: dict[str, PrinterState] = {
    "ok": PrinterState.ready,
    "paper_out": PrinterState.paper_out,
    "cover_open": PrinterState.cover_open,
    "offline": PrinterState.offline,
}
# Receipt printers buffer a few kB of input (Epson TM: 4 kB by default); a slow virtual printer gets as little, so
# backpressure reaches the sender instead of the whole job vanishing into kernel buffers.
SLOW_RECEIVE_BUFFER = 4096
_READ_CHUNK = 64 * 1024
_STREAM_LIMIT = 64 * 1024  # asyncio's default
_THROTTLE_STEPS_PER_SECOND = 20  # a throttled printer takes its input in 50 ms portions
# What a virtual printer acting as no particular model says it is (GS I): a name no profile has.
UNKNOWN_MODEL = ("Virtual Printer", "ticket-daemon")
_JOB_BIN = re.compile(r"job-(\d{6,})\.bin")


class VirtualPrinterServer:
    def __init__(
        self,
        host: str,
        port: int,
        out_dir: Path,
        *,
        bytes_per_second: int = 0,
        status: str = "ok",
        dot_width: int = 576,
        status_file: Path | None = None,
        fail_after_bytes: int = 0,
        model: ModelProfile | None = None,
    ) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        if bytes_per_second < 0:
            raise ValueError("bytes_per_second must be 0 (unlimited) or more")
        if fail_after_bytes < 0:
            raise ValueError("fail_after_bytes must be 0 (never) or more")
        self.fail_after_bytes = fail_after_bytes
        self.model = model
        self.host = host
        self.out_dir = out_dir
        self.bytes_per_second = bytes_per_second
        self.status = status
        self.dot_width = dot_width
        self.status_file = status_file
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._reading: set[asyncio.Task[object]] = set()  # connections still receiving: cancelled on stop
        self._connections: set[asyncio.Task[object]] = set()  # all of them, saving included: awaited on stop
        self._last_number = 0

    @property
    def port(self) -> int:
        """The port it listens on (the real one when 0 was asked for)."""
        if self._server is None:
            return self._requested_port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    def current_status(self) -> str:
        if self.status_file is not None:
            try:
                wanted = self.status_file.read_text(encoding="utf-8").strip()
            except OSError:  # absent: the configured status applies
                return self.status
            if wanted in STATUSES:
                return wanted
            log.warning("ignoring status %r in %s (expected one of %s)", wanted, self.status_file, ", ".join(STATUSES))
        return self.status

    async def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        numbers = [int(m.group(1)) for p in self.out_dir.iterdir() if (m := _JOB_BIN.fullmatch(p.name))]
        self._last_number = max(numbers, default=0)
        # A slow printer's stream reader holds at most its input buffer too (asyncio stops reading the socket past
        # twice the limit): otherwise it would take a whole job into memory at once, however slowly it prints it.
        limit = SLOW_RECEIVE_BUFFER // 2 if self.bytes_per_second else _STREAM_LIMIT
        self._server = await asyncio.start_server(self._serve_connection, sock=self._listening_socket(), limit=limit)

    def _listening_socket(self) -> socket.socket:
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host, self._requested_port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            if os.name != "nt":  # on Windows SO_REUSEADDR would let two servers share the port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.bytes_per_second:  # set before listen() so accepted connections inherit it
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_RECEIVE_BUFFER)
            sock.bind(address)
            sock.listen()
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    async def stop(self) -> None:
        """Stop listening, drop connections still sending (their partial jobs are not saved), finish saving."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in self._reading:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None:  # asyncio.start_server always runs handlers as tasks
            raise RuntimeError("connection handler outside a task")
        self._connections.add(task)
        self._reading.add(task)
        peer = writer.get_extra_info("peername")
        try:
            try:
                job, discarded, state = await self._receive(reader, writer, peer)
            except asyncio.CancelledError:
                log.info("%s: connection from %s dropped on shutdown", self.address, peer)
                raise
            finally:
                self._reading.discard(task)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            if discarded:
                log.warning("%s: not printing (%s); discarded %d bytes from %s", self.address, state, discarded, peer)
            if job:
                await self._save(job, peer)
        finally:
            self._connections.discard(task)

    async def _receive(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: object
    ) -> tuple[bytes, int, str]:
        """Read one connection to its end, saving each job that a status request ends: (the bytes printed of the
        last, unended job, bytes discarded in a fault state, last state)."""
        splitter = RealtimeSplitter()
        job = bytearray()
        job_size = 0  # bytes of the current job, printed or discarded
        discarded = 0
        state = self.current_status()
        chunk_size = max(1, self.bytes_per_second // _THROTTLE_STEPS_PER_SECOND) if self.bytes_per_second else 0
        try:
            while data := await reader.read(chunk_size or _READ_CHUNK):
                payload, requests = splitter.feed(data)
                state = self.current_status()
                job_ends = splitter.job_ends()
                ended: list[bytes] = []  # jobs a status request ended in this chunk
                start = 0
                for index, end in enumerate([*job_ends, len(payload)]):
                    part = payload[start:end]
                    start = end
                    if state == "ok":
                        job += part
                    else:
                        discarded += len(part)
                    job_size += len(part)
                    if self.fail_after_bytes and job_size >= self.fail_after_bytes:
                        # Switched off: no status reply, no receipt; the RST makes the sender's next write fail.
                        log.warning("%s: switched off after %d bytes (--fail-after-bytes)", self.address, job_size)
                        sock = writer.get_extra_info("socket")
                        if sock is not None:  # SO_LINGER 0: a reset, not a printer's orderly close after a job
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        writer.transport.abort()
                        return b"", 0, "switched off"
                    if index < len(job_ends):
                        ended.append(bytes(job))
                        job, job_size = bytearray(), 0
                if requests:  # DLE EOT n — real-time: answered as soon as it is received, even when not printing
                    replies = status_replies(STATUSES[state])
                    writer.write(bytes(replies[n] for n in requests))
                    await writer.drain()
                identity = b"".join(self._identity_reply(n) for n in splitter.take_identity_requests())
                if identity:
                    writer.write(identity)
                    await writer.drain()
                for printed in ended:
                    if printed:
                        await self._save(printed, peer)
                if self.bytes_per_second:
                    await asyncio.sleep(len(data) / self.bytes_per_second)
        except OSError as error:  # the sender reset the connection: what arrived is printed, like a real printer
            log.warning("%s: connection lost (%s)", self.address, error)
        job += splitter.finish() if state == "ok" else b""
        return bytes(job), discarded, state

    def _identity_reply(self, n: int) -> bytes:
        """The answer to ``GS I n`` of the model it acts as: n = 67 model name, 66 manufacturer (``5F … 00``)."""
        model, vendor = (self.model.name, self.model.vendor) if self.model is not None else UNKNOWN_MODEL
        text = {67: model, 66: vendor}.get(n)
        if text is None:
            return b""
        return bytes((REPLY_START,)) + text.encode("ascii", errors="replace") + bytes((REPLY_END,))

    async def _save(self, job: bytes, peer: object) -> None:
        self._last_number += 1
        stem = f"job-{self._last_number:06d}"
        try:
            codecs = self.model.codecs if self.model is not None else None
            await asyncio.to_thread(save_job, self.out_dir, stem, job, self.dot_width, codecs)
        except OSError as error:  # a full or read-only disk loses this job, not the printer
            log.error("%s: could not save %s in %s: %s", self.address, stem, self.out_dir, error)
            return
        log.info("%s: printed %s (%d bytes from %s)", self.address, stem, len(job), peer)
