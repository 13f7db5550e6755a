"""A printer on a local port (file:///dev/usb/lp0) or a capture file: jobs are appended byte for byte, and an
unplugged, forbidden or stuck device is reported in a sentence instead of hanging the worker."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ticket_daemon.printers import FileTransport, PrinterError, PrinterState, Timeouts, open_transport
from unprivileged import folder_nobody_can_use, is_root, run_as_nobody

T = TypeVar("T")
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes stand in for a stuck device")


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(scenario, timeout=30))


async def print_jobs(transport: FileTransport, *jobs: bytes) -> PrinterState:
    await transport.open()
    try:
        for job in jobs:
            await transport.send(job)
        return await transport.status()
    finally:
        await transport.close()


def refusal(transport: FileTransport, *jobs: bytes) -> PrinterError:
    with pytest.raises(PrinterError) as info:
        run(print_jobs(transport, *jobs))
    return info.value


def test_jobs_are_appended_byte_for_byte(tmp_path: Path) -> None:
    capture = tmp_path / "lp0"
    transport = open_transport(capture.as_uri(), dot_width=576, data_dir=tmp_path)
    assert isinstance(transport, FileTransport)
    assert run(print_jobs(transport, b"\x1b@first\n", bytes(range(256)))) is PrinterState.unknown
    run(print_jobs(FileTransport(capture), b"second\n"))
    assert capture.read_bytes() == b"\x1b@first\n" + bytes(range(256)) + b"second\n"


def test_unplugged_device_is_retryable(tmp_path: Path) -> None:
    missing = tmp_path / "usb" / "lp0"
    error = refusal(FileTransport(missing), b"x")
    assert str(error) == f"PRINTER: Cannot write to {missing}: not found (is the printer plugged in?)"
    assert error.retryable


def test_a_folder_is_not_a_printer(tmp_path: Path) -> None:
    error = refusal(FileTransport(tmp_path), b"x")
    assert str(error) == f"PRINTER: Cannot write to {tmp_path}: it is a folder"
    assert not error.retryable


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_a_device_the_daemon_may_not_write_fails_for_good(tmp_path: Path) -> None:
    locked = tmp_path / "lp0"
    locked.write_bytes(b"")
    locked.chmod(0o400)
    error = refusal(FileTransport(locked), b"x")
    assert str(error) == f"PRINTER: Cannot write to {locked}: permission denied"
    assert not error.retryable


@pytest.mark.skipif(not is_root(), reason="the test above sees the refusal directly")
def test_a_device_the_daemon_may_not_write_fails_for_good_for_a_daemon_started_by_root() -> None:
    """As root (CI), the daemon's part runs as the unprivileged user it would run as in production."""
    with folder_nobody_can_use() as folder:
        locked = folder / "lp0"  # owned by root, read-only for everyone else: a device node of the lp group
        locked.write_bytes(b"")
        locked.chmod(0o644)

        def print_as_nobody() -> tuple[str, bool]:
            error = refusal(FileTransport(locked), b"x")
            return str(error), error.retryable

        message, retryable = run_as_nobody(print_as_nobody)
        assert locked.read_bytes() == b""
    assert message == f"PRINTER: Cannot write to {locked}: permission denied"
    assert not retryable


@needs_fifo
def test_a_device_that_never_opens_is_reported(tmp_path: Path) -> None:
    device = tmp_path / "stuck"
    os.mkfifo(device)  # opening a pipe for writing blocks until someone reads it: a printer that never answers
    try:
        error = refusal(FileTransport(device, timeouts=Timeouts(connect=0.3)), b"x")
    finally:
        os.close(os.open(device, os.O_RDONLY | os.O_NONBLOCK))  # lets the abandoned open finish (and close)
    assert str(error) == f"PRINTER: Cannot write to {device}: the device does not answer"
    assert error.retryable


@needs_fifo
def test_a_device_that_stops_taking_data_times_out(tmp_path: Path) -> None:
    device = tmp_path / "full"
    os.mkfifo(device)
    reader = os.open(device, os.O_RDONLY | os.O_NONBLOCK)  # present, but never reads: the pipe fills up
    try:
        stalled = FileTransport(device, timeouts=Timeouts(write=0.3, slowest_bytes_per_second=10**12))
        error = refusal(stalled, bytes(1024 * 1024))
    finally:
        os.close(reader)  # the abandoned write fails with a broken pipe and its thread ends
    assert str(error) == f"PRINTER: Timed out sending to {device}"
    assert error.retryable


@pytest.mark.parametrize("per_job", [False, True])
def test_a_file_printer_may_carry_the_next_job_on_its_handle_unless_each_job_has_its_own(
    tmp_path: Path, per_job: bool
) -> None:
    capture = tmp_path / "lp0"

    async def story() -> list[bool]:
        printer = FileTransport(capture, connection_per_job=per_job)
        await printer.open()
        try:
            await printer.send(b"first\n")
            after_first = printer.can_take_another_job()
            await printer.send(b"second\n")
            return [after_first, printer.can_take_another_job()]
        finally:
            await printer.close()

    assert run(story()) == [not per_job, not per_job]
    assert capture.read_bytes() == b"first\nsecond\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full is a device whose every write fails")
def test_a_file_printer_whose_write_failed_takes_no_other_job_on_that_handle() -> None:
    async def story() -> tuple[bool, bool]:
        printer = FileTransport(Path("/dev/full"))
        await printer.open()
        try:
            opened = printer.can_take_another_job()
            with pytest.raises(PrinterError, match="no space left on device"):
                await printer.send(b"x")
            return opened, printer.can_take_another_job()
        finally:
            await printer.close()

    assert run(story()) == (True, False)


@needs_fifo
def test_a_named_pipe_is_opened_for_each_job_its_reader_sees_each_close_as_a_job_end(tmp_path: Path) -> None:
    pipe = tmp_path / "lp0"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # a program reading jobs from the pipe

    async def story() -> bool:
        printer = FileTransport(pipe)
        await printer.open()
        try:
            await printer.send(b"job\n")
            return printer.can_take_another_job()
        finally:
            await printer.close()

    try:
        assert run(story()) is False
        assert os.read(reader, 64) == b"job\n"
    finally:
        os.close(reader)
