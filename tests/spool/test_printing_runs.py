"""Runs: under load a printer's final write claims the queued jobs behind it, and a link that streams jobs (a device
file, serial, USB) gets them over one connection; a link without status gets the run as one write. Real SQLite files
and a real device file; the in-memory queue behaves the same."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from blocking_store import BlockingStore
from printers.test_serial_port import PtyPrinter
from ticket_daemon.printers.registry import ConfiguredPrinter
from ticket_daemon.printers.status import PrinterState
from ticket_daemon.spool import delivery as delivery_module
from ticket_daemon.spool.worker import PrinterWorker, RetryPolicy
from ticket_daemon.store.interface import JobStore
from ticket_daemon.store.jobs import Job, JobState
from ticket_daemon.store.memory import MemoryJobStore
from ticket_daemon.store.sqlite import SqliteSpool

T = TypeVar("T")
WAIT_S = 20.0


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(scenario, timeout=60))


def job(job_id: str, data: bytes, printer: str = "caja1") -> Job:
    return Job(id=job_id, client_id="pos1", printer=printer, document="{}", data=data, created_at=1.0, updated_at=1.0)


def receipt(job_id: str) -> bytes:
    return f"<{job_id}>".encode() + b"." * 32 + f"</{job_id}>".encode()


async def open_store(kind: str, folder: Path) -> JobStore:
    store: SqliteSpool | MemoryJobStore
    store = SqliteSpool(folder / "spool.sqlite3") if kind == "sqlite" else MemoryJobStore()
    await store.open(now=1.0, interrupted_policy="reprint")
    return store


async def until_done(finished: list[Job], count: int) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while len(finished) < count:
        assert asyncio.get_running_loop().time() < deadline, f"only {len(finished)} of {count} jobs finished"
        await asyncio.sleep(0.01)


class CountingStore:
    """Counts the claims a worker makes (wraps a real store)."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self.claims: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def finish_and_claim(self, *args: Any, **kwargs: Any) -> tuple[Job, list[Job]]:
        finished, claimed = await self.store.finish_and_claim(*args, **kwargs)
        self.claims.append([each.id for each in claimed])
        return finished, claimed


async def print_all(
    store: JobStore, uri: str, folder: Path, count: int, *, reprint_interrupted: bool = True
) -> tuple[list[Job], CountingStore]:
    """Print the ``count`` jobs queued in ``store`` on ``uri`` with runs of up to 8; (finished jobs, claims)."""
    counting = CountingStore(store)
    finished: list[Job] = []
    worker = PrinterWorker(
        ConfiguredPrinter(name="caja1", uri=uri),
        store=counting,
        data_dir=folder,
        print_timeout=WAIT_S,
        on_finished=finished.append,
        claim_ahead=8,
        reprint_interrupted=reprint_interrupted,
    )
    worker.start()
    await until_done(finished, count)
    await worker.stop(5.0)
    assert await store.count_pending() == 0
    return finished, counting


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_a_claim_takes_the_queued_head_run_up_to_its_limits(tmp_path: Path, kind: str) -> None:
    async def story() -> None:
        store = await open_store(kind, tmp_path)
        seqs = [(await store.add(job(f"r{n}", b"x" * 100), capacity=20)).seq for n in range(6)]
        await store.add(job("elsewhere", b"y", printer="cocina"), capacity=20)
        await store.move(seqs[0], JobState.PRINTING, now=2.0, attempts=1)

        finished, claimed = await store.finish_and_claim(seqs[0], JobState.SUCCESS, now=3.0, limit=3)
        assert finished.state is JobState.SUCCESS
        assert [(j.id, j.state, j.attempts) for j in claimed] == [(f"r{n}", JobState.PRINTING, 1) for n in (1, 2, 3)]

        # Beyond the first job, a claim stops where the printer data would pass max_bytes.
        _, claimed = await store.finish_and_claim(seqs[1], JobState.SUCCESS, now=4.0, limit=10, max_bytes=50)
        assert claimed == []  # r2 and r3 are already printing: the head is not queued
        for seq in seqs[2:4]:
            await store.finish_and_claim(seq, JobState.SUCCESS, now=5.0)  # r4 claimed alone (limit 1)
        _, claimed = await store.finish_and_claim(seqs[4], JobState.SUCCESS, now=6.0, limit=10, max_bytes=50)
        assert [j.id for j in claimed] == ["r5"]  # the first is always taken, whatever its size

        # A waiting job ends the run: it may have to expire or wait for the backoff first.
        waiting = [await store.add(job(f"w{n}", b"z"), capacity=20) for n in range(3)][1]
        await store.move(waiting.seq, JobState.WAITING, now=7.0, message="PRINTER: paper out")
        _, claimed = await store.finish_and_claim(seqs[5], JobState.SUCCESS, now=8.0, limit=10)
        assert [j.id for j in claimed] == ["w0"]
        assert [(j.id, j.state) for j in await store.pending_for_printer("caja1")] == [
            ("w0", JobState.PRINTING),
            ("w1", JobState.WAITING),
            ("w2", JobState.QUEUED),
        ]
        assert [j.state for j in await store.pending_for_printer("cocina")] == [JobState.QUEUED]
        await store.close()

    run(story())


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_a_backlog_prints_in_runs_in_order_and_exactly_once(tmp_path: Path, kind: str) -> None:
    device = tmp_path / "receipts.bin"
    names = [f"n{n:02d}" for n in range(30)]

    async def story() -> CountingStore:
        store = await open_store(kind, tmp_path)
        for name in names:
            await store.add(job(name, receipt(name)), capacity=50)
        finished, counting = await print_all(store, device.as_uri(), tmp_path, len(names))
        assert [(j.id, j.state) for j in finished] == [(name, JobState.SUCCESS) for name in names]
        assert all(j.message.startswith("Print completed in ") for j in finished)
        await store.close()
        return counting

    counting = run(story())
    assert device.read_bytes() == b"".join(receipt(name) for name in names)
    # The first job starts alone; its final write claims 8, the last of those the next 8, and so on.
    runs = [claim for claim in counting.claims if claim]
    assert [len(claim) for claim in runs] == [8, 8, 8, 5]
    assert [name for claim in runs for name in claim] == names[1:]


def test_under_the_fail_policy_a_run_that_cannot_be_written_fails_every_job_in_it_and_loses_none(
    tmp_path: Path,
) -> None:
    # /dev/full refuses every write (ENOSPC) once opened: each job of a run sent as one write may be partly on paper
    # on a real device; with interrupted_policy = "fail" each ends in error (never a silent success, never printed
    # twice); nothing is lost.
    names = [f"f{n}" for n in range(5)]

    async def story() -> tuple[list[Job], CountingStore]:
        store = await open_store("sqlite", tmp_path)
        for name in names:
            await store.add(job(name, receipt(name)), capacity=50)
        uri = Path("/dev/full").as_uri()
        finished, counting = await print_all(store, uri, tmp_path, len(names), reprint_interrupted=False)
        await store.close()
        return finished, counting

    finished, counting = run(story())
    assert [(j.id, j.state) for j in finished] == [(name, JobState.ERROR) for name in names]
    assert all(j.message.startswith("PRINTER: ") for j in finished)
    assert [claim for claim in counting.claims if claim] == [names[1:]]  # the first alone, then one run of four


def test_claimed_jobs_that_never_began_print_once_after_a_crash(tmp_path: Path) -> None:
    # A crash right after a run was claimed: every job of it is found "printing"; the default policy queues them
    # again, so each prints once (none had begun).
    store = BlockingStore(tmp_path / "spool.db")
    first = store.add(job("a", b"1"), capacity=10)
    for name in ("b", "c", "d"):
        store.add(job(name, name.encode()), capacity=10)
    store.move(first.seq, JobState.PRINTING, now=2.0, attempts=1)
    _, claimed = store.finish_and_claim(first.seq, JobState.SUCCESS, now=3.0, limit=8)
    assert [j.id for j in claimed] == ["b", "c", "d"]
    store.close()  # the process dies here

    again = BlockingStore(tmp_path / "spool.db")
    recovery = again.recover(now=4.0, policy="reprint")
    assert [j.id for j in recovery.interrupted] == ["b", "c", "d"]
    assert [(j.id, j.state) for j in again.pending_for_printer("caja1")] == [
        ("b", JobState.QUEUED),
        ("c", JobState.QUEUED),
        ("d", JobState.QUEUED),
    ]
    again.close()


def test_a_run_without_status_goes_out_in_writes_of_a_bounded_size() -> None:
    # A job's result waits for its write: on a slow device at most ~32 KiB of printing, never a whole run.
    sizes = [10_000, 10_000, 10_000, 5_000, 40_000, 1_000, 1_000]
    run_jobs = [job(f"c{n}", b"." * size) for n, size in enumerate(sizes)]
    chunks = delivery_module._chunks(run_jobs, delivery_module.STREAM_WRITE_BYTES)
    assert [[j.id for j in chunk] for chunk in chunks] == [["c0", "c1", "c2"], ["c3"], ["c4"], ["c5", "c6"]]
    assert [j for chunk in chunks for j in chunk] == run_jobs


class PaperRunsOut(PtyPrinter):
    """A serial printer whose roll runs out once it has printed ``limit`` bytes (what it already took is on paper)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__()

    def print(self, payload: bytes) -> None:
        super().print(payload)
        if self.limit and len(self.printed) >= self.limit:
            self.state, self.limit = PrinterState.paper_out, 0  # one roll runs out, once


@pytest.mark.parametrize("policy", ["fail", "reprint"])
def test_a_run_over_a_link_with_status_checks_each_job_and_stops_where_the_paper_runs_out(
    tmp_path: Path, policy: str
) -> None:
    # Each job of a run is followed by its own status check: the job during which the paper ran out (it may be cut
    # short on paper) ends in error under the "fail" policy, or waits for paper and is printed again from its
    # beginning under "reprint"; the jobs behind it never began and wait for paper, then print once, in order.
    names = [f"s{n}" for n in range(8)]
    cut_off = 1 if policy == "reprint" else 0  # s3 waits with the others
    printer = PaperRunsOut(limit=sum(len(receipt(name)) for name in names[:4]))  # out after the 4th job

    async def story() -> tuple[list[Job], list[list[str]]]:
        store = await open_store("sqlite", tmp_path)
        for name in names:
            await store.add(job(name, receipt(name)), capacity=50)
        counting = CountingStore(store)
        finished: list[Job] = []
        worker = PrinterWorker(
            ConfiguredPrinter(name="caja1", uri=f"serial://{printer.device}?baudrate=38400&flow=none"),
            store=counting,
            data_dir=tmp_path,
            print_timeout=WAIT_S,
            on_finished=finished.append,
            retry=RetryPolicy(initial_seconds=0.2, max_seconds=0.2),
            claim_ahead=8,
            reprint_interrupted=policy == "reprint",
        )
        worker.start()
        await until_done(finished, 4 - cut_off)
        expected = [(name, JobState.WAITING) for name in names[4 - cut_off :]]
        for _ in range(int(WAIT_S / 0.01)):  # the rest go back to the queue, then wait for paper
            if [(j.id, j.state) for j in await store.pending_for_printer("caja1")] == expected:
                break
            await asyncio.sleep(0.01)
        assert [(j.id, j.state) for j in await store.pending_for_printer("caja1")] == expected
        assert len(finished) == 4 - cut_off and printer.discarded == 0
        printer.state = PrinterState.ready  # a new roll
        await until_done(finished, len(names))
        await worker.stop(5.0)
        await store.close()
        return finished, counting.claims

    try:
        finished, claims = run(story())
    finally:
        printer.close()
    assert next(claim for claim in claims if claim) == names[1:]  # the first job alone, then one run of seven
    if policy == "reprint":
        assert [(j.id, j.state) for j in finished] == [(name, JobState.SUCCESS) for name in names]
        assert finished[3].message.endswith("ms; reprinted after an interruption")
        # s3 printed again from its beginning once the roll was changed, then the rest once each, in order
        assert bytes(printer.printed) == b"".join(receipt(name) for name in [*names[:4], *names[3:]])
        return
    assert [(j.id, j.state) for j in finished] == [
        *((name, JobState.SUCCESS) for name in names[:3]),
        ("s3", JobState.ERROR),
        *((name, JobState.SUCCESS) for name in names[4:]),
    ]
    assert finished[3].message == "PRINTER: Paper out"
    assert bytes(printer.printed) == b"".join(receipt(name) for name in names)  # each exactly once, in order
