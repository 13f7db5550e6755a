"""A network printer for benchmarks: takes jobs as fast as the link allows, answers the status (``DLE EOT n``:
"nothing to report") and identification (``GS I n``) queries a daemon sends around a job, and notes when the first
byte of each job arrived. A job ends with the status query the daemon sends after it (several jobs may follow one
another over one connection) or with its connection. Listens on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

DLE_EOT = b"\x10\x04"  # DLE EOT n — transmit real-time status
GS_I = b"\x1d\x49"  # GS I n — transmit printer ID
STATUS_QUERY = b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"  # what the daemon asks before and after a job
READY = 0x12  # bits 1 and 4 set, nothing else: "nothing to report" for every n
MODEL = b"TM-T20II"


def _identity(n: int) -> bytes:
    """``GS I 65..69`` answers ``_<text>NUL``; the one-byte forms (n = 1..3) answer one byte."""
    if n >= 0x41:
        return b"_" + (b"EPSON" if n == 0x42 else MODEL) + b"\x00"
    return bytes([0x20])


@dataclass
class BenchPrinter:
    first_bytes: list[float] = field(default_factory=list)  # perf_counter() of each job's first byte
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pending = b""  # bytes not looked at yet: a query's start, or the tail of a job that may hold its end
        in_job = False
        try:
            while chunk := await reader.read(65536):
                pending += chunk
                while pending:
                    if not in_job:
                        if len(pending) < 3 and pending[:1] in (b"\x10", b"\x1d"):
                            break  # perhaps a query's start
                        if pending[:2] in (DLE_EOT, GS_I):
                            query, pending = pending[:3], pending[3:]
                            writer.write(bytes([READY]) if query[:2] == DLE_EOT else _identity(query[2]))
                            continue
                        in_job = True
                        self.first_bytes.append(time.perf_counter())
                    end = pending.find(STATUS_QUERY)
                    if end < 0:  # the job goes on; keep what may be the start of its closing query
                        pending = pending[-(len(STATUS_QUERY) - 1) :]
                        break
                    writer.write(bytes([READY]) * 3)  # the status asked after the job
                    pending, in_job = pending[end + len(STATUS_QUERY) :], False
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
