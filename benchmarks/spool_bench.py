"""Spool throughput: durable adds per second with 10 concurrent async callers, and whole job lives (add, printing,
success, delivered), one commit per write (``max_batch=1``: what the spool did before group commit) against group
commit, in the same run on the same disk. ``python -m benchmarks spool``."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ticket_daemon.store.jobs import Job, JobState, document_digest
from ticket_daemon.store.sqlite import SqliteSpool

from . import schema_cost

CALLERS = 10
JOBS_PER_CALLER = 150
DOCUMENT = '{"version":"1.0","commands":[{"type":"text","data":{"content":{"text":"one line"}}},{"type":"cut"}]}'
DATA = b"\x1b@" + b"one line\n" * 40


def _job(caller: int, n: int) -> Job:
    now = time.time()
    return Job(
        id=f"c{caller}-{n}", client_id=f"till-{caller}", printer=f"p{caller % 2}", document=DOCUMENT, data=DATA,
        created_at=now, updated_at=now, digest=document_digest(DOCUMENT),
    )  # fmt: skip


async def _run(path: Path, *, max_batch: int, whole_life: bool) -> float:
    spool = SqliteSpool(path, max_batch=max_batch)
    await spool.open(now=time.time(), interrupted_policy="reprint")

    async def caller(number: int) -> None:
        delivered: list[asyncio.Task[None]] = []  # as in the daemon, nobody waits for these marks
        for n in range(JOBS_PER_CALLER):
            stored = await spool.add(_job(number, n), capacity=1_000_000)
            await spool.count_pending()  # what every ack asks
            if whole_life:
                await spool.move(stored.seq, JobState.PRINTING, now=time.time(), attempts=1)
                await spool.move(stored.seq, JobState.SUCCESS, now=time.time(), message="Print completed in 1ms")
                delivered.append(asyncio.create_task(spool.mark_results_delivered([stored.seq])))
        await asyncio.gather(*delivered)

    started = time.perf_counter()
    await asyncio.gather(*(caller(number) for number in range(CALLERS)))
    elapsed = time.perf_counter() - started
    await spool.close()
    return CALLERS * JOBS_PER_CALLER / elapsed


async def _read_latency(path: Path) -> tuple[float, float]:
    """p50 and p99 (ms) of ``next_for_printer`` while 10 callers add: reads share the spool thread with commits."""
    spool = SqliteSpool(path)
    await spool.open(now=time.time(), interrupted_policy="reprint")
    adding = True
    samples: list[float] = []

    async def caller(number: int) -> None:
        n = 0
        while adding:
            await spool.add(_job(number, n), capacity=1_000_000)
            n += 1

    callers = [asyncio.ensure_future(caller(number)) for number in range(CALLERS)]
    for _ in range(300):
        started = time.perf_counter()
        await spool.next_for_printer("p0")
        samples.append((time.perf_counter() - started) * 1000)
    adding = False
    await asyncio.gather(*callers)
    await spool.close()
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]


def run(print_stats: Callable[..., Any]) -> None:
    for whole_life, what in ((False, "durable adds/s"), (True, "job lives/s (add, printing, success, delivered)")):
        rates = {}
        for label, max_batch in (("one commit per write", 1), ("group commit", 512)):
            with tempfile.TemporaryDirectory(prefix="spool-bench-") as folder:
                rates[label] = asyncio.run(
                    _run(Path(folder) / "spool.sqlite3", max_batch=max_batch, whole_life=whole_life)
                )
        before, after = rates["one commit per write"], rates["group commit"]
        print(f"spool {what}, {CALLERS} concurrent callers: one commit per write {before:,.0f}, "
              f"group commit {after:,.0f} ({after / before:.1f}x)")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="spool-bench-") as folder:
        p50, p99 = asyncio.run(_read_latency(Path(folder) / "spool.sqlite3"))
    print(f"spool read (next_for_printer) while {CALLERS} callers add: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    schema_cost.run()


if __name__ == "__main__":
    run(print)
