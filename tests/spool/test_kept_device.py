"""A printer on a device node, a capture file or a serial line keeps its handle while jobs wait for it: the next job
goes out through the handle the last one used, each job still sent and confirmed on its own, and the handle is
closed as soon as nothing waits (``usblp`` and a serial port serve one program at a time). ``connection=per-job``
opens it for each job.

Proven with a real SQLite spool and the real printer worker, printing each job as a run of its own (as under
``interrupted_policy = "fail"``); the kernel counts the opens (inotify).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from opens import OpenCounter, needs_inotify
from printers.test_serial_port import PtyPrinter
from ticket_daemon.printers.registry import ConfiguredPrinter
from ticket_daemon.protocol import messages
from ticket_daemon.spool.worker import PrinterWorker
from ticket_daemon.store.jobs import Job, JobState
from ticket_daemon.store.sqlite import SqliteSpool

pytestmark = needs_inotify
T = TypeVar("T")
WAIT_S = 20.0
JOBS = 5


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(scenario, timeout=60))


def job(job_id: str) -> Job:
    data = f"<{job_id}>\n".encode()
    return Job(id=job_id, client_id="pos1", printer="caja1", document="{}", data=data, created_at=1.0, updated_at=1.0)


def receipts(*ids: str) -> bytes:
    return b"".join(f"<{job_id}>\n".encode() for job_id in ids)


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@pytest.fixture
def pty_printer() -> Iterator[PtyPrinter]:
    printer = PtyPrinter()
    yield printer
    printer.close()


async def print_waiting_jobs(tmp_path: Path, uri: str, watched: Path | str) -> tuple[list[Job], list[tuple[int, int]]]:
    """Queue ``JOBS`` jobs, start the worker, and once every result is back and nothing waits, queue one more.
    Returns the finished jobs and the (opens, closes) of ``watched`` seen after the first jobs and after the last."""
    store = SqliteSpool(tmp_path / "spool.sqlite3")
    assert await store.open(now=1.0, interrupted_policy="fail") == []
    finished: list[Job] = []
    worker = PrinterWorker(
        ConfiguredPrinter(name="caja1", uri=uri),
        store=store,
        data_dir=tmp_path,
        print_timeout=WAIT_S,
        on_finished=finished.append,
    )
    seen: list[tuple[int, int]] = []
    with OpenCounter(watched) as counter:
        try:
            for n in range(JOBS):
                await store.add(job(f"j{n}"), capacity=100)
            worker.start()
            await until(lambda: len(finished) == JOBS, "every result")
            # Closed because nothing waits, while the worker runs on: not because the daemon stops.
            await until(lambda: counter.closes >= counter.opens > 0, "the handle's close once nothing waits")
            seen.append((counter.opens, counter.closes))
            await store.add(job("later"), capacity=100)
            worker.wake()
            await until(lambda: len(finished) == JOBS + 1, "the later job's result")
            await until(lambda: counter.closes >= counter.opens, "the handle's close once nothing waits again")
            seen.append((counter.opens, counter.closes))
        finally:
            await worker.stop(5.0)
            await store.close()
    return finished, seen


def test_jobs_waiting_for_a_capture_file_printer_share_one_open_which_closes_once_nothing_waits(
    tmp_path: Path,
) -> None:
    capture = tmp_path / "lp0"
    capture.write_bytes(b"")
    finished, seen = run(print_waiting_jobs(tmp_path, capture.as_uri(), capture))

    ids = [f"j{n}" for n in range(JOBS)] + ["later"]
    assert [(each.id, each.state) for each in finished] == [(job_id, JobState.SUCCESS) for job_id in ids]
    assert capture.read_bytes() == receipts(*ids)  # appended in order, each once
    assert seen == [(1, 1), (2, 2)]  # one open for the jobs that waited, one for the later job


def test_a_device_node_printer_keeps_its_handle_while_jobs_wait(tmp_path: Path, pty_printer: PtyPrinter) -> None:
    """A pty slave stands in for ``/dev/usb/lp0``: a character device written with ``file://``."""
    finished, seen = run(print_waiting_jobs(tmp_path, Path(pty_printer.device).as_uri(), pty_printer.device))

    ids = [f"j{n}" for n in range(JOBS)] + ["later"]
    assert [(each.id, each.state) for each in finished] == [(job_id, JobState.SUCCESS) for job_id in ids]
    assert seen == [(1, 1), (2, 2)]


def test_connection_per_job_opens_a_capture_file_for_each_job(tmp_path: Path) -> None:
    capture = tmp_path / "lp0"
    capture.write_bytes(b"")
    finished, seen = run(print_waiting_jobs(tmp_path, f"{capture.as_uri()}?connection=per-job", capture))

    ids = [f"j{n}" for n in range(JOBS)] + ["later"]
    assert [(each.id, each.state) for each in finished] == [(job_id, JobState.SUCCESS) for job_id in ids]
    assert capture.read_bytes() == receipts(*ids)
    assert seen == [(JOBS, JOBS), (JOBS + 1, JOBS + 1)]


def test_jobs_waiting_for_a_serial_printer_share_one_open_port_each_confirmed_by_its_status(
    tmp_path: Path, pty_printer: PtyPrinter
) -> None:
    finished, seen = run(print_waiting_jobs(tmp_path, f"serial://{pty_printer.device}", pty_printer.device))

    ids = [f"j{n}" for n in range(JOBS)] + ["later"]
    assert [(each.id, each.state) for each in finished] == [(job_id, JobState.SUCCESS) for job_id in ids]
    assert all(messages.REPRINTED not in (each.message or "") for each in finished)
    assert bytes(pty_printer.printed) == receipts(*ids)
    assert seen == [(1, 1), (2, 2)]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full is a device whose every write fails")
def test_a_device_whose_write_fails_is_closed_and_the_next_job_opens_it_again(tmp_path: Path) -> None:
    """A write that fails ends the handle's service: the job is never reported printed, and the next job opens the
    device afresh instead of trying the handle that failed."""

    async def story() -> tuple[list[Job], tuple[int, int]]:
        store = SqliteSpool(tmp_path / "spool.sqlite3")
        assert await store.open(now=1.0, interrupted_policy="fail") == []
        finished: list[Job] = []
        worker = PrinterWorker(
            ConfiguredPrinter(name="caja1", uri="file:///dev/full"),
            store=store,
            data_dir=tmp_path,
            print_timeout=WAIT_S,
            on_finished=finished.append,
            reprint_interrupted=False,
        )
        with OpenCounter("/dev/full") as counter:
            try:
                for n in range(JOBS):
                    await store.add(job(f"j{n}"), capacity=100)
                worker.start()
                await until(lambda: len(finished) == JOBS, "every result")
                await until(lambda: counter.closes >= counter.opens, "the last close")
                return finished, (counter.opens, counter.closes)
            finally:
                await worker.stop(5.0)
                await store.close()

    finished, seen = run(story())
    assert [(each.state, each.message) for each in finished] == [
        (JobState.ERROR, "PRINTER: Cannot write to /dev/full: no space left on device")
    ] * JOBS
    assert seen == (JOBS, JOBS)
