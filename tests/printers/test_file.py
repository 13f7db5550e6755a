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
