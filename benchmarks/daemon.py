"""Daemon benchmarks: ack latency under concurrent clients, end-to-end throughput into virtual network printers,
per-printer workers against one shared worker on slow printers, and what the durable spool costs per accepted job.

Everything is real and on 127.0.0.1 only: the daemon is a ``ticket-daemon serve`` child process
(:class:`~benchmarks.lifecycle.DaemonProcess`), each printer is a ``ticket-daemon virtual-printer`` child process
(``VirtualPrinterServer``: raw TCP, DLE EOT status, one job per connection), and the POS clients are asyncio
WebSocket connections in this process. The virtual printers draw every job they save (emulator PNG) on the same
cores, which costs CPU a real printer would not take from the daemon: the figures are on the low side.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from ticket_daemon.config import StorageSettings
from ticket_daemon.printers.base import Transport
from ticket_daemon.printers.status import PrinterState
from ticket_daemon.printers.uri import open_transport
from ticket_daemon.render.job import render_document
from ticket_daemon.store.database import SqliteJobStore
from ticket_daemon.store.jobs import Job
from ticket_daemon.store.memory import MemoryJobStore
from ticket_daemon.store.sqlite import SqliteSpool

from .lifecycle import REPO, DaemonProcess, clean_environment, cpu_seconds, tail, terminate
from .report import Stats

# --- limits: every wait below is bounded by one of these -----------------------------------------------------------
RECEIVE_TIMEOUT_S = 30.0  # one reply (ack or result) from the daemon
LOAD_TIMEOUT_S = 240.0  # one whole load run: connect, send, every result back
PRINTER_START_TIMEOUT_S = 20.0
BASELINE_TIMEOUT_S = 120.0

# --- the load --------------------------------------------------------------------------------------------------------
PRINTERS = 4
MODEL = "80mm EC-PM-80250"
RECEIPT_ITEMS = 36  # ~1 KB of ESC/POS per job: small, so the 4 KB/s printers take ~0.25 s each
WARMUP_JOBS = 10  # per daemon, before anything is timed: imports, caches, first connections
# Ack latency: (concurrent clients, tickets each); every client sends its next ticket once the last one is acked.
ACK_LEVELS = ((1, 200), (10, 30), (100, 5))
THROUGHPUT_CLIENTS, THROUGHPUT_JOBS_EACH = 8, 50  # 400 jobs into the 4 fast printers
SLOW_BYTES_PER_SECOND = 4096
SLOW_JOBS_PER_PRINTER = 20
SPOOL_CLIENTS, SPOOL_JOBS_EACH = 10, 50  # 500 tickets, same load for the memory and SQLite spools
STORE_ADDS = 500
PREFILLED_JOBS = 5_000  # finished jobs a durable spool holds after a few days of a busy till

# The benchmark daemon: only the limits that would refuse the load are lifted (queue, per-client rate, message
# budget); everything else is the shipped default, logging included.
SERVER_OVERRIDES = {
    "queue_capacity": 10_000,
    "rate_limit_per_minute": 0,
    "messages_per_second": 100_000,
    "message_burst": 100_000,
    "max_connections_per_address": 1000,  # every load client connects from 127.0.0.1
}
_LISTENING = "virtual-printer listening on "


# --- documents -------------------------------------------------------------------------------------------------------


def receipt(job_number: int) -> dict[str, Any]:
    """A plain till receipt (header, items, total, cut), different for every job like real ones."""
    commands: list[dict[str, Any]] = [
        {
            "type": "text",
            "data": {"content": {"text": "MI TIENDA", "align": "center", "content_style": {"bold": True}}},
        },
        {"type": "text", "data": {"content": {"text": f"Ticket {job_number:06d}", "align": "center"}}},
        {"type": "separator", "data": {"char": "="}},
    ]
    for item in range(RECEIPT_ITEMS):
        price = 3.5 * (item + 1) + job_number % 7
        commands.append(
            {
                "type": "text",
                "data": {
                    "label": {"text": f"{item % 3 + 1} x Artículo {item:02d}"},
                    "content": {"text": f"${price:.2f}"},
                },
            }
        )
    commands += [
        {"type": "separator", "data": {}},
        {"type": "text", "data": {"label": {"text": "TOTAL"}, "content": {"text": f"${job_number % 1000}.00"}}},
        {"type": "cut", "data": {"mode": "partial"}},
    ]
    return {"version": "1.0", "profile": {"model": MODEL}, "commands": commands}


def ticket_text(job_id: str, printer: str) -> str:
    datos = receipt(zlib.crc32(job_id.encode()) % 1_000_000)
    return json.dumps({"tipo": "ticket", "id": job_id, "printer": printer, "datos": datos})


def printer_name(number: int) -> str:
    return f"p{number + 1}"


# --- processes: printers and daemons -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Printers:
    uris: dict[str, str]  # printer name → tcp://127.0.0.1:PORT
    pids: list[int]


@asynccontextmanager
async def virtual_printers(root: Path, *, bytes_per_second: int = 0) -> AsyncIterator[Printers]:
    """``PRINTERS`` virtual network printers as child processes."""
    processes: list[asyncio.subprocess.Process] = []
    uris: dict[str, str] = {}
    root.mkdir(parents=True, exist_ok=True)
    try:
        for number in range(PRINTERS):
            name = printer_name(number)
            with (root / f"{name}-stderr.log").open("wb") as stderr:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "ticket_daemon",
                    "virtual-printer",
                    "--listen",
                    "127.0.0.1:0",
                    "--out",
                    str(root / name),
                    "--bytes-per-second",
                    str(bytes_per_second),
                    stdout=asyncio.subprocess.PIPE,
                    stderr=stderr,
                    cwd=REPO,
                    env=clean_environment(),
                )
            processes.append(process)
        async with asyncio.timeout(PRINTER_START_TIMEOUT_S):
            addresses = await asyncio.gather(*(_listening_address(process) for process in processes))
        for number, address in enumerate(addresses):
            uris[printer_name(number)] = f"tcp://{address}"
        yield Printers(uris, [process.pid for process in processes])
    finally:
        await asyncio.gather(*(terminate(process) for process in processes))


async def _listening_address(process: asyncio.subprocess.Process) -> str:
    if process.stdout is None:
        raise RuntimeError("virtual printer without a stdout pipe")
    while line := (await process.stdout.readline()).decode(errors="replace"):
        if line.startswith(_LISTENING):
            return line.removeprefix(_LISTENING).strip()
    raise RuntimeError("a virtual printer exited before listening (see its *-stderr.log)")


def durable_spool_configurable() -> bool:
    """Whether this build has ``[storage] spool`` (the durable spool wired into the daemon)."""
    return "spool" in StorageSettings.model_fields


def write_config(path: Path, printers: dict[str, str], *, spool: str | None = None) -> Path:
    lines = ["[server]", *(f"{key} = {value}" for key, value in SERVER_OVERRIDES.items())]
    if spool is not None:
        lines += ["", "[storage]", f"spool = {json.dumps(spool)}"]
    for name, uri in printers.items():
        lines += ["", "[[printers]]", f"name = {json.dumps(name)}", f"uri = {json.dumps(uri)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@asynccontextmanager
async def running_daemon(root: Path, printers: Printers, *, spool: str | None = None) -> AsyncIterator[DaemonProcess]:
    """A warmed-up daemon routing to ``printers``."""
    root.mkdir(parents=True, exist_ok=True)
    config = write_config(root / "ticket-daemon.toml", printers.uris, spool=spool)
    daemon = await DaemonProcess.spawn(root / "data", config=config)
    try:
        warmup = await run_load(
            daemon.ws_url, [[(f"warmup-{n}", printer_name(n % PRINTERS)) for n in range(WARMUP_JOBS)]]
        )
        warmup.require_clean("warm-up")
        yield daemon
    finally:
        await daemon.stop()
        if daemon.process.returncode != 0:
            print(f"  (daemon exited with status {daemon.process.returncode}: {tail(daemon.stderr_path)})")


# --- measuring -----------------------------------------------------------------------------------------------------


class CpuMeter:
    """CPU time the daemon, the virtual printers and this process (the clients) use from now on."""

    def __init__(self, daemon: DaemonProcess, printers: Printers) -> None:
        self._daemon_pid = daemon.process.pid
        self._printer_pids = printers.pids
        self._start = self._now()

    def _now(self) -> tuple[float, float, float]:
        printers = sum(cpu_seconds(pid) for pid in self._printer_pids)
        return cpu_seconds(self._daemon_pid), printers, time.process_time()

    def used(self) -> tuple[float, float, float]:
        """(daemon, printers, clients) CPU seconds since the meter was made."""
        daemon, printers, clients = (now - then for now, then in zip(self._now(), self._start, strict=True))
        return daemon, printers, clients


@dataclass
class LoadRun:
    """What the clients of one run saw. Times are ``time.perf_counter()`` seconds."""

    ack_ms: list[float] = field(default_factory=list)
    first_send: float = float("inf")
    last_ack: float = 0.0
    last_result: float = 0.0
    succeeded: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, other: LoadRun) -> None:
        self.ack_ms += other.ack_ms
        self.first_send = min(self.first_send, other.first_send)
        self.last_ack = max(self.last_ack, other.last_ack)
        self.last_result = max(self.last_result, other.last_result)
        self.succeeded += other.succeeded
        self.failures += other.failures

    @property
    def acked(self) -> int:
        return len(self.ack_ms)

    def require_clean(self, what: str) -> None:
        if self.failures:
            raise RuntimeError(f"{what}: {len(self.failures)} jobs failed, first: {self.failures[0]}")

    def jobs_per_second_to_last_result(self) -> float:
        return self.succeeded / (self.last_result - self.first_send)

    def acks_per_second(self) -> float:
        return self.acked / (self.last_ack - self.first_send)


# --- clients -------------------------------------------------------------------------------------------------------


async def _receive(websocket: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(RECEIVE_TIMEOUT_S):
        message = json.loads(await websocket.recv())
    if not isinstance(message, dict):
        raise RuntimeError(f"unexpected reply {message!r}")
    return message


class StartLine:
    """Holds the clients of a run until every one is connected and greeted, then releases them together."""

    def __init__(self, clients: int) -> None:
        self._waiting = clients
        self._go = asyncio.Event()

    async def arrive(self) -> None:
        self._waiting -= 1
        if self._waiting <= 0:
            self._go.set()
        await self._go.wait()


async def _client(url: str, client_id: str, jobs: list[tuple[str, str]], start: StartLine) -> LoadRun:
    """One POS: sends its tickets one after another (the next once the last is acked), then waits for every result."""
    run = LoadRun()
    texts = [(job_id, ticket_text(job_id, printer)) for job_id, printer in jobs]
    async with connect(f"{url}?client_id={client_id}", open_timeout=RECEIVE_TIMEOUT_S, proxy=None) as websocket:
        greeting = await _receive(websocket)
        if greeting.get("tipo") != "info":
            raise RuntimeError(f"unexpected greeting {greeting!r}")
        await start.arrive()
        expected_results = 0

        def on_result(message: dict[str, Any]) -> None:
            run.last_result = time.perf_counter()
            if message.get("status") == "success":
                run.succeeded += 1
            else:
                run.failures.append(str(message.get("mensaje")))

        for job_id, text in texts:
            sent = time.perf_counter()
            run.first_send = min(run.first_send, sent)
            await websocket.send(text)
            reply = await _receive(websocket)
            while reply.get("tipo") == "result":  # an earlier ticket of this client finished meanwhile
                on_result(reply)
                expected_results -= 1
                reply = await _receive(websocket)
            if reply.get("tipo") == "ack" and reply.get("id") == job_id and reply.get("status") == "queued":
                run.last_ack = time.perf_counter()
                run.ack_ms.append((run.last_ack - sent) * 1000)
                expected_results += 1
            else:
                run.failures.append(str(reply.get("mensaje", reply)))
        for _ in range(expected_results):
            reply = await _receive(websocket)
            if reply.get("tipo") == "result":
                on_result(reply)
    return run


async def run_load(url: str, plan: list[list[tuple[str, str]]]) -> LoadRun:
    """One client per entry of ``plan`` (its (job id, printer) list), all connected first, then started together."""
    start = StartLine(len(plan))
    total = LoadRun()
    async with asyncio.timeout(LOAD_TIMEOUT_S):
        clients = [
            asyncio.create_task(_client(url, f"bench-{index}", jobs, start), name=f"bench-client-{index}")
            for index, jobs in enumerate(plan)
        ]
        try:
            for run in await asyncio.gather(*clients):  # the first client that fails ends the run
                total.add(run)
        finally:
            for task in clients:
                task.cancel()
            await asyncio.gather(*clients, return_exceptions=True)
    return total


def plan(tag: str, clients: int, jobs_each: int) -> list[list[tuple[str, str]]]:
    """``clients`` lists of (unique job id, printer), the printers taken round-robin over all jobs."""
    return [
        [(f"{tag}-{c}-{n}", printer_name((c * jobs_each + n) % PRINTERS)) for n in range(jobs_each)]
        for c in range(clients)
    ]


# --- figures ---------------------------------------------------------------------------------------------------------


def _p(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _latency_line(label: str, run: LoadRun) -> str:
    return (
        f"  {label:<44} p50 {statistics.median(run.ack_ms):7.2f} ms   p99 {_p(run.ack_ms, 0.99):7.2f} ms"
        f"   ({run.acked} acks, {run.acks_per_second():6.0f} acks/s)"
    )


async def ack_latency(daemon: DaemonProcess) -> None:
    print(f"  1. ack latency (send -> ack), each client sends its next ticket once acked; {PRINTERS} fast printers:")
    for clients, jobs_each in ACK_LEVELS:
        run = await run_load(daemon.ws_url, plan(f"ack{clients}", clients, jobs_each))
        run.require_clean(f"{clients} clients")
        print(_latency_line(f"{clients:>3} concurrent client(s) x {jobs_each} tickets", run))


async def throughput(daemon: DaemonProcess, printers: Printers) -> None:
    jobs = THROUGHPUT_CLIENTS * THROUGHPUT_JOBS_EACH
    meter = CpuMeter(daemon, printers)
    run = await run_load(daemon.ws_url, plan("tput", THROUGHPUT_CLIENTS, THROUGHPUT_JOBS_EACH))
    run.require_clean("throughput")
    daemon_cpu, printers_cpu, clients_cpu = meter.used()
    elapsed = run.last_result - run.first_send
    print(f"  2. end-to-end into {PRINTERS} unthrottled virtual network printers ({THROUGHPUT_CLIENTS} clients):")
    print(
        f"  {jobs} jobs, first send -> last result: {elapsed:6.2f} s   = {run.jobs_per_second_to_last_result():6.1f}"
        " jobs/s"
    )
    print(
        f"  CPU used: daemon {daemon_cpu:.2f} s ({daemon_cpu / jobs * 1000:.1f} ms/job), virtual printers"
        f" {printers_cpu:.2f} s (they draw every job), clients {clients_cpu:.2f} s"
    )


async def print_once(uri: str, data: bytes, data_dir: Path) -> None:
    """What a printer worker does with one job (server/workers.py): connect, check status (DLE EOT), send the bytes,
    check status again (the reply queues behind the bytes, so it confirms the printer took them all), close."""
    transport = open_transport(uri, dot_width=576, data_dir=data_dir)
    try:
        await transport.open()
        await _require_ready(transport, uri)
        await transport.send(data)
        await _require_ready(transport, uri)
    finally:
        await transport.close()


async def _require_ready(transport: Transport, uri: str) -> None:
    state = await transport.status()
    if state is not PrinterState.ready:
        raise RuntimeError(f"{uri} is {state.value}")


async def shared_worker(jobs: list[tuple[str, bytes]], data_dir: Path) -> float:
    """The original daemon's design: one queue and one worker that prints each job, in acceptance order, on the
    printer it names, waiting for it before taking the next. Same transport code and checks as ours. Seconds."""
    started = time.perf_counter()
    async with asyncio.timeout(BASELINE_TIMEOUT_S):
        for uri, data in jobs:
            await print_once(uri, data, data_dir)
    return time.perf_counter() - started


async def per_printer_vs_shared_worker(root: Path) -> None:
    async with virtual_printers(root / "slow-printers", bytes_per_second=SLOW_BYTES_PER_SECOND) as printers:
        async with running_daemon(root / "slow", printers) as daemon:
            total = PRINTERS * SLOW_JOBS_PER_PRINTER
            order = plan("slow", 1, total)  # one client, printers round-robin: the same order as the baseline
            run = await run_load(daemon.ws_url, order)
            run.require_clean("slow printers")
        ours = run.last_result - run.first_send
        jobs = []
        for job_id, printer in order[0]:
            datos = json.loads(ticket_text(job_id, printer))["datos"]
            jobs.append((printers.uris[printer], render_document(datos, raw_policy="allow").data))
        baseline = await shared_worker(jobs, root / "baseline")
    size = statistics.mean(len(data) for _, data in jobs)
    print(
        f"  3. {PRINTERS} printers x {SLOW_JOBS_PER_PRINTER} jobs of {size / 1024:.1f} KB at"
        f" {SLOW_BYTES_PER_SECOND} B/s (acceptance order round-robin over the printers):"
    )
    print(f"  {'one worker per printer (ticket-daemon)':<44} {ours:6.2f} s wall (first send -> last result)")
    print(f"  {'one shared worker (original design)':<44} {baseline:6.2f} s wall (first job -> last job printed)")
    print(f"  ratio shared / per-printer: {baseline / ours:.2f}x")


async def _store_add_ms(add: Callable[[Job], Awaitable[Job]], jobs: list[Job]) -> list[float]:
    samples = []
    for job in jobs:
        started = time.perf_counter()
        await add(job)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def store_jobs(tag: str) -> list[Job]:
    rendered = render_document(receipt(1), raw_policy="allow")
    now = time.time()
    return [
        Job(
            id=f"{tag}-{n}",
            client_id="bench",
            printer=printer_name(n % PRINTERS),
            document=rendered.document_json,
            data=rendered.data,
            created_at=now,
            updated_at=now,
        )
        for n in range(STORE_ADDS)
    ]


async def store_add_rates(root: Path, report: Callable[[str, Stats], None]) -> None:
    capacity = STORE_ADDS + 1
    memory = MemoryJobStore(history=STORE_ADDS)
    memory_ms = await _store_add_ms(lambda job: memory.add(job, capacity=capacity), store_jobs("mem"))
    root.mkdir(parents=True, exist_ok=True)
    sqlite = SqliteSpool(root / "spool.sqlite3")
    await sqlite.open(now=time.time(), interrupted_policy="reprint")
    try:
        sqlite_ms = await _store_add_ms(lambda job: sqlite.add(job, capacity=capacity), store_jobs("sql"))
    finally:
        await sqlite.close()
    print(
        f"  4a. store add() directly, {STORE_ADDS} jobs one after another"
        f" (SQLite: one fsync per add, file on {filesystem(root)}):"
    )
    report("MemoryJobStore.add", Stats(memory_ms))
    report("SqliteSpool.add (its own group commit)", Stats(sqlite_ms))
    memory_rate, sqlite_rate = 1000 / statistics.mean(memory_ms), 1000 / statistics.mean(sqlite_ms)
    print(
        f"  adds/s: memory {memory_rate:,.0f}   SQLite {sqlite_rate:,.0f}"
        f"   (memory / SQLite {memory_rate / sqlite_rate:.0f}x)"
    )


async def spool_end_to_end(root: Path, printers: Printers) -> None:
    tickets = SPOOL_CLIENTS * SPOOL_JOBS_EACH
    if not durable_spool_configurable():
        print("  4b. end-to-end: the durable spool is not wired into Daemon in this build ([storage] spool missing);")
        print("      only store add() was measured above")
        return
    from ticket_daemon.store.sqlite import SPOOL_FILE  # only in builds with the durable spool

    print(f"  4b. acked jobs/s, {tickets} tickets from {SPOOL_CLIENTS} clients to {PRINTERS} fast printers:")
    cases = (
        ("memory", "memory spool", 0),
        ("sqlite", "SQLite spool, new", 0),
        ("sqlite", f"SQLite spool, {PREFILLED_JOBS:,} kept", PREFILLED_JOBS),
    )
    for spool, label, kept in cases:
        folder = root / f"spool-{spool}-{kept}"
        database = folder / "data" / SPOOL_FILE
        if kept:
            prefill_spool(database, kept)
        async with running_daemon(folder, printers, spool=spool) as daemon:
            meter = CpuMeter(daemon, printers)
            run = await run_load(daemon.ws_url, plan(f"spool-{spool}-{kept}", SPOOL_CLIENTS, SPOOL_JOBS_EACH))
            run.require_clean(label)
            daemon_cpu = meter.used()[0]
        note = "spool file written" if database.exists() else "no spool file"
        print(
            f"  {label:<26} {run.acks_per_second():6.1f} acked jobs/s   ack p50 {statistics.median(run.ack_ms):6.2f} ms"
            f"  p99 {_p(run.ack_ms, 0.99):6.2f} ms   daemon CPU {daemon_cpu / tickets * 1000:4.1f} ms/job   ({note})"
        )


def prefill_spool(database: Path, finished: int) -> None:
    """Finished jobs already in the spool, as a till accumulates them over days (they are kept for job_status and
    reprints until ``[spool] retention_days``). Inserted in one transaction straight into the store's table: through
    the store's API each would cost four fsyncs."""
    database.parent.mkdir(parents=True, exist_ok=True)
    SqliteJobStore(database).close()  # creates the file at the current schema
    rendered = render_document(receipt(1), raw_policy="allow")
    now = time.time()
    rows = []
    for n in range(finished):
        when = now - (finished - n) * 60  # one a minute, the newest just now: none is due for pruning
        rows.append(
            (f"kept-{n}", f"till-{n % 10}", printer_name(n % PRINTERS), rendered.document_json, rendered.data, when)
        )
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.executemany(
            "INSERT INTO jobs (id, client_id, printer, document, data, created_at, updated_at, state, delivered)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 'success', 1)",  # created = updated
            rows,
        )


def filesystem(path: Path) -> str:
    """The file system type holding ``path`` (from /proc/mounts): fsync is free on tmpfs, not on a disk."""
    best, kind = "", "unknown file system"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) > 2 and path.resolve().is_relative_to(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    return kind


async def _all(root: Path, report: Callable[[str, Stats], None]) -> None:
    jobs_kb = len(render_document(receipt(1), raw_policy="allow").data) / 1024
    spool = (
        "default" if not durable_spool_configurable() else f"default ({StorageSettings.model_fields['spool'].default})"
    )
    print(f"  daemon: `ticket-daemon serve` child process, spool {spool}; jobs ~{jobs_kb:.1f} KB of ESC/POS each")
    print(
        f"  machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the run (figures share them)"
    )
    async with virtual_printers(root / "fast-printers") as printers:
        async with running_daemon(root / "fast", printers) as daemon:
            await ack_latency(daemon)
            await throughput(daemon, printers)
        await per_printer_vs_shared_worker(root)
        await store_add_rates(root / "store", report)
        await spool_end_to_end(root, printers)


def run(report: Callable[[str, Stats], None]) -> None:
    with tempfile.TemporaryDirectory(prefix="ticket-bench-daemon-") as tmp:
        asyncio.run(_all(Path(tmp), report))
