"""What happens to jobs across a start and a stop: the spool is recovered at start-up, jobs of printers no longer
configured end, and an in-memory queue tells its clients about the jobs it is about to lose."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable

from ..document.errors import TicketError
from ..protocol import messages
from .interface import JobStore
from .jobs import Job, JobState

log = logging.getLogger(__name__)

JobReport = Callable[[Job], None]


async def recover(store: JobStore, *, interrupted_policy: str) -> set[int]:
    """Open the store: queued and waiting jobs resume in order; a job found mid-send is reprinted or failed
    (``interrupted_policy``). The seqs of the jobs to reprint are returned (their result says so). Raises
    ``StorageError`` (``SpoolDamaged`` when a spool that held jobs is gone or damaged)."""
    interrupted = await store.open(now=time.time(), interrupted_policy=interrupted_policy)
    for job in interrupted:
        log.warning("job %s was interrupted while printing on %s (%s)", job.id, job.printer, "recovered")
    return {job.seq for job in interrupted} if interrupted_policy == "reprint" else set()


async def end_orphaned_jobs(store: JobStore, configured: Collection[str], on_finished: JobReport) -> None:
    """Jobs pending for a printer no longer configured would wait forever and count against the capacity: they
    end ``error`` instead. A failure here only leaves them waiting: start-up goes on."""
    try:
        for printer in await store.pending_printers():
            if printer in configured:
                continue
            message = f"PRINTER: Printer '{printer}' is no longer configured"
            for job in await store.pending_for_printer(printer):
                log.warning("job %s: %s", job.id, message)
                on_finished(await store.move(job.seq, JobState.ERROR, now=time.time(), message=message))
    except Exception as error:
        log.error("cannot end the jobs of printers no longer configured: %s", error)


async def abandon_unprinted(store: JobStore, printers: Iterable[str], on_finished: JobReport) -> None:
    """Jobs not printed when the workers stopped are lost with an in-memory queue: tell their clients, rather than
    leaving them waiting for a result that cannot come. Every printer's whole pending list, so an old waiting job is
    never missed."""
    jobs: list[Job] = []
    try:
        for printer in printers:
            jobs += await store.pending_for_printer(printer)
    except TicketError:
        return
    for job in jobs:
        if job.state in (JobState.QUEUED, JobState.WAITING):
            message = messages.SHUTTING_DOWN
        elif job.state is JobState.PRINTING:  # cut off after shutdown_grace_seconds
            message = messages.INTERRUPTED
        else:
            continue
        on_finished(await store.move(job.seq, JobState.ERROR, now=time.time(), message=message))
