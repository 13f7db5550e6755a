"""``cups://QUEUE[?server=HOST_OR_SOCKET]``: a raw job to a CUPS queue, the way Linux and macOS reach OS printers.

The job goes through the CUPS command line client (``lp -o raw``), fed on stdin, so no Python binding is needed and
the bytes reach the queue's backend untouched. The CUPS server is the URI's ``server`` option, else the
``CUPS_SERVER`` environment variable, else the system default (``lp`` reads both itself).

The link cannot read back: the spooler owns the printer, so ``status()`` is ``unknown`` and a job is only *sent*
(accepted by CUPS) when ``send()`` returns; whether it printed is for CUPS to report (``lpstat``). Discovery
reports a queue's state from ``lpstat`` (see ``discovery.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from pathlib import Path

from .base import DEFAULT_TIMEOUTS, Timeouts
from .errors import PrinterError, send_timed_out
from .status import PrinterState

LP_COMMAND = "lp"
JOB_TITLE = "ticket-daemon"
# CUPS queue names: printable characters except space, "/", "\\", "#" and quotes (CUPS lpadmin(8)).
QUEUE_NAME = re.compile(r"[^\s/\\#'\"]{1,127}")
_REQUEST_ID = re.compile(r"request id is (\S+)")


def lp_arguments(queue: str, server: str | None) -> list[str]:
    """The ``lp`` command line for one raw job read from stdin."""
    host = ["-h", server] if server else []
    return [LP_COMMAND, *host, "-d", queue, "-o", "raw", "-t", JOB_TITLE, "-"]


def lp_failure(queue: str, server: str | None, message: str) -> PrinterError:
    """A sentence for what ``lp`` wrote on stderr. A missing queue needs the configuration fixed; the rest
    (scheduler down, queue stopped) may clear on its own, so the job waits."""
    text = message.strip().removeprefix("lp:").strip().removeprefix("Error -").strip()
    lowered = text.lower()
    where = f" on {server}" if server else ""
    if "does not exist" in lowered or "not found" in lowered:
        return PrinterError(f"CUPS queue '{queue}' does not exist{where}", retryable=False)
    if "not accepting" in lowered:
        return PrinterError(f"CUPS queue '{queue}' is not accepting jobs (enable it with cupsaccept)")
    if "connect" in lowered or "scheduler" in lowered:
        return PrinterError(f"Cannot connect to CUPS{where} (is cupsd running?)")
    return PrinterError(f"CUPS refused the job for '{queue}': {text or 'no reason given'}")


class CupsTransport:
    streams_jobs = False  # each job is a CUPS job of its own (one lp run)
    can_read_status = False  # the spooler owns the printer; its state comes from the OS (discovery)

    def __init__(self, queue: str, *, server: str | None = None, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> None:
        self.queue = queue
        self.server = server
        self.uri = f"cups://{queue}" + (f"?server={server}" if server else "")
        self.timeouts = timeouts
        self.last_request_id = ""  # CUPS job id of the last job sent, e.g. "receipts-12"

    async def open(self) -> None:
        if shutil.which(LP_COMMAND) is None:
            raise PrinterError("The CUPS client (lp) is not installed", retryable=False)
        # lp reports an absent local socket as "printer does not exist"; say what is really wrong.
        if self.server and self.server.startswith("/") and not Path(self.server).exists():
            raise PrinterError(f"Cannot connect to CUPS on {self.server} (is cupsd running?)")

    async def send(self, data: bytes) -> None:
        try:
            process = await asyncio.create_subprocess_exec(
                *lp_arguments(self.queue, self.server),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                # lp_failure matches lp's English messages; in the user's locale they would be translated.
                env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            )
        except OSError as error:
            raise PrinterError(f"Cannot run the CUPS client: {error.strerror or error}", retryable=False) from None
        try:
            async with asyncio.timeout(self.timeouts.for_write(len(data))):
                out, err = await process.communicate(data)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise send_timed_out(f"CUPS queue '{self.queue}'") from None
        if process.returncode != 0:
            raise lp_failure(self.queue, self.server, err.decode(errors="replace"))
        found = _REQUEST_ID.search(out.decode(errors="replace"))
        self.last_request_id = found.group(1) if found else ""

    async def status(self) -> PrinterState:
        return PrinterState.unknown

    def can_take_another_job(self) -> bool:
        return False

    async def close(self) -> None:
        return None
