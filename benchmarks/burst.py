"""A burst of receipts at a network printer (``make bench`` section ``burst``): when does each job's first byte
reach the printer?

100 tills send one receipt each at the same moment, on a daemon just started (the receipts that come while one
renders start its render workers) and again once its render workers are up; then, on another daemon, 10 tills at
once after a quiet spell (no render worker up, the renderer loaded). The scenarios take turns over
``BENCH_BURST_ROUNDS`` (3) rounds, each round on fresh daemons, so a slow patch of this shared machine hits all of
them; figures are medians over the rounds, and the p99 is printed with its range. Beside each: when the burst was
acked, and how the printer's in-order jobs split around its last ack. The reference, measured in the same run, is
the in-order durable floor: as many sequential fsync'ed commits as the burst has jobs.

Target: first byte p99 ≤ 150 ms. Every loop is bounded by a timeout; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.client import connect

from .ackpath import (
    DRAIN_TIMEOUT_S,
    RECEIPT,
    START_TIMEOUT_S,
    UNLIMITED_SERVER,
    next_reply,
    one_ticket_ms,
    percentile,
)
from .bench_printer import PrinterProcess
from .lifecycle import DaemonProcess
from .report import Stats

ROUNDS = max(1, int(os.environ.get("BENCH_BURST_ROUNDS", "3")))
BURST = 100
RUSH = 10  # tills at once after a quiet spell
WORKERS_UP_PAUSE_S = 2.0  # render workers started by a burst are up this long after it (they start in under 1 s)
QUIET_SPELL_S = 1.0  # the receipt before a rush is printed by then
JUST_STARTED = "just started"
WORKERS_UP = "render workers up"
AFTER_QUIET = "after a quiet spell, no render worker up"
CONFIG = (
    UNLIMITED_SERVER
    + """
[[printers]]
name = "bench"
uri = "tcp://127.0.0.1:{port}"
"""
)


@dataclass(frozen=True)
class Burst:
    """One burst: each job's first byte at the printer and each ack, in ms after the tills sent, and the results."""

    tills: int
    first_bytes_ms: list[float]
    acks_ms: list[float]
    results: int

    @property
    def complete(self) -> bool:
        return len(self.first_bytes_ms) == self.tills and len(self.acks_ms) == self.tills

    def phases(self) -> tuple[float, int, float | None]:
        """The last ack, how many jobs reached the printer by then, and the median gap between the jobs after it
        (the pace of the printer's in-order chain once nothing else competes for the CPU; None: none left)."""
        last_ack = max(self.acks_ms)
        before = sum(1 for at in self.first_bytes_ms if at <= last_ack)
        after = sorted(at for at in self.first_bytes_ms if at > last_ack)
        gaps = [later - earlier for earlier, later in itertools.pairwise(after)]
        return last_ack, before, statistics.median(gaps) if gaps else None


async def _one_burst(url: str, printer: PrinterProcess, tag: str, count: int) -> Burst:
    printer.first_bytes.clear()
    go = asyncio.Event()
    ready = 0
    results = 0
    acks: list[float] = []  # perf_counter() of each ack

    async def till(n: int) -> None:
        nonlocal ready, results
        async with connect(f"{url}?client_id=burst-{n}", open_timeout=START_TIMEOUT_S, proxy=None) as ws:
            await next_reply(ws)
            ready += 1
            await go.wait()
            await ws.send(json.dumps({"tipo": "ticket", "id": f"burst-{tag}-{n}", "datos": RECEIPT}))
            while (tipo := (await next_reply(ws)).get("tipo")) != "result":
                if tipo == "ack":
                    acks.append(time.perf_counter())
            results += 1

    async with asyncio.timeout(DRAIN_TIMEOUT_S):
        tills = [asyncio.create_task(till(n)) for n in range(count)]
        while ready < count and not any(task.done() for task in tills):
            await asyncio.sleep(0.01)
        sent = time.perf_counter()
        go.set()
        await asyncio.gather(*tills)
    return Burst(
        count,
        [(at - sent) * 1000 for at in printer.first_bytes],
        [(at - sent) * 1000 for at in acks],
        results,
    )


async def _round(root: Path, config: Path, printer: PrinterProcess, number: int) -> dict[str, Burst]:
    """The three scenarios once, each daemon fresh."""
    bursts: dict[str, Burst] = {}
    daemon = await DaemonProcess.spawn(root / f"burst-{number}", config=config)
    try:
        bursts[JUST_STARTED] = await _one_burst(daemon.ws_url, printer, f"{number}-start", BURST)
        await asyncio.sleep(WORKERS_UP_PAUSE_S)
        bursts[WORKERS_UP] = await _one_burst(daemon.ws_url, printer, f"{number}-up", BURST)
    finally:
        await daemon.stop()
    daemon = await DaemonProcess.spawn(root / f"rush-{number}", config=config)
    try:
        await one_ticket_ms(daemon.ws_url, RECEIPT, f"before-the-rush-{number}")  # rendered inline: no worker up
        await asyncio.sleep(QUIET_SPELL_S)
        bursts[AFTER_QUIET] = await _one_burst(daemon.ws_url, printer, f"{number}-rush", RUSH)
    finally:
        await daemon.stop()
    return bursts


def _report(when: str, bursts: list[Burst]) -> None:
    complete = [burst for burst in bursts if burst.complete]
    for burst in bursts:
        if not burst.complete:
            print(
                f"  burst of {burst.tills} ({when}): a round had {len(burst.first_bytes_ms)} jobs at the printer"
                f" and {len(burst.acks_ms)} acks for {burst.tills} tills ({burst.results} results); left out"
            )
    if not complete:
        return
    tills = complete[0].tills
    p99s = [percentile(burst.first_bytes_ms, 0.99) for burst in complete]

    def median(figure: Callable[[Burst], float]) -> float:
        return statistics.median(figure(burst) for burst in complete)

    print(
        f"  burst of {tills} receipts from {tills} tills ({when}), {len(complete)} round(s): first byte at the printer:"
        f" first job {median(lambda burst: min(burst.first_bytes_ms)):.0f} ms,"
        f" p50 {median(lambda burst: percentile(burst.first_bytes_ms, 0.5)):.0f} ms,"
        f" p99 {statistics.median(p99s):.0f} ms ({min(p99s):.0f}-{max(p99s):.0f}) (target p99 <= 150 ms)"
    )
    phases = [burst.phases() for burst in complete]
    paces = [pace for _, _, pace in phases if pace is not None]
    pace = f"then one job every {statistics.median(paces):.2f} ms" if paces else "none left after it"
    print(
        f"    acks: p50 {median(lambda burst: percentile(burst.acks_ms, 0.5)):.0f} ms,"
        f" last {statistics.median(last for last, _, _ in phases):.0f} ms;"
        f" {statistics.median(before for _, before, _ in phases):.0f} of {tills} jobs reached the printer by the"
        f" last ack, {pace} (medians)"
    )


def _sequential_commits_ms(path: Path, count: int) -> float:
    """Milliseconds for ``count`` one-row commits, one after another (WAL, ``synchronous=FULL``, as the spool)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE jobs (seq INTEGER PRIMARY KEY, state TEXT)")
        started = time.perf_counter()
        for seq in range(count):
            db.execute("INSERT INTO jobs VALUES (?, 'printing')", (seq,))
        return (time.perf_counter() - started) * 1000
    finally:
        db.close()


async def _all() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as tmp:
        root = Path(tmp)
        printer = PrinterProcess()  # a process of its own: the 100 tills here never delay its answers
        await printer.start()
        try:
            config = root / "burst.toml"
            config.write_text(CONFIG.format(port=printer.port), encoding="utf-8")
            rounds = [await _round(root, config, printer, number) for number in range(ROUNDS)]
        finally:
            await printer.close()
        for when in (JUST_STARTED, WORKERS_UP, AFTER_QUIET):
            _report(when, [bursts[when] for bursts in rounds])
        floor_ms = await asyncio.to_thread(_sequential_commits_ms, root / "commits.sqlite3", BURST)
    print(
        f"  in-order durable floor: {BURST} sequential fsync'ed commits take {floor_ms:.0f} ms (a job is durably"
        " printing before its first byte and durably done before the next one's, so the last job's first byte"
        " follows at least that many)"
    )


def run(report: Callable[[str, Stats], None]) -> None:
    asyncio.run(_all())
