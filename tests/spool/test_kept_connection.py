"""A network printer keeps one connection while jobs wait for it: the next job goes out over the connection the last
one used, each job still confirmed by the printer's own status answer, and the connection is closed as soon as
nothing waits (a network printer serves one connection at a time). ``connection=per-job`` opens one per job.

Proven with a real SQLite spool, the real printer worker and a raw ESC/POS printer on 127.0.0.1 that answers
``DLE EOT`` like an Epson printer and tells its jobs apart by the status query the daemon sends after each one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ticket_daemon.printers.registry import ConfiguredPrinter
from ticket_daemon.printers.status import PrinterState
from ticket_daemon.printers.status_exchange import STATUS_QUERY
from ticket_daemon.protocol import messages
from ticket_daemon.spool.line import PrinterLine
from ticket_daemon.spool.worker import PrinterWorker
from ticket_daemon.store.jobs import Job, JobState
from ticket_daemon.store.sqlite import SqliteSpool

T = TypeVar("T")
WAIT_S = 20.0
READY = 0x12  # a DLE EOT reply with nothing to report
JOBS = 5


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(scenario, timeout=60))


class CountingPrinter:
    """A raw network printer: answers every ``DLE EOT n`` with "ready", ends a job at the status query that follows
    it, and records each connection's jobs. The answer to the first job's query waits for ``release`` (so jobs
    queue up behind it). ``hang_up_after_each_job``: it closes the connection once it answered a job's query, as
    some printers do."""

    def __init__(self, *, hang_up_after_each_job: bool = False) -> None:
        self.release = asyncio.Event()
        self.connections: list[list[bytes]] = []  # the jobs each connection carried
        self.closed = 0  # connections the daemon ended
        self.hang_up = hang_up_after_each_job
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        jobs: list[bytes] = []
        self.connections.append(jobs)
        pending = b""
        try:
            while chunk := await reader.read(65536):
                pending += chunk
                while pending.startswith(b"\x10\x04") and len(pending) >= 3 and not pending.startswith(STATUS_QUERY):
                    pending = pending[3:]  # a status query before any job byte
                    writer.write(bytes([READY]))
                if pending == STATUS_QUERY:  # the check before a job
                    writer.write(bytes([READY]) * 3)
                    pending = b""
                while (end := pending.find(STATUS_QUERY)) > 0:
                    jobs.append(pending[:end])
                    pending = pending[end + len(STATUS_QUERY) :]
                    if sum(len(each) for each in self.connections) == 1:
                        await self.release.wait()
                    writer.write(bytes([READY]) * 3)
                    if self.hang_up:
                        await writer.drain()
                        writer.close()
                        return
                await writer.drain()
            self.closed += 1
        finally:
            writer.close()


def job(job_id: str) -> Job:
    data = f"<{job_id}>\n".encode()
    return Job(id=job_id, client_id="pos1", printer="caja1", document="{}", data=data, created_at=1.0, updated_at=1.0)


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def print_queued_behind_the_first(tmp_path: Path, printer: CountingPrinter, *, options: str = "") -> list[Job]:
    """Queue one job; while the printer holds its answer, queue the rest; return every finished job."""
    port = await printer.start()
    store = SqliteSpool(tmp_path / "spool.sqlite3")
    assert await store.open(now=1.0, interrupted_policy="reprint") == []
    finished: list[Job] = []
    worker = PrinterWorker(
        ConfiguredPrinter(name="caja1", uri=f"tcp://127.0.0.1:{port}{options}"),
        store=store,
        data_dir=tmp_path,
        print_timeout=WAIT_S,
        on_finished=finished.append,
    )
    try:
        await store.add(job("j0"), capacity=100)
        worker.start()
        await until(lambda: sum(len(each) for each in printer.connections) == 1, "the first job at the printer")
        for n in range(1, JOBS):
            await store.add(job(f"j{n}"), capacity=100)
        worker.wake()
        printer.release.set()
        await until(lambda: len(finished) == JOBS, "every result")
        await until(lambda: printer.closed == len(printer.connections) or printer.hang_up, "the connections' end")
    finally:
        await worker.stop(5.0)
        await printer.stop()
        await store.close()
    return finished


def test_jobs_waiting_for_the_printer_follow_the_first_over_its_connection_which_then_closes(tmp_path: Path) -> None:
    printer = CountingPrinter()
    finished = run(print_queued_behind_the_first(tmp_path, printer))

    assert [(each.id, each.state) for each in finished] == [(f"j{n}", JobState.SUCCESS) for n in range(JOBS)]
    assert all(messages.REPRINTED not in (each.message or "") for each in finished)
    assert printer.connections == [[f"<j{n}>\n".encode() for n in range(JOBS)]]
    assert printer.closed == 1  # closed by the daemon once nothing waited


def test_connection_per_job_gives_each_job_a_connection_of_its_own(tmp_path: Path) -> None:
    printer = CountingPrinter()
    finished = run(print_queued_behind_the_first(tmp_path, printer, options="?connection=per-job"))

    assert [(each.id, each.state) for each in finished] == [(f"j{n}", JobState.SUCCESS) for n in range(JOBS)]
    assert printer.connections == [[f"<j{n}>\n".encode()] for n in range(JOBS)]
    assert printer.closed == JOBS


def test_a_printer_that_hangs_up_after_each_job_gets_the_next_over_a_new_connection(tmp_path: Path) -> None:
    printer = CountingPrinter(hang_up_after_each_job=True)
    finished = run(print_queued_behind_the_first(tmp_path, printer))

    assert [(each.id, each.state) for each in finished] == [(f"j{n}", JobState.SUCCESS) for n in range(JOBS)]
    assert all(messages.REPRINTED not in (each.message or "") for each in finished)
    assert printer.connections == [[f"<j{n}>\n".encode()] for n in range(JOBS)]


@pytest.mark.parametrize("kept_open", [True, False])
def test_a_status_check_while_a_connection_is_kept_answers_the_last_state_without_asking(kept_open: bool) -> None:
    async def story() -> tuple[PrinterState, int]:
        line = PrinterLine()
        line.record(PrinterState.paper_near_end)
        line.kept_open = kept_open
        asked = 0

        async def check() -> PrinterState:
            nonlocal asked
            asked += 1
            return PrinterState.ready

        return await line.probe(check), asked

    assert run(story()) == ((PrinterState.paper_near_end, 0) if kept_open else (PrinterState.ready, 1))
