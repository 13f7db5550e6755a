"""Daemon life-cycle benchmarks: ``ticket-daemon serve`` start-up time to ready, memory, and stop time, each against
a bare Starlette/uvicorn app (``bare_app.py``) started the same way in the same run, in ``BENCH_STARTS`` (7)
interleaved rounds. "Ready" is the first ``GET /health`` answered 200: the daemon prints its ready line only once its
spool is open and recovered and the server accepts connections, so a ticket sent then is durably queued.

Targets: ready <= 2x the bare app's; idle PSS of every process of the daemon <= 2x the bare app's. Also printed:
the first ticket's ack on a daemon just started (spawn -> ready line -> WebSocket -> ack), so what start-up leaves
for the first ticket to pay shows; and the PSS of every process after a load of ``BENCH_AFTER_LOAD_RECEIPTS``
(2 000) ``examples/receipt.json`` tickets from 10 connections, every result back, against the bare app's after the
same tickets.

Both programs start from compiled bytecode, as an installed package does (pip compiles it at install time): the
benchmark compiles the sources first, so a ``PYTHONDONTWRITEBYTECODE`` environment (or an edited source) does not
make every start compile ~150 modules again.

Also home of :class:`DaemonProcess`: a real ``python -m ticket_daemon serve`` child process on 127.0.0.1 port 0,
which the "daemon" section drives over WebSocket. A separate process keeps the benchmark's own clients from
sharing the daemon's interpreter (and its GIL), as real POS clients never do.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import http.client
import json
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .memory import TreeMemory, tree_memory
from .report import Stats

REPO = Path(__file__).resolve().parents[1]
READY_LINE = "ticket-daemon ready"  # service/console.py prints it once the server accepts connections
READY_TIMEOUT_S = 30.0  # upper bound for a start-up (a cold interpreter on a busy 2-core machine is ~1 s)
STOP_TIMEOUT_S = 30.0  # SIGTERM → exit; the daemon's own shutdown grace is 10 s by default
HEALTH_TIMEOUT_S = 5.0
IDLE_SETTLE_S = 1.0  # let start-up garbage settle before reading the resident set
STARTS = int(os.environ.get("BENCH_STARTS", "7"))  # interleaved starts of each program (medians)
AFTER_LOAD_RECEIPTS = int(os.environ.get("BENCH_AFTER_LOAD_RECEIPTS", "2000"))
AFTER_LOAD_CLIENTS = 10
AFTER_LOAD_TIMEOUT_S = 600.0  # the whole load, results included: a bound, never reached on a working daemon
_READY_URL = re.compile(r"http://[^\s/]+:(\d+)/")


class DaemonStartError(RuntimeError):
    """The daemon exited or stayed silent instead of printing its ready line."""


@dataclass
class DaemonProcess:
    """A running ``ticket-daemon serve``; stop it with :meth:`stop` (SIGTERM, then SIGKILL if it hangs)."""

    process: asyncio.subprocess.Process
    port: int
    stderr_path: Path
    ready_s: float  # spawn → ready line on stdout

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @classmethod
    async def spawn(cls, data_dir: Path, *, config: Path | None = None, bare: bool = False) -> DaemonProcess:
        """The daemon, or (``bare``) the bare reference app, which prints the same ready line."""
        data_dir.mkdir(parents=True, exist_ok=True)
        stderr_path = data_dir / "daemon-stderr.log"  # a file, not a pipe: a full pipe would stall the daemon
        command = [sys.executable, "-m", "ticket_daemon", "serve", "--port", "0", "--data-dir", str(data_dir)]
        if bare:
            command = [sys.executable, "-m", "benchmarks.bare_app"]
        if config is not None:
            command += ["--config", str(config)]
        started = time.perf_counter()
        with stderr_path.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.PIPE, stderr=stderr, cwd=REPO, env=clean_environment()
            )
        try:
            port = await _read_ready_port(process)
        except BaseException as error:  # cancelled or timed out included: never leave the child running
            await terminate(process)
            if isinstance(error, Exception):
                raise DaemonStartError(f"the daemon did not start: {tail(stderr_path)}") from None
            raise
        return cls(process, port, stderr_path, time.perf_counter() - started)

    def memory(self) -> TreeMemory | None:
        """PSS and RSS of the process and every process it started (render workers included)."""
        return tree_memory(self.process.pid)

    def rss_kib(self) -> int | None:
        """Resident set size from ``/proc/PID/status`` (Linux), or None where that is not available."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        except OSError:
            return None
        match = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
        return int(match.group(1)) if match else None

    async def stop(self) -> float:
        """SIGTERM (the graceful stop) and wait for the exit; seconds it took."""
        started = time.perf_counter()
        await terminate(self.process)
        return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (``/proc/PID/stat``; 0.0 where that is not available)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": fields[0] is field 3 of proc(5)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def clean_environment() -> dict[str, str]:
    """This environment without ``TICKET_*`` settings, so a developer's variables cannot change the figures."""
    return {key: value for key, value in os.environ.items() if not key.upper().startswith("TICKET_")}


async def _read_ready_port(process: asyncio.subprocess.Process) -> int:
    if process.stdout is None:
        raise DaemonStartError("no stdout pipe")
    async with asyncio.timeout(READY_TIMEOUT_S):
        while line := (await process.stdout.readline()).decode(errors="replace"):
            if line.startswith(READY_LINE) and (match := _READY_URL.search(line)):
                return int(match.group(1))
    raise DaemonStartError("the daemon exited before it was ready")


async def terminate(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await asyncio.wait_for(process.wait(), timeout=STOP_TIMEOUT_S)
    if process.stdout is not None:  # the ready line was read; drain whatever else was printed
        with contextlib.suppress(Exception):
            await process.stdout.read()


def tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]) or "(no output)"
    except OSError:
        return "(no output)"


def health_status(port: int) -> int:
    """``GET /health`` straight to 127.0.0.1 (http.client: no proxy from the environment); the HTTP status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HEALTH_TIMEOUT_S)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@dataclass(frozen=True)
class StartSample:
    ready_s: float  # spawn → ready line
    healthy_s: float  # spawn → first /health answer
    memory: TreeMemory | None
    stop_s: float


async def _one_start(data_dir: Path, *, bare: bool) -> StartSample:
    started = time.perf_counter()
    daemon = await DaemonProcess.spawn(data_dir, bare=bare)
    try:
        status = await asyncio.to_thread(health_status, daemon.port)
        healthy_s = time.perf_counter() - started
        if status != 200:
            raise DaemonStartError(f"/health answered {status}")
        await asyncio.sleep(IDLE_SETTLE_S)
        memory = daemon.memory()
    finally:
        stop_s = await daemon.stop()
    if not bare and daemon.process.returncode != 0:
        raise DaemonStartError(f"the daemon exited with status {daemon.process.returncode}: {tail(daemon.stderr_path)}")
    return StartSample(daemon.ready_s, healthy_s, memory, stop_s)


@dataclass(frozen=True)
class FirstTicket:
    spawn_to_ack_s: float  # spawn → the first ticket's ack
    ack_s: float  # the ready line → that ack (connect, greeting, ticket, ack)


async def _first_ticket(data_dir: Path, *, bare: bool) -> FirstTicket:
    """A fresh start, and one small ticket sent as soon as the ready line is read."""
    from websockets.asyncio.client import connect

    from .ackpath import SMALL

    started = time.perf_counter()
    daemon = await DaemonProcess.spawn(data_dir, bare=bare)
    try:
        ready = time.perf_counter()
        async with asyncio.timeout(READY_TIMEOUT_S):
            async with connect(f"{daemon.ws_url}?client_id=first", proxy=None, compression=None) as ws:
                await ws.recv()  # the greeting
                await ws.send(json.dumps({"tipo": "ticket", "id": "first-ticket", "datos": SMALL}))
                while (reply := json.loads(await ws.recv())).get("tipo") != "ack":
                    pass
        acked = time.perf_counter()
        if reply.get("status") != "queued":
            raise DaemonStartError(f"the first ticket was not queued: {reply}")
    finally:
        await daemon.stop()
    return FirstTicket(acked - started, acked - ready)


async def _first_tickets(root: Path) -> tuple[list[FirstTicket], list[FirstTicket]]:
    """(bare app, ours), interleaved; a fresh data directory each time."""
    bare: list[FirstTicket] = []
    ours: list[FirstTicket] = []
    for n in range(STARTS):
        bare.append(await _first_ticket(root / f"bare-first{n}", bare=True))
        ours.append(await _first_ticket(root / f"first{n}", bare=False))
    return bare, ours


def compile_sources() -> None:
    """Bytecode for the daemon's package and the benchmarks (the bare app), as an installation has it."""
    import ticket_daemon

    for package in (Path(ticket_daemon.__file__).parent, REPO / "benchmarks"):
        compileall.compile_dir(package, quiet=1)


async def _starts(root: Path) -> tuple[list[StartSample], list[StartSample]]:
    """(bare app, ours), interleaved so a slow patch of the machine hits both. A fresh data directory each time:
    the first start of a new installation, spool and logs created."""
    bare: list[StartSample] = []
    ours: list[StartSample] = []
    for n in range(STARTS):
        bare.append(await _one_start(root / f"bare{n}", bare=True))
        ours.append(await _one_start(root / f"start{n}", bare=False))
    return bare, ours


def _ratios(mine: list[float], reference: list[float]) -> str:
    ratios = sorted(m / r for m, r in zip(mine, reference, strict=True) if r > 0)
    return f"{statistics.median(ratios):.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})" if ratios else "n/a"


async def _receipts(url: str, name: str, count: int, *, results: bool) -> None:
    """One till sends ``count`` receipts, each once the last is acked; then (``results``) waits for every result."""
    from websockets.asyncio.client import connect

    from .ackpath import RECEIPT

    received = 0
    async with connect(f"{url}?client_id={name}", proxy=None, compression=None) as ws:
        await ws.recv()  # the greeting
        for n in range(count):
            await ws.send(json.dumps({"tipo": "ticket", "id": f"{name}-{n}", "datos": RECEIPT}))
            while (reply := json.loads(await ws.recv())).get("tipo") != "ack":
                received += reply.get("tipo") == "result"
        while results and received < count:
            received += json.loads(await ws.recv()).get("tipo") == "result"


async def _after_load(root: Path, *, bare: bool) -> TreeMemory | None:
    """PSS of every process once ``AFTER_LOAD_RECEIPTS`` receipts are acked (and, ours, printed)."""
    from .ackpath import CONFIG

    root.mkdir(parents=True, exist_ok=True)
    config = root / "ticket-daemon.toml"
    config.write_text(CONFIG, encoding="utf-8")
    daemon = await DaemonProcess.spawn(root / "data", config=config, bare=bare)
    try:
        per_client = AFTER_LOAD_RECEIPTS // AFTER_LOAD_CLIENTS
        async with asyncio.timeout(AFTER_LOAD_TIMEOUT_S):
            await asyncio.gather(
                *(
                    _receipts(daemon.ws_url, f"load-{n}", per_client, results=not bare)
                    for n in range(AFTER_LOAD_CLIENTS)
                )
            )
        await asyncio.sleep(IDLE_SETTLE_S)
        return daemon.memory()
    finally:
        await daemon.stop()


async def _after_loads(root: Path) -> tuple[TreeMemory | None, TreeMemory | None]:
    return await _after_load(root / "bare-load", bare=True), await _after_load(root / "load", bare=False)


def run(report: Callable[[str, Stats], None]) -> None:
    compile_sources()
    with tempfile.TemporaryDirectory(prefix="ticket-bench-life-") as tmp:
        bare, ours = asyncio.run(_starts(Path(tmp)))
        bare_first, ours_first = asyncio.run(_first_tickets(Path(tmp)))
        bare_loaded, ours_loaded = asyncio.run(_after_loads(Path(tmp)))
    print(f"  `python -m ticket_daemon serve --port 0 --data-dir TMP` (default config), {STARTS} starts:")
    report("start-up: spawn -> 'ticket-daemon ready'", Stats([s.ready_s * 1000 for s in ours]))
    report("start-up: spawn -> /health answers 200", Stats([s.healthy_s * 1000 for s in ours]))
    report("bare app: spawn -> /health answers 200", Stats([s.healthy_s * 1000 for s in bare]))
    report("stop: SIGTERM -> exit (idle)", Stats([s.stop_s * 1000 for s in ours]))
    ready_ratio = _ratios([s.healthy_s for s in ours], [s.healthy_s for s in bare])
    print(
        f"  ready (median of {STARTS}): ours {statistics.median(s.healthy_s for s in ours):.2f} s,"
        f" bare app {statistics.median(s.healthy_s for s in bare):.2f} s: ours/bare {ready_ratio} (target <= 2x)"
    )
    report("first ticket: spawn -> ack", Stats([f.spawn_to_ack_s * 1000 for f in ours_first]))
    report("first ticket: ready line -> ack", Stats([f.ack_s * 1000 for f in ours_first]))
    report("bare app: first ticket: spawn -> ack", Stats([f.spawn_to_ack_s * 1000 for f in bare_first]))
    report("bare app: first ticket: ready line -> ack", Stats([f.ack_s * 1000 for f in bare_first]))
    first_ratio = _ratios([f.spawn_to_ack_s for f in ours_first], [f.spawn_to_ack_s for f in bare_first])
    print(f"  spawn -> first ack ours/bare {first_ratio}")
    mine = [s.memory for s in ours if s.memory is not None]
    reference = [s.memory for s in bare if s.memory is not None]
    if len(mine) == len(reference) == STARTS:
        pss_ratio = _ratios([m.pss_kib for m in mine], [r.pss_kib for r in reference])
        middle = sorted(mine, key=lambda m: m.pss_kib)[len(mine) // 2]
        base = sorted(reference, key=lambda m: m.pss_kib)[len(reference) // 2]
        print(f"  idle memory, ours:     {middle.describe()}")
        print(f"  idle memory, bare app: {base.describe()}")
        print(f"  idle PSS ours/bare {pss_ratio} (target <= 2x)")
    else:
        print("  idle memory: /proc/PID/smaps_rollup not available on this system")
    if bare_loaded is not None and ours_loaded is not None:
        print(f"  after {AFTER_LOAD_RECEIPTS} receipts, ours:     {ours_loaded.describe()}")
        print(f"  after {AFTER_LOAD_RECEIPTS} receipts, bare app: {bare_loaded.describe()}")
        print(f"  after-load PSS ours/bare {ours_loaded.pss_kib / bare_loaded.pss_kib:.2f}x")
