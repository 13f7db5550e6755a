"""The print service: one :class:`PrintSpool` per process owns the printers, the job store, one worker per
printer, results routing, recovery, operator actions and housekeeping.

Doors (``/ws``, the HTTP mirror, MQTT) hand it typed requests through :func:`.service.serve` (tickets through
:mod:`.intake`); everything after the ``ack`` is the spool's. The process around it holds it (never extends it) and
hands in what it needs at construction: the metrics collector and what to do before the store closes.

The store is the durable SQLite spool by default (``[storage] spool``; docs/spool.md): start-up recovers it, a
stop leaves unprinted jobs in it, results are stored and re-sent to a client that reconnects with its
``client_id``. ``PrintSpool(settings, store=...)`` takes any :class:`JobStore` (benchmarks compare the spool with
the memory queue).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..config import Settings
from ..document.errors import Category, TicketError
from ..printers.identify import identify_printers
from ..printers.registry import PrinterRegistry
from ..printers.status import PrinterState
from ..protocol import messages
from ..render.pool import RenderPool
from ..store.database import SpoolDamaged, StorageError
from ..store.interface import JobStore
from ..store.jobs import Job, JobState
from ..store.memory import MemoryJobStore
from ..store.records import new_job, reprint_id
from ..store.recovery import abandon_unprinted, end_orphaned_jobs, recover
from ..store.sqlite import SPOOL_FILE, SqliteSpool
from .metrics_hooks import NO_METRICS, JobMetrics
from .results import ResultRouter, ResultSink
from .states import PrinterStates
from .worker import PrinterWorker, RetryPolicy

if TYPE_CHECKING:
    from ..printers.discovery import PrinterDiscovery

log = logging.getLogger(__name__)

# Queued jobs one final write may claim for a printer (see PrinterWorker): one run sent over one connection.
RUN_CLAIM_LIMIT = 64

# A reprint gets the first free id among ``<id>.reprint-1`` … ``<id>.reprint-99``.
MAX_REPRINTS = 99


class NotAccepting(Exception):
    """The spool began stopping while the job was being checked: it was not stored (the client retries)."""


async def _nothing() -> None:
    return None


class PrintSpool:
    def __init__(
        self,
        settings: Settings,
        *,
        store: JobStore | None = None,
        metrics: JobMetrics = NO_METRICS,
        before_store_closes: Callable[[], Awaitable[None]] = _nothing,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``metrics`` hears of every job (``GET /metrics``); ``before_store_closes`` runs on stop after the drain,
        while results can still be recorded (the server closes its connections there); ``clock`` gives the wall-clock
        seconds jobs are stamped with, which the duplicate window and a job's time to live are measured on."""
        self.settings = settings
        self.clock = clock
        self.registry = PrinterRegistry.from_settings(settings.printers)  # ConfigError for bad printers
        self.store: JobStore = store if store is not None else default_store(settings)
        self.capacity = settings.server.queue_capacity
        self.duplicate_window_seconds = settings.spool.duplicate_window_seconds
        self.results = ResultRouter(self.store)
        # Validation and rendering: a bounded pool of its own with a time budget per render (renderpool.py).
        self.render_pool = RenderPool.from_settings(settings.server)
        self.metrics = metrics
        self._before_store_closes = before_store_closes
        self._discovery: PrinterDiscovery | None = None  # made on the first scan (discovery.py)
        self.jobs_processed = 0
        self.jobs_failed = 0
        self.started_at = self.clock()
        self.accepting = False  # True between start() and the beginning of stop()
        retry = RetryPolicy(
            initial_seconds=settings.spool.retry_initial_seconds,
            max_seconds=settings.spool.retry_max_seconds,
            job_ttl_seconds=settings.spool.job_ttl_seconds,
        )
        # Under load a printer's final write claims the queued jobs behind it (a run sent over one connection), so
        # printing keeps up with intake. After a crash every claimed job is found "printing": reprinted from the
        # start by default, which prints a claimed job that never began exactly once; with interrupted_policy =
        # "fail" claimed jobs would be failed without having begun, so only one job is claimed ahead then.
        claim_ahead = RUN_CLAIM_LIMIT if settings.spool.interrupted_policy == "reprint" else 1
        self.workers: dict[str, PrinterWorker] = {
            printer.name: PrinterWorker(
                printer,
                store=self.store,
                data_dir=settings.storage.data_dir,
                print_timeout=settings.server.print_timeout_seconds,
                on_finished=self._job_finished,
                on_waiting=self.results.waiting,
                retry=retry,
                clock=clock,
                claim_ahead=claim_ahead,
                reprint_interrupted=settings.spool.interrupted_policy == "reprint",
            )
            for printer in self.registry.printers
        }
        self.states = PrinterStates(
            self.registry,
            {name: worker.line for name, worker in self.workers.items()},
            data_dir=settings.storage.data_dir,
            timeout_seconds=settings.server.status_timeout_seconds,
            cache_seconds=settings.server.status_cache_seconds,
        )
        self._pruner: asyncio.Task[None] | None = None
        self.has_started = False
        self._stopped = False

    # --- life-cycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover the spool and start the workers. Idempotent (the console server starts the daemon before the
        app's lifespan asks again). Raises ``SpoolDamaged`` for a spool that held jobs and is gone or damaged."""
        if self.has_started:
            return
        self.has_started = True
        self.started_at = self.clock()
        reprints: set[int] = set()
        try:
            reprints = await recover(self.store, interrupted_policy=self.settings.spool.interrupted_policy)
        except SpoolDamaged:  # it held acked jobs: serving an empty spool would lose them silently; stop start-up
            raise
        except StorageError as error:  # e.g. a read-only disk: reported on every ticket, everything else is served
            log.error("the spool cannot be used: %s", error)
        else:
            await end_orphaned_jobs(self.store, self.workers, self._job_finished)
        # Printers with no configured profile are asked what they are (GS I) before any job is laid out for them or
        # sent: a serial line, or a printer's port 9100, holds one conversation at a time. All at once, each within
        # the status timeout, so a printer that is off delays start-up by that much at most.
        await identify_printers(self.registry, self.settings.server.status_timeout_seconds)
        for worker in self.workers.values():
            worker.start(reprints)
        self._pruner = asyncio.create_task(self._prune_periodically(), name="spool-pruner")
        self.accepting = True
        log.info("daemon started with printers: %s", ", ".join(self.workers))

    async def drain(self) -> None:
        """Stop taking jobs; let each job being printed finish (bounded by ``shutdown_grace_seconds``)."""
        self.accepting = False
        grace = self.settings.server.shutdown_grace_seconds
        await asyncio.gather(*(worker.stop(grace) for worker in self.workers.values()))
        if not self.store.durable:
            await abandon_unprinted(self.store, self.workers, self._job_finished)
        # A durable spool keeps the rest queued: they print after the restart.

    async def stop(self) -> None:
        """Drain, then close the store. Safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        await self.drain()
        await self.render_pool.close()
        await self._before_store_closes()
        if self._pruner is not None:
            self._pruner.cancel()
            await asyncio.gather(self._pruner, return_exceptions=True)
        await self.results.close()
        try:
            await self.store.close()
        except Exception:
            log.exception("closing the spool failed")
        log.info("daemon stopped: %d jobs printed, %d failed", self.jobs_processed, self.jobs_failed)

    # --- jobs ------------------------------------------------------------------------------------------------

    async def accept(self, job: Job, sink: ResultSink, *, idempotent: bool = True) -> Job:
        """Store a rendered job; its messages go to ``sink``, held until ``results.acknowledge`` sends its ack.
        Raises ``OverflowError`` when the queue is full, ``DuplicateJob``/``IdConflict`` when its owner used the id
        within the duplicate window and ``NotAccepting`` when a stop began (none of them stores anything). Not
        ``idempotent`` (an anonymous client): no duplicate window, the job is stored whatever ids came before."""
        if not self.accepting:  # a stop began while the job rendered: an ack now could lose it
            raise NotAccepting(job.id)
        window = self.duplicate_window_seconds if idempotent else 0.0
        stored = await self.store.add(job, capacity=self.capacity, window_seconds=window)
        # Before any await: a worker reads the job only after the add answered, so it cannot finish unrouted.
        self.results.expect(stored.seq, sink)
        self.workers[stored.printer].wake()
        self.metrics.job_accepted(stored)
        return stored

    def _job_finished(self, job: Job) -> None:
        self.metrics.job_finished(job)
        if job.state is JobState.SUCCESS:
            self.jobs_processed += 1
        else:
            self.jobs_failed += 1
        self.results.finished(job)

    async def queue_depth(self) -> int:
        return await self.store.count_pending()

    # --- operator actions (dashboard) ------------------------------------------------------------------------

    async def cancel(self, seq: int) -> Job | None:
        """Cancel a job still queued or waiting; None when there is no such job. Raises ``InvalidTransition``
        when it is printing or finished."""
        job = await self.store.get(seq)
        if job is None:
            return None
        cancelled = await self.store.move(seq, JobState.CANCELLED, now=self.clock(), message=messages.CANCELLED)
        self._job_finished(cancelled)
        return cancelled

    async def reprint(self, seq: int) -> Job | None:
        """Queue a new copy of a stored job (new id ``<id>.reprint-N``, the first its owner has not used; same
        owner and printer, so its result goes to that client); None when the job is gone. A finished job keeps its
        document, not its bytes: it is rendered again for its printer. A job whose printer was removed from the
        configuration cannot be reprinted."""
        original = await self.store.get(seq)
        if original is None or not original.document:
            return None
        if original.printer not in self.workers:
            raise TicketError(f"Printer '{original.printer}' is no longer configured", category=Category.PRINTER)
        data, notes = original.data, original.notes
        if data is None:
            rendered = await self.render_pool.render(
                f"reprint:{original.client_id}",
                json.loads(original.document),
                raw_policy=self.settings.server.raw_policy,
                registry=self.registry,
                printer_name=original.printer,
            )
            data, notes = rendered.data, rendered.notes
        for attempt in range(1, MAX_REPRINTS + 1):
            copy_id = reprint_id(original.id, attempt)
            if await self.store.find(original.owner, copy_id) is None:
                copy = new_job(
                    copy_id,
                    client_id=original.client_id,
                    printer=original.printer,
                    document=original.document,
                    data=data,
                    notes=notes,
                    now=self.clock(),
                    digest=original.digest,
                )
                window = self.duplicate_window_seconds
                stored = await self.store.add(copy, capacity=self.capacity, window_seconds=window)
                self.workers[stored.printer].wake()
                return stored
        return None

    # --- housekeeping ----------------------------------------------------------------------------------------

    async def prune(self) -> int:
        """Drop finished jobs past ``retention_days``, and the oldest beyond ``max_rows``."""
        spool = self.settings.spool
        older_than = self.clock() - spool.retention_days * 86400
        return await self.store.prune(older_than=older_than, max_rows=spool.max_rows)

    async def _prune_periodically(self) -> None:
        while True:
            try:
                removed = await self.prune()
                if removed:
                    log.info("spool: pruned %d finished jobs", removed)
            except Exception as error:
                log.warning("spool: pruning failed: %s", error)
            await asyncio.sleep(self.settings.spool.prune_interval_seconds)

    async def spool_report(self) -> dict[str, object]:
        """``/health`` ``spool``: rows stored, jobs pending, and how long the oldest pending one has waited; degraded,
        with why, while the file or its writes fail now. One call to the store reads it all."""
        try:
            figures = await self.store.report()
        except TicketError as error:
            return {"status": "error", "mensaje": str(error)}
        oldest = figures.oldest_pending
        waited = round(max(0.0, self.clock() - oldest.created_at), 1) if oldest is not None else 0.0
        report: dict[str, object] = {
            "status": "ok",
            "size": figures.size,
            "pending": figures.pending,
            "oldest_waiting_seconds": waited,
        }
        if not figures.health.ok:
            report.update(status="degraded", reason=figures.health.reason)
        return report

    def uptime_seconds(self) -> int:
        return max(0, int(self.clock() - self.started_at))

    def workers_running(self) -> bool:
        return bool(self.workers) and all(worker.running for worker in self.workers.values())

    # --- printers --------------------------------------------------------------------------------------------

    async def printer_states(self) -> dict[str, PrinterState]:
        return await self.states.current()

    async def printers_report(self, *, discover: bool = False) -> tuple[list[dict[str, object]], dict[str, object]]:
        """(PrinterDetail list, PrinterSummary) as docs/protocol.md ``printers`` and ``/health`` report them: the
        configured printers with their live state, then (``discover``) the OS's printers not configured yet."""
        states = await self.printer_states()
        details, summary = self.registry.details(states), self.registry.summary()
        if discover:
            from ..printers.discovery import PrinterDiscovery, with_discovered  # loads with the first scan

            if self._discovery is None:
                self._discovery = PrinterDiscovery()  # the OS's printers, asked at most every 30 s
            return with_discovered(self.registry, details, await self._discovery.scan())
        return details, summary


def default_store(settings: Settings) -> JobStore:
    """The store ``[storage] spool`` asks for: the SQLite spool in the data dir, or the in-memory queue."""
    if settings.storage.spool == "memory":
        return MemoryJobStore(history=settings.server.job_history)
    return SqliteSpool(settings.storage.data_dir / SPOOL_FILE)
