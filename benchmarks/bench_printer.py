"""A network printer for benchmarks: takes jobs as fast as the link allows, answers the status (``DLE EOT n``:
"nothing to report") and identification (``GS I n``) queries a daemon sends around a job, and notes when the first
byte of each job arrived. A job ends with the status query the daemon sends after it (several jobs may follow one
another over one connection) or with its connection. Listens on 127.0.0.1 only.

``python -m benchmarks.bench_printer`` runs it as a process of its own, as a real printer is: it prints
``printer listening on 127.0.0.1:PORT``, then one line per job with its first byte's ``time.perf_counter()`` (the
system's monotonic clock, the same in every process), until its standard input ends. :class:`PrinterProcess`
starts it and collects those lines, so the clients of a benchmark never delay the printer's answers."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
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
    on_first_byte: Callable[[float], None] | None = None
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
                        if self.on_first_byte is not None:
                            self.on_first_byte(self.first_bytes[-1])
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


@dataclass
class PrinterProcess:
    """The benchmark printer in a process of its own; ``first_bytes`` fills as it reports jobs."""

    first_bytes: list[float] = field(default_factory=list)
    port: int = 0
    _process: asyncio.subprocess.Process | None = None
    _reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.bench_printer",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self._process.stdout is not None
        line = (await asyncio.wait_for(self._process.stdout.readline(), timeout=30)).decode()
        if not line.startswith("printer listening on 127.0.0.1:"):
            raise RuntimeError(f"the benchmark printer did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])
        self._reader = asyncio.create_task(self._read(self._process.stdout))

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            self.first_bytes.append(float(line))

    async def close(self) -> None:
        if self._process is None:
            return
        assert self._process.stdin is not None
        self._process.stdin.close()  # the printer stops once its standard input ends
        try:
            await asyncio.wait_for(self._process.wait(), timeout=10)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
        if self._reader is not None:
            await self._reader


async def _serve_until_stdin_ends() -> None:
    printer = BenchPrinter(on_first_byte=lambda at: print(repr(at), flush=True))
    await printer.start()
    print(f"printer listening on 127.0.0.1:{printer.port}", flush=True)
    try:
        await asyncio.to_thread(sys.stdin.read)
    finally:
        await printer.close()


if __name__ == "__main__":
    asyncio.run(_serve_until_stdin_ends())
