"""One store write per printed job: a job's final write also claims its printer's next queued job.

The spool's promises hold, proven on a real SQLite file and real printers (a named pipe or a file): a job
is durably ``printing`` before any of its bytes go out, its final state is committed before its result is reported,
each job prints once and in order, a job claimed but not sent (the daemon stops) goes back to ``queued`` as it was,
and an operator cannot cancel a job once it is claimed. The in-memory queue behaves the same.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from blocking_store import BlockingStore
from ticket_daemon.printers.registry import ConfiguredPrinter
from ticket_daemon.spool.worker import PrinterWorker
from ticket_daemon.store.interface import JobStore
from ticket_daemon.store.jobs import InvalidTransition, Job, JobState
from ticket_daemon.store.memory import MemoryJobStore
from ticket_daemon.store.sqlite import SqliteSpool

T = TypeVar("T")
WAIT_S = 20.0
# Bigger than a pipe's buffer (64 KiB on Linux): the daemon's write blocks until the printer has read it all, so the
# printer can look at the spool while the job is mid-send.
BIG = 200_000

ClaimHook = Callable[[Job, list[Job]], Awaitable[None]]


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(scenario, timeout=60))


def job(job_id: str, data: bytes, printer: str = "caja1") -> Job:
    return Job(id=job_id, client_id="pos1", printer=printer, document="{}", data=data, created_at=1.0, updated_at=1.0)


def receipt(job_id: str, size: int = 16) -> bytes:
    return f"<{job_id}>".encode() + b"." * size + f"</{job_id}>".encode()


class ClaimHooked:
    """Mixed into a real store: ``after_claim`` runs when a final write (which may claim the next job) has
    committed."""

    after_claim: ClaimHook | None = None

    async def finish_and_claim(
        self, key: int, target: JobState, *, now: float, message: str | None = None, limit: int = 1, **bounds: int
    ) -> tuple[Job, list[Job]]:
        finished, claimed = await super().finish_and_claim(  # type: ignore[misc]  # a mixin: super() is the store it is mixed into
            key, target, now=now, message=message, limit=limit
        )
        if self.after_claim is not None:
            await self.after_claim(finished, claimed)
        return finished, claimed


class HookedSpool(ClaimHooked, SqliteSpool):
    """The real SQLite spool, hooked."""


class HookedMemory(ClaimHooked, MemoryJobStore):
    """The in-memory queue, hooked."""


Hooked = HookedSpool | HookedMemory


async def open_store(kind: str, folder: Path) -> Hooked:
    store: Hooked = HookedSpool(folder / "spool.sqlite3") if kind == "sqlite" else HookedMemory()
    assert await store.open(now=1.0, interrupted_policy="reprint") == []
    return store


def worker_for(store: JobStore, uri: str, folder: Path, finished: list[Job]) -> PrinterWorker:
    printer = ConfiguredPrinter(name="caja1", uri=uri)
    return PrinterWorker(printer, store=store, data_dir=folder, print_timeout=WAIT_S, on_finished=finished.append)


async def state_of(store: JobStore, seq: int) -> JobState | None:
    """The job's state in the store, or None for a job it does not hold."""
    found = await store.get(seq)
    return found.state if found is not None else None


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def states(database: Path) -> dict[str, tuple[str, int]]:
    """id → (state, attempts), as committed: read through a connection of its own."""
    with sqlite3.connect(database) as reader:
        rows = reader.execute("SELECT id, state, attempts FROM jobs ORDER BY seq").fetchall()
    return {str(i): (str(s), int(a)) for i, s, a in rows}


class PipePrinter:
    """A printer on a named pipe. At the first bytes of each job it reads the spool (what was committed when the job
    started going out) and, for one chosen job, copies the spool's files: what a SIGKILL at that moment leaves."""

    def __init__(self, pipe: Path, database: Path, jobs: int, crash_copy_at: int, crash_folder: Path) -> None:
        self.pipe, self.database, self.jobs = pipe, database, jobs
        self.crash_copy_at, self.crash_folder = crash_copy_at, crash_folder
        self.received: list[bytes] = []
        self.seen: list[dict[str, tuple[str, int]]] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="pipe-printer", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            for number in range(self.jobs):
                descriptor = os.open(self.pipe, os.O_RDONLY)  # waits for the daemon to open it for this job
                try:
                    data = os.read(descriptor, 64)
                    self.seen.append(states(self.database))
                    if number == self.crash_copy_at:
                        for suffix in ("", "-wal"):
                            source = Path(f"{self.database}{suffix}")
                            if source.exists():
                                shutil.copyfile(source, self.crash_folder / f"spool.sqlite3{suffix}")
                    while chunk := os.read(descriptor, 65536):
                        data += chunk
                finally:
                    os.close(descriptor)
                self.received.append(data)
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error

    def join(self) -> None:
        self._thread.join(WAIT_S)
        assert not self._thread.is_alive(), "the pipe printer did not get every job"
        assert self.error is None, self.error


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="a named pipe stands in for a printer that reads slowly")
def test_each_job_is_durably_printing_before_its_bytes_go_out_and_final_before_its_result(tmp_path: Path) -> None:
    names = ["n1", "n2", "n3", "n4"]
    data = {name: receipt(name, BIG) for name in names}
    pipe = tmp_path / "lp0"
    os.mkfifo(pipe)
    crashed = tmp_path / "after-sigkill"
    crashed.mkdir()
    database = tmp_path / "spool.sqlite3"
    committed_when_reported: list[dict[str, tuple[str, int]]] = []

    async def story() -> list[Job]:
        spool = await open_store("sqlite", tmp_path)
        for name in names:
            await spool.add(job(name, data[name]), capacity=10)
        printer = PipePrinter(pipe, database, len(names), crash_copy_at=2, crash_folder=crashed)
        finished: list[Job] = []

        def reported(done: Job) -> None:
            committed_when_reported.append(states(database))
            finished.append(done)

        worker = PrinterWorker(
            ConfiguredPrinter(name="caja1", uri=pipe.as_uri()),
            store=spool,
            data_dir=tmp_path,
            print_timeout=WAIT_S,
            on_finished=reported,
        )
        worker.start()
        await until(lambda: len(finished) == len(names), "every job to finish")
        await worker.stop(5.0)
        await asyncio.to_thread(printer.join)
        await spool.close()
        assert printer.received == [data[name] for name in names]  # in order, each once, byte for byte
        for number, seen in enumerate(printer.seen):
            expected = {
                name: ("success", 1) if i < number else ("printing", 1) if i == number else ("queued", 0)
                for i, name in enumerate(names)
            }
            assert seen == expected, f"when {names[number]} started going out"
        return finished

    finished = run(story())
    assert [(j.id, j.state) for j in finished] == [(name, JobState.SUCCESS) for name in names]
    for done, committed in zip(finished, committed_when_reported, strict=True):
        assert committed[done.id] == ("success", 1)  # its final state was committed before it was reported

    # A SIGKILL while n3 was going out: n3 is reprinted from the start, n4 (not claimed yet) simply resumes.
    after = BlockingStore(crashed / "spool.sqlite3")
    recovery = after.recover(now=9.0, policy="reprint")
    assert [j.id for j in recovery.interrupted] == ["n3"]
    assert [(j.id, j.state) for j in after.pending_for_printer("caja1")] == [
        ("n3", JobState.QUEUED),
        ("n4", JobState.QUEUED),
    ]
    after.close()


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_a_job_claimed_but_not_sent_when_the_daemon_stops_goes_back_to_the_queue(tmp_path: Path, kind: str) -> None:
    device = tmp_path / "receipts.bin"
    names = ["s1", "s2", "s3"]

    async def story() -> None:
        store = await open_store(kind, tmp_path)
        for name in names:
            await store.add(job(name, receipt(name)), capacity=10)
        finished: list[Job] = []
        worker = worker_for(store, device.as_uri(), tmp_path, finished)
        claims: list[Job] = []

        async def stop_right_after_the_claim(done: Job, claimed: list[Job]) -> None:
            claims.extend(claimed)
            stopping.append(asyncio.ensure_future(worker.stop(5.0)))
            await asyncio.sleep(0)  # the stop is requested before the worker hears back from its write

        stopping: list[asyncio.Future[None]] = []
        store.after_claim = stop_right_after_the_claim
        worker.start()
        await until(lambda: bool(stopping), "the first job's final write")
        await stopping[0]

        assert [(c.id, c.state, c.attempts) for c in claims] == [("s2", JobState.PRINTING, 1)]
        assert [(j.id, j.state) for j in finished] == [("s1", JobState.SUCCESS)]
        assert device.read_bytes() == receipt("s1")  # s2 was never sent
        pending = await store.pending_for_printer("caja1")
        assert [(j.id, j.state, j.attempts) for j in pending] == [
            ("s2", JobState.QUEUED, 0),
            ("s3", JobState.QUEUED, 0),
        ]

        if isinstance(store, HookedSpool):  # the next start finds nothing interrupted
            await store.close()
            store = HookedSpool(tmp_path / "spool.sqlite3")
            assert await store.open(now=2.0, interrupted_policy="fail") == []
        store.after_claim = None
        finished.clear()
        again = worker_for(store, device.as_uri(), tmp_path, finished)
        again.start()
        await until(lambda: len(finished) == 2, "the rest to print")
        await again.stop(5.0)
        await store.close()
        assert [(j.id, j.state, j.attempts) for j in finished] == [
            ("s2", JobState.SUCCESS, 1),
            ("s3", JobState.SUCCESS, 1),
        ]
        assert "reprinted" not in finished[0].message  # it never started before: not a reprint
        assert device.read_bytes() == b"".join(receipt(name) for name in names)

    run(story())


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_an_operator_cannot_cancel_a_claimed_job_but_cancels_the_one_behind_it(tmp_path: Path, kind: str) -> None:
    device = tmp_path / "receipts.bin"
    names = ["c1", "c2", "c3", "c4"]

    async def story() -> None:
        store = await open_store(kind, tmp_path)
        seqs = {name: (await store.add(job(name, receipt(name)), capacity=10)).seq for name in names}
        finished: list[Job] = []
        refused: list[str] = []

        async def operator_cancels(done: Job, claimed: list[Job]) -> None:
            if done.id != "c1":
                return
            assert [job.id for job in claimed] == ["c2"]
            with pytest.raises(InvalidTransition):  # printing: too late to cancel, as for any job being printed
                await store.move(seqs["c2"], JobState.CANCELLED, now=2.0, message="cancelled")
            refused.append("c2")
            finished.append(await store.move(seqs["c3"], JobState.CANCELLED, now=2.0, message="cancelled"))

        store.after_claim = operator_cancels
        worker = worker_for(store, device.as_uri(), tmp_path, finished)
        worker.start()
        await until(lambda: len(finished) == len(names), "every job to end")
        await worker.stop(5.0)
        await store.close()
        assert refused == ["c2"]
        assert sorted((j.id, j.state) for j in finished) == [
            ("c1", JobState.SUCCESS),
            ("c2", JobState.SUCCESS),
            ("c3", JobState.CANCELLED),
            ("c4", JobState.SUCCESS),
        ]
        assert device.read_bytes() == receipt("c1") + receipt("c2") + receipt("c4")

    run(story())


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_only_a_queued_head_of_the_same_printer_is_claimed(tmp_path: Path, kind: str) -> None:
    async def story() -> None:
        store = await open_store(kind, tmp_path)
        a, b, c = [(await store.add(job(name, b"x"), capacity=10)).seq for name in ("a", "b", "c")]
        other = (await store.add(job("elsewhere", b"x", printer="cocina"), capacity=10)).seq

        await store.move(a, JobState.PRINTING, now=2.0, attempts=1)
        await store.move(b, JobState.WAITING, now=2.0, message="PRINTER: paper out")
        finished, claimed = await store.finish_and_claim(a, JobState.SUCCESS, now=3.0, message="done")
        assert (finished.id, finished.state, finished.data) == ("a", JobState.SUCCESS, None)
        assert claimed == []  # a waiting head may have to expire or wait for the backoff first

        with pytest.raises(InvalidTransition):  # waiting cannot end in success: nothing is claimed either
            await store.finish_and_claim(b, JobState.SUCCESS, now=4.0)
        with pytest.raises(ValueError):
            await store.finish_and_claim(b, JobState.QUEUED, now=4.0)
        assert [(j.id, j.state) for j in await store.pending_for_printer("caja1")] == [
            ("b", JobState.WAITING),
            ("c", JobState.QUEUED),
        ]

        await store.move(b, JobState.PRINTING, now=5.0, attempts=1)
        finished, claimed = await store.finish_and_claim(b, JobState.ERROR, now=6.0, message="PRINTER: jammed")
        [head] = claimed
        assert (head.seq, head.state, head.attempts) == (c, JobState.PRINTING, 1)
        assert head.data == b"x"  # the claimed job keeps its bytes: they are about to be sent
        finished, claimed = await store.finish_and_claim(c, JobState.SUCCESS, now=7.0)
        assert claimed == []  # cocina's job is not caja1's
        assert await state_of(store, other) is JobState.QUEUED
        assert await store.count_pending() == 1
        await store.close()

    run(story())


def test_a_claim_is_on_disk_when_the_write_returns(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path / "spool.db")
    first = store.add(job("a", b"x"), capacity=10)
    store.add(job("b", b"y"), capacity=10)
    store.move(first.seq, JobState.PRINTING, now=2.0, attempts=1)
    store.finish_and_claim(first.seq, JobState.SUCCESS, now=3.0, message="done")
    store.close()  # the process dies before b's bytes go out

    again = BlockingStore(tmp_path / "spool.db")
    recovery = again.recover(now=4.0, policy="fail")
    assert [(j.id, j.state, j.attempts) for j in recovery.interrupted] == [("b", JobState.PRINTING, 1)]
    assert again.pending_for_printer("caja1") == []
    assert again.count_pending() == 0
    again.close()


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_delivered_results_are_recorded_by_seq_for_finished_jobs_only(tmp_path: Path, kind: str) -> None:
    async def story() -> None:
        store = await open_store(kind, tmp_path)
        done = await store.add(job("r1", b"x"), capacity=10)
        await store.move(done.seq, JobState.PRINTING, now=2.0, attempts=1)
        await store.move(done.seq, JobState.SUCCESS, now=3.0, message="done")
        other = await store.add(job("r2", b"x"), capacity=10)
        await store.move(other.seq, JobState.CANCELLED, now=3.0, message="cancelled")
        pending = await store.add(job("r3", b"x"), capacity=10)
        assert [j.id for j in await store.undelivered_results("pos1")] == ["r1", "r2"]

        # r3 is still pending (nothing to record), 999 999 is no job at all.
        await store.mark_results_delivered([done.seq, pending.seq, 999_999])
        assert [j.id for j in await store.undelivered_results("pos1")] == ["r2"]
        assert await state_of(store, pending.seq) is JobState.QUEUED
        await store.mark_results_delivered([other.seq])
        assert await store.undelivered_results("pos1") == []
        await store.close()

    run(story())


def test_a_run_of_queued_jobs_costs_one_store_write_each_and_one_queue_read(tmp_path: Path) -> None:
    device = tmp_path / "receipts.bin"
    names = [f"j{n}" for n in range(8)]
    calls: list[str] = []

    class CountingSpool(HookedSpool):
        async def next_for_printer(self, printer: str) -> Job | None:
            calls.append("read")
            return await super().next_for_printer(printer)

        async def move(self, key: int, target: JobState, **kwargs: Any) -> Job:
            calls.append(f"move:{target.value}")
            return await super().move(key, target, **kwargs)

        async def finish_and_claim(
            self, key: int, target: JobState, *, now: float, message: str | None = None, limit: int = 1, **bounds: int
        ) -> tuple[Job, list[Job]]:
            calls.append("finish+claim")
            return await super().finish_and_claim(key, target, now=now, message=message, limit=limit)

    async def story() -> None:
        spool = CountingSpool(tmp_path / "spool.sqlite3")
        await spool.open(now=1.0, interrupted_policy="reprint")
        for name in names:
            await spool.add(job(name, receipt(name)), capacity=20)
        finished: list[Job] = []
        worker = worker_for(spool, device.as_uri(), tmp_path, finished)
        worker.start()
        await until(lambda: len(finished) == len(names), "every job to print")
        await worker.stop(5.0)
        await spool.close()
        assert [j.id for j in finished] == names

    run(story())
    # The first job is read and started on its own; every later one was claimed by the previous job's final write.
    assert calls[:2] == ["read", "move:printing"]
    assert calls[2:] == ["finish+claim"] * len(names) + ["read"] * (len(calls) - 2 - len(names))
    assert device.read_bytes() == b"".join(receipt(name) for name in names)
