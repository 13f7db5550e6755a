"""The ack path against its floor, side by side in one run (``make bench`` section ``ackpath``).

The floor is a bare WebSocket server that parses a ticket and answers an ack (``floor_server.py``); ours is the real
daemon with its durable SQLite spool, rate limit off and a printer that swallows bytes (``file:///dev/null``). The
same closed-loop clients drive both (each sends its next ticket once the last one is acked), so the ratios say what
validating, rendering and storing a job durably cost, whatever this shared machine's speed today. Between them, the
durable floor (``durable_floor.py``) does only what an ack promises and a result needs: the ticket's row committed
and fsync'ed in group commits before its ack, then marked printed and a result sent; durable floor ÷ floor is the
price of durability alone on this machine, a ceiling for ours ÷ floor. Each comparison runs in ``BENCH_ROUNDS`` (3)
rounds taking turns between the three servers over ``BENCH_LOAD_SECONDS`` (6 s) each; figures are medians and each
ratio is printed with its range over the rounds. Figures:

- durable acks/s of a one-line ticket and of ``examples/receipt.json`` at 10 connections: ours ÷ floor, and the
  durable floor beside them, with our CPU time per ack split between the event loop, the other threads and the
  render workers (``cputime.py``);
- printing keeps up: after a load of ``BENCH_KEEPUP_SECONDS`` (30 s), how many acked jobs were printed within 2 s;
- ack p99 at 100 connections, ours ÷ the durable floor's, and how long after the load's end every result was back;
- the ack latency of a small ticket from one till while six others send heavy previews (render budget).

A burst of receipts at a network printer is section ``burst`` (``burst.py``).

Targets: ours ≥ 0.7× the durable floor for the one-line ticket and ≥ 0.5× for the receipt; ack p99 at 100
connections ≤ 1.5× the durable floor's; every result back within 1 s of the load's end.

Every loop is bounded by a duration or a timeout; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from .cputime import TreeCpu, tree_cpu
from .lifecycle import REPO, DaemonProcess, clean_environment, tail, terminate
from .report import Stats

LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "6"))
# The load of each comparison is split into rounds, floor, durable floor and ours in turn, so a slow patch of this
# shared machine hits all three; the figures are medians over the rounds, and the spread of the ratio is printed.
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "3")))
KEEPUP_SECONDS = float(os.environ.get("BENCH_KEEPUP_SECONDS", "30"))
KEEPUP_GRACE_SECONDS = 2.0  # "every acked job printed within 2 s after the load ends"
HEAVY_SECONDS = float(os.environ.get("BENCH_HEAVY_SECONDS", "10"))
RECEIVE_TIMEOUT_S = 30.0
START_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 120.0
HEAVY_CLIENTS = 6
SMALL_TICKET_EVERY_S = 0.1
# Limits lifted, so that no rate limit or queue bound of the daemon shapes what the benchmarks measure.
UNLIMITED_SERVER = """
[server]
queue_capacity = 100000
rate_limit_per_minute = 0
messages_per_second = 100000
message_burst = 100000
max_connections_per_address = 1000
"""
CONFIG = (
    UNLIMITED_SERVER
    + """
[[printers]]
name = "null"
uri = "file:///dev/null"
"""
)

SMALL = {
    "version": "1.0",
    "profile": {"model": "80mm EC-PM-80250"},
    "commands": [{"type": "text", "data": {"content": {"text": "Hola"}}}],
}
RECEIPT: dict[str, Any] = json.loads((REPO / "examples" / "receipt.json").read_text(encoding="utf-8"))
# A preview that takes the renderer seconds: 65 536 CJK characters (no code page has them: printed as an image).
HEAVY = {
    "version": "1.0",
    "profile": {"model": "80mm EC-PM-80250"},
    "commands": [{"type": "text", "data": {"content": {"text": "漢字" * 32_768}}}],
}


@dataclass
class Load:
    """What the clients of one closed-loop run saw."""

    ack_ms: list[float] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    results: int = 0
    last_result: float = 0.0

    @property
    def acks_per_second(self) -> float:
        return len(self.ack_ms) / max(1e-9, self.ended - self.started)


async def next_reply(websocket: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(RECEIVE_TIMEOUT_S):
        message = json.loads(await websocket.recv())
    if not isinstance(message, dict):
        raise RuntimeError(f"unexpected reply {message!r}")
    return message


async def _closed_loop(
    url: str, name: str, document: dict[str, Any], seconds: float, load: Load, expect_results: bool
) -> None:
    """One till: ticket, wait for its ack, next ticket, until ``seconds`` are up; then (daemon) wait for results."""
    numbers = itertools.count()
    owed = 0
    async with connect(f"{url}?client_id={name}", open_timeout=START_TIMEOUT_S, proxy=None, compression=None) as ws:
        await next_reply(ws)  # the greeting
        deadline = load.started + seconds
        while time.perf_counter() < deadline:
            job_id = f"{name}-{next(numbers)}"
            sent = time.perf_counter()
            await ws.send(json.dumps({"tipo": "ticket", "id": job_id, "datos": document}))
            while True:
                reply = await next_reply(ws)
                if reply.get("tipo") == "result":
                    load.results += 1
                    load.last_result = time.perf_counter()
                    owed -= 1
                    continue
                if reply.get("tipo") == "job":  # waiting for the printer: not an answer to this ticket
                    continue
                break
            if reply.get("tipo") == "ack" and reply.get("id") == job_id:
                load.ack_ms.append((time.perf_counter() - sent) * 1000)
                owed += 1
            else:
                load.refused.append(str(reply.get("mensaje", reply)))
        load.ended = max(load.ended, time.perf_counter())
        if not expect_results:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                while owed > 0:
                    reply = json.loads(await ws.recv())
                    if reply.get("tipo") == "result":
                        load.results += 1
                        load.last_result = time.perf_counter()
                        owed -= 1


async def one_ticket_ms(url: str, document: dict[str, Any], name: str) -> float:
    """Milliseconds from sending one ticket to its ack."""
    async with connect(f"{url}?client_id={name}", open_timeout=START_TIMEOUT_S, proxy=None, compression=None) as ws:
        await next_reply(ws)  # the greeting
        sent = time.perf_counter()
        await ws.send(json.dumps({"tipo": "ticket", "id": f"{name}-0", "datos": document}))
        while (reply := await next_reply(ws)).get("tipo") in ("job", "result"):
            pass
        if reply.get("tipo") != "ack":
            raise RuntimeError(f"the first receipt was refused: {reply}")
        return (time.perf_counter() - sent) * 1000


async def closed_loop(
    url: str, clients: int, document: dict[str, Any], seconds: float, *, tag: str, results: bool
) -> Load:
    load = Load(started=time.perf_counter())
    async with asyncio.timeout(seconds + DRAIN_TIMEOUT_S + 60):
        await asyncio.gather(
            *(_closed_loop(url, f"{tag}-{n}", document, seconds, load, results) for n in range(clients))
        )
    return load


@asynccontextmanager
async def floor_server(module: str = "benchmarks.floor_server") -> AsyncIterator[str]:
    """The bare floor, or (``benchmarks.durable_floor``) the durable one, in a process of its own."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
        env=clean_environment(),
    )
    try:
        if process.stdout is None:
            raise RuntimeError("no stdout pipe")
        url = ""
        async with asyncio.timeout(START_TIMEOUT_S):
            while line := (await process.stdout.readline()).decode():
                if line.startswith("floor listening on "):
                    url = f"ws://{line.split()[-1]}/ws"
                    break
        if not url:
            raise RuntimeError("the floor server exited before listening")
        yield url
    finally:
        await terminate(process)


@asynccontextmanager
async def daemon(root: Path) -> AsyncIterator[DaemonProcess]:
    root.mkdir(parents=True, exist_ok=True)
    config = root / "ticket-daemon.toml"
    config.write_text(CONFIG, encoding="utf-8")
    process = await DaemonProcess.spawn(root / "data", config=config)
    try:
        yield process
    finally:
        await process.stop()
        if process.process.returncode != 0:
            print(f"  (daemon exited with status {process.process.returncode}: {tail(process.stderr_path)})")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def _refusals(load: Load) -> str:
    return f"  ({len(load.refused)} refused, first: {load.refused[0]})" if load.refused else ""


@dataclass(frozen=True)
class Servers:
    """The three servers every comparison runs against, side by side (and our daemon's pid, for its CPU time)."""

    floor: str
    durable_floor: str
    ours: str
    ours_pid: int | None = None


@dataclass
class Rounds:
    """The same closed-loop load run ``ROUNDS`` times against each server, interleaved."""

    floor: list[Load] = field(default_factory=list)
    durable: list[Load] = field(default_factory=list)
    ours: list[Load] = field(default_factory=list)
    ours_cpu: list[TreeCpu] = field(default_factory=list)  # our daemon's CPU time during each of its rounds

    def medians(self, figure: Callable[[Load], float]) -> tuple[float, float, float]:
        """The median of ``figure`` over the rounds: floor, durable floor, ours."""
        floor, durable, ours = (statistics.median(figure(load) for load in loads) for loads in self._all())
        return floor, durable, ours

    def ratios(self, figure: Callable[[Load], float], mine: list[Load], base: list[Load] | None = None) -> list[float]:
        """``figure`` of ``mine`` ÷ that of ``base`` (the floor's by default), round by round, sorted."""
        reference = self.floor if base is None else base
        return sorted(figure(one) / figure(other) for one, other in zip(mine, reference, strict=True))

    def first_refusals(self) -> Load:
        return next((load for load in self.ours if load.refused), self.ours[0])

    def _all(self) -> tuple[list[Load], list[Load], list[Load]]:
        return self.floor, self.durable, self.ours


async def _rounds(servers: Servers, clients: int, document: dict[str, Any], tag: str) -> Rounds:
    seconds = max(1.0, LOAD_SECONDS / ROUNDS)
    rounds = Rounds()
    for number in range(ROUNDS):
        rounds.floor.append(
            await closed_loop(servers.floor, clients, document, seconds, tag=f"f-{tag}{number}", results=False)
        )
        rounds.durable.append(
            await closed_loop(servers.durable_floor, clients, document, seconds, tag=f"d-{tag}{number}", results=True)
        )
        before = tree_cpu(servers.ours_pid) if servers.ours_pid is not None else None
        rounds.ours.append(
            await closed_loop(servers.ours, clients, document, seconds, tag=f"o-{tag}{number}", results=True)
        )
        after = tree_cpu(servers.ours_pid) if servers.ours_pid is not None else None
        if before is not None and after is not None:
            rounds.ours_cpu.append(after - before)
    return rounds


def _rate(load: Load) -> float:
    return load.acks_per_second


def _p99(load: Load) -> float:
    return percentile(load.ack_ms, 0.99)


def _spread(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):5.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})"


async def _throughput(servers: Servers, name: str, document: dict[str, Any], target: float) -> None:
    rounds = await _rounds(servers, 10, document, name)
    floor, durable, ours = rounds.medians(_rate)
    refused = rounds.first_refusals()
    print(
        f"  {name:<12} 10 conns: durable floor {durable:8.0f} acks/s   ours {ours:8.0f} acks/s"
        f"   ours/durable floor {_spread(rounds.ratios(_rate, rounds.ours, rounds.durable))}"
        f" (target >= {target}x){_refusals(refused)}"
    )
    print(
        f"  {'':<12}           floor {floor:8.0f} acks/s (parse and ack only); durable floor/floor"
        f" {_spread(rounds.ratios(_rate, rounds.durable))}, ours/floor {_spread(rounds.ratios(_rate, rounds.ours))}"
    )
    if rounds.ours_cpu:  # the round with the median rate: what one ack cost each part of the daemon
        median_round = sorted(range(len(rounds.ours)), key=lambda n: _rate(rounds.ours[n]))[len(rounds.ours) // 2]
        cpu = rounds.ours_cpu[median_round].per_job_us(len(rounds.ours[median_round].ack_ms))
        print(f"  {'':<12}           our CPU per ack: {cpu}")


async def _keep_up(ours_url: str) -> None:
    load = await closed_loop(ours_url, 10, SMALL, KEEPUP_SECONDS, tag="keepup", results=False)
    acked = len(load.ack_ms)
    # The clients left at the end of the load; the daemon's queue depth says how many of their acked jobs are still
    # unprinted: right away (what printed during the load), after the grace period (the target), and until empty.
    at_end = await _queue_depth(ours_url)
    pending_at_grace: int | None = None
    depth = at_end
    deadline = load.ended + DRAIN_TIMEOUT_S
    while depth > 0 and time.perf_counter() < deadline:
        if pending_at_grace is None and time.perf_counter() >= load.ended + KEEPUP_GRACE_SECONDS:
            pending_at_grace = depth
        await asyncio.sleep(0.05)
        depth = await _queue_depth(ours_url)
    drained_s = time.perf_counter() - load.ended
    pending = pending_at_grace if pending_at_grace is not None else depth
    print(
        f"  keep-up     {KEEPUP_SECONDS:.0f} s load, {acked} acked ({load.acks_per_second:.0f}/s), "
        f"{acked - at_end} printed during it ({(acked - at_end) / KEEPUP_SECONDS:.0f}/s): "
        f"{acked - pending} printed within {KEEPUP_GRACE_SECONDS:.0f} s of the end, {pending} still pending"
        f" (target 0); queue empty {drained_s:.1f} s after the end{_refusals(load)}"
    )


async def _queue_depth(ws_url: str) -> int:
    async with connect(ws_url, open_timeout=START_TIMEOUT_S, proxy=None) as ws:
        await next_reply(ws)
        await ws.send(json.dumps({"tipo": "status"}))
        while True:
            reply = await next_reply(ws)
            if reply.get("tipo") == "status":
                return int(reply.get("current", 0))


def _results_after(load: Load) -> float:
    """Seconds from the end of the load to the last result (0 when every result came during the load)."""
    return max(0.0, load.last_result - load.ended)


async def _latency_at_100(servers: Servers) -> None:
    for name, document in (("small", SMALL), ("receipt", RECEIPT)):
        rounds = await _rounds(servers, 100, document, f"c100{name}-")
        f99, d99, o99 = rounds.medians(_p99)
        p50 = statistics.median(statistics.median(load.ack_ms) for load in rounds.ours)
        refused = rounds.first_refusals()
        print(
            f"  {name:<8} 100 conns ack p99: durable floor {d99:7.1f} ms   ours {o99:7.1f} ms"
            f"   ours/durable floor {_spread(rounds.ratios(_p99, rounds.ours, rounds.durable))} (target <= 1.5x);"
            f" p50 ours {p50:.1f} ms; floor p99 {f99:.1f} ms{_refusals(refused)}"
        )
        missing = [len(load.ack_ms) - load.results for load in rounds.ours]
        after = sorted(_results_after(load) for load in rounds.ours)
        print(
            f"  {'':<8} every result back {statistics.median(after):.2f} s ({after[0]:.2f}-{after[-1]:.2f}) after the"
            f" load's end (target <= 1 s); results missing after {DRAIN_TIMEOUT_S:.0f} s: {max(missing)}"
        )


async def _heavy_neighbours(ours_url: str) -> None:
    """One till's small tickets while six others keep the renderer busy with heavy previews."""
    stop = asyncio.Event()
    previews = 0

    async def heavy(n: int) -> None:
        nonlocal previews
        async with connect(f"{ours_url}?client_id=heavy-{n}", proxy=None, max_size=None) as ws:
            await next_reply(ws)
            while not stop.is_set():
                await ws.send(json.dumps({"tipo": "preview", "datos": HEAVY}))
                async with asyncio.timeout(RECEIVE_TIMEOUT_S * 4):
                    await ws.recv()
                previews += 1

    small_ms: list[float] = []
    refused: list[str] = []

    async def small() -> None:
        async with connect(f"{ours_url}?client_id=small-till", proxy=None) as ws:
            await next_reply(ws)
            deadline = time.perf_counter() + HEAVY_SECONDS
            for n in itertools.count():
                if time.perf_counter() >= deadline:
                    break
                sent = time.perf_counter()
                await ws.send(json.dumps({"tipo": "ticket", "id": f"small-{n}", "datos": SMALL}))
                try:
                    while (reply := await next_reply(ws)).get("tipo") in ("result", "job"):
                        pass
                except TimeoutError:
                    refused.append(f"no ack within {RECEIVE_TIMEOUT_S:.0f} s")
                    break
                if reply.get("tipo") == "ack":
                    small_ms.append((time.perf_counter() - sent) * 1000)
                else:
                    refused.append(str(reply.get("mensaje")))
                await asyncio.sleep(SMALL_TICKET_EVERY_S)

    heavies = [asyncio.create_task(heavy(n)) for n in range(HEAVY_CLIENTS)]
    await asyncio.sleep(1.0)  # let the heavy previews occupy the renderer first
    try:
        async with asyncio.timeout(HEAVY_SECONDS + 60):
            await small()
    finally:
        stop.set()
        for task in heavies:
            task.cancel()
        await asyncio.gather(*heavies, return_exceptions=True)
    if not small_ms:
        print(f"  small ticket beside {HEAVY_CLIENTS} heavy previews: no ack at all ({refused[:1]})")
        return
    print(
        f"  small ticket beside {HEAVY_CLIENTS} heavy previews: ack p50 {statistics.median(small_ms):.0f} ms,"
        f" p99 {percentile(small_ms, 0.99):.0f} ms, max {max(small_ms):.0f} ms over {len(small_ms)} tickets"
        f" (target < 1000 ms); {previews} heavy previews answered"
        + (f"; {len(refused)} refused: {refused[0]}" if refused else "")
    )


async def _all() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ackpath-") as tmp:
        root = Path(tmp)
        async with (
            floor_server() as floor_url,
            floor_server("benchmarks.durable_floor") as durable_url,
            daemon(root / "ours") as ours,
        ):
            servers = Servers(floor=floor_url, durable_floor=durable_url, ours=ours.ws_url, ours_pid=ours.process.pid)
            await closed_loop(servers.ours, 2, SMALL, 1.0, tag="warmup", results=True)
            # The first receipt renders in the daemon's own process (no render worker is up yet: it loads numpy,
            # Pillow and zxing-cpp there once), shown on its own; the receipts that overlap in the warm-up start the
            # workers, and the comparisons measure the steady state.
            first_ms = await one_ticket_ms(servers.ours, RECEIPT, "first-receipt")
            print(f"  first receipt after start (no render worker up yet): acked in {first_ms:.0f} ms")
            await closed_loop(servers.ours, 2, RECEIPT, 1.0, tag="warmup-receipt", results=True)
            await _throughput(servers, "small", SMALL, 0.7)
            await _throughput(servers, "receipt", RECEIPT, 0.5)
            await _latency_at_100(servers)
            await _keep_up(servers.ours)
        async with daemon(root / "heavy") as ours:
            await _heavy_neighbours(ours.ws_url)


def run(report: Callable[[str, Stats], None]) -> None:
    asyncio.run(_all())
