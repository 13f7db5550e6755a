"""A shop whose receipt printer is a CUPS queue (how Linux and macOS reach OS printers): the daemon hands the job to
CUPS raw and the printer behind the queue receives exactly the bytes the daemon rendered.

A private ``cupsd`` runs for each test on a unix socket in a temporary folder, with one raw queue
(``socket://127.0.0.1:PORT``) pointing at a virtual network printer. Skipped when cupsd is not installed, except in
CI (env ``CI``), where it must be."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.harness import DaemonLauncher, PrinterFarm, printed_jobs, ticket, wait_until
from ticket_daemon.escpos import commands
from ticket_daemon.printers import PrinterError, open_transport
from ticket_daemon.printers.cups import CupsTransport
from ticket_daemon.printers.discovery import cups_queues

pytestmark = pytest.mark.cups

CUPSD = shutil.which("cupsd") or ("/usr/sbin/cupsd" if Path("/usr/sbin/cupsd").exists() else None)
WAIT_S = 20.0
JOB = commands.INITIALIZE + b"CUPS RECEIPT\n" + bytes(range(256)) + commands.CUT_PARTIAL  # every byte value


@dataclass
class PrivateCups:
    socket: str
    queue: str
    printer_out: Path


def _require_cups() -> str:
    if CUPSD is None or shutil.which("lpadmin") is None or shutil.which("lp") is None:
        if os.environ.get("CI"):
            pytest.fail("cupsd, lpadmin and lp must be installed in CI (scripts/install-system-deps.sh)")
        pytest.skip("CUPS (cupsd, lpadmin, lp) is not installed")
    assert CUPSD is not None
    return CUPSD


def _write_config(root: Path) -> tuple[Path, Path, str]:
    for folder in ("conf", "cache", "state", "spool", "log"):
        (root / folder).mkdir()
    sock = str(root / "cups.sock")  # short: a unix socket path must stay under ~100 bytes
    cupsd_conf = root / "conf" / "cupsd.conf"
    cupsd_conf.write_text(
        f"Listen {sock}\nLogLevel warn\nBrowsing Off\nWebInterface No\nDefaultAuthType None\n"
        "<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
        "<Location /admin>\n  Order allow,deny\n  Allow all\n</Location>\n"
    )
    files_conf = root / "conf" / "cups-files.conf"
    files_conf.write_text(
        f"ServerRoot {root}/conf\nCacheDir {root}/cache\nStateDir {root}/state\nRequestRoot {root}/spool\n"
        f"TempDir {root}/spool\nErrorLog {root}/log/error_log\nAccessLog {root}/log/access_log\n"
        f"PageLog {root}/log/page_log\n"
    )
    return cupsd_conf, files_conf, sock


@pytest.fixture
def private_cups(tmp_path: Path) -> Iterator[PrivateCups]:
    cupsd = _require_cups()
    farm = PrinterFarm(tmp_path / "printers")
    root = Path(tempfile.mkdtemp(prefix="cups-", dir="/tmp"))
    root.chmod(0o755)  # cupsd runs backends as user lp, which must reach the spooled files
    process: subprocess.Popen[bytes] | None = None
    try:
        printer_uri, printer_out = farm.start("behind-cups")
        cupsd_conf, files_conf, sock = _write_config(root)
        process = subprocess.Popen(
            [cupsd, "-f", "-c", str(cupsd_conf), "-s", str(files_conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + WAIT_S
        while not Path(sock).exists():
            if process.poll() is not None or time.monotonic() > deadline:
                log = root / "log" / "error_log"
                detail = log.read_text() if log.exists() else ""
                pytest.fail(f"cupsd did not start: {process.stderr.read() if process.stderr else ''!r} {detail}")
            time.sleep(0.05)
        port_uri = printer_uri.replace("tcp://", "socket://")
        subprocess.run(
            ["lpadmin", "-h", sock, "-p", "receipts", "-v", port_uri, "-E"],
            check=True,
            capture_output=True,
            timeout=WAIT_S,
        )
        yield PrivateCups(sock, "receipts", printer_out)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=WAIT_S)
            if process.stderr is not None:
                process.stderr.close()
        farm.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_job_reaches_the_printer_behind_a_cups_queue_byte_exact(private_cups: PrivateCups) -> None:
    async def story() -> str:
        printer = open_transport(
            f"cups://{private_cups.queue}?server={private_cups.socket}", dot_width=576, data_dir=Path()
        )
        assert isinstance(printer, CupsTransport)
        await printer.open()
        await printer.send(JOB)
        await printer.close()
        return printer.last_request_id

    request_id = asyncio.run(asyncio.wait_for(story(), WAIT_S))

    assert request_id.startswith("receipts-")
    wait_until(lambda: len(printed_jobs(private_cups.printer_out)) == 1, "CUPS to deliver the job", WAIT_S)
    assert printed_jobs(private_cups.printer_out) == [JOB]


def test_a_receipt_printed_through_the_daemon_arrives_exactly_as_rendered(
    private_cups: PrivateCups, tmp_path: Path
) -> None:
    launcher = DaemonLauncher(tmp_path / "daemon")
    try:
        running = launcher.start(
            printers=[
                {"name": "counter", "uri": f"cups://{private_cups.queue}?server={private_cups.socket}"},
                {"name": "reference", "uri": "virtual://reference"},
            ]
        )
        client = running.connect()
        _, through_cups = client.print_job(ticket("via-cups", "TABLE 7", "2 x COFFEE", printer="counter"))
        _, reference = client.print_job(ticket("via-emulator", "TABLE 7", "2 x COFFEE", printer="reference"))
    finally:
        launcher.stop_all()

    assert through_cups["status"] == "success", through_cups
    assert reference["status"] == "success", reference
    wait_until(lambda: len(printed_jobs(private_cups.printer_out)) == 1, "CUPS to deliver the job", WAIT_S)
    assert printed_jobs(private_cups.printer_out) == running.virtual_jobs("reference")


def test_an_unknown_cups_queue_fails_the_job_with_a_sentence(private_cups: PrivateCups) -> None:
    async def story() -> None:
        printer = CupsTransport("no-such-queue", server=private_cups.socket)
        await printer.open()
        await printer.send(JOB)

    with pytest.raises(PrinterError) as failure:
        asyncio.run(asyncio.wait_for(story(), WAIT_S))

    assert str(failure.value).startswith("PRINTER: CUPS queue 'no-such-queue' does not exist")
    assert failure.value.retryable is False


def test_a_cups_server_that_is_not_running_is_a_retryable_error(tmp_path: Path) -> None:
    async def story() -> None:
        printer = CupsTransport("receipts", server=str(tmp_path / "gone.sock"))
        await printer.open()

    if shutil.which("lp") is None:
        pytest.skip("the CUPS client is not installed")
    with pytest.raises(PrinterError) as failure:
        asyncio.run(asyncio.wait_for(story(), WAIT_S))

    assert "Cannot connect to CUPS on" in str(failure.value)
    assert failure.value.retryable is True


def test_cups_queues_are_discovered_with_a_uri_that_prints_to_them(private_cups: PrivateCups) -> None:
    found = cups_queues(private_cups.socket)

    assert [(p.name, p.uri, p.status, p.printer_type) for p in found] == [
        ("receipts", f"cups://receipts?server={private_cups.socket}", "ready", "thermal")
    ]
    assert found[0].port.startswith("socket://127.0.0.1:")
