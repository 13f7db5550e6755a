"""The running daemon: settings, printers, the job store, one worker per printer, stats and connected clients.

One :class:`Daemon` lives in ``app.state.daemon``; the app's lifespan calls :meth:`start` and :meth:`stop`.
Transports (``/ws``, the HTTP mirror) hand it validated, rendered jobs with :meth:`accept` and a
:data:`ResultSink` saying where the job's ``result`` goes; the daemon owns everything after that.

The store is the durable SQLite spool by default (``[storage] spool``; docs/spool.md): start-up recovers it, a stop
leaves unprinted jobs in it, results are stored and re-sent to a client that reconnects with its ``client_id``.
``Daemon(settings, store=...)`` takes any :class:`JobStore` (benchmarks compare the spool with the memory queue).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import ConfigError, Settings
from ..document.errors import Category, TicketError
from ..printers.discovery import PrinterDiscovery, with_discovered
from ..printers.registry import ConfiguredPrinter, PrinterRegistry
from ..printers.status import PrinterState
from ..printers.uri import open_transport
from ..spool.durable import SPOOL_FILE, SqliteSpool
from ..spool.jobs import Job, JobState
from ..spool.queue import JobStore, MemoryJobStore
from ..spool.store import StorageError
from . import protocol
from .metrics import NO_METRICS, JobMetrics
from .ratelimit import JobRateLimiter
from .rendering import GENERIC_DOT_WIDTH
from .security import OriginPolicy
from .workers import PrinterWorker, RetryPolicy

log = logging.getLogger(__name__)

# Where a job's messages go (a connection's outbox). Must not block; returns False when the message could not be
# queued (the connection is gone), so a durable result stays undelivered until its client reconnects.
ResultSink = Callable[[protocol.Message], bool | None]


class Client(Protocol):
    """A connected client, as the daemon sees it: something to close when the daemon stops."""

    async def close(self, code: int, reason: str) -> None: ...


class NotAccepting(Exception):
    """The daemon began stopping while the job was being checked: it was not stored (the client retries)."""


class Daemon:
    def __init__(self, settings: Settings, *, store: JobStore | None = None) -> None:
        self.settings = settings
        server = settings.server
        try:
            self.registry = PrinterRegistry(
                ConfiguredPrinter(p.name, p.uri, p.model, tuple(p.aliases), p.default) for p in settings.printers
            )
        except TicketError as error:  # a wrong URI or an ambiguous name is a configuration mistake
            raise ConfigError(f"printers: {error.message}", kind="VALIDATION") from None
        self.store: JobStore = store if store is not None else default_store(settings)
        self.capacity = server.queue_capacity
        self.rate_limiter = JobRateLimiter(server.rate_limit_per_minute)
        self.origin_policy = OriginPolicy(server.allowed_origins)
        self.discovery = PrinterDiscovery()  # the OS's printers, asked at most every 30 s
        self.jobs_processed = 0
        self.jobs_failed = 0
        self.started_at = time.time()
        self.accepting = False  # True between start() and the beginning of stop()
        self.connections: set[Client] = set()
        self.metrics: JobMetrics = NO_METRICS  # GET /metrics: the app installs its own (server/metrics.py)
        self.workers: dict[str, PrinterWorker] = {
            printer.name: PrinterWorker(
                printer,
                store=self.store,
                data_dir=settings.storage.data_dir,
                print_timeout=server.print_timeout_seconds,
                on_finished=self._job_finished,
                on_waiting=self._job_waiting,
                retry=RetryPolicy(
                    initial_seconds=settings.spool.retry_initial_seconds,
                    max_seconds=settings.spool.retry_max_seconds,
                    job_ttl_seconds=settings.spool.job_ttl_seconds,
                ),
            )
            for printer in self.registry.printers
        }
        self.storage_error: str | None = None  # why the spool could not be opened, when it could not
        self._clients: dict[str, ResultSink] = {}  # client_id → its live connection (issue item 6)
        self._background: set[asyncio.Task[None]] = set()
        self._pruner: asyncio.Task[None] | None = None
        self._routes: dict[str, _ResultRoute] = {}  # job id → where its result goes; bounded by the queue
        self._states: dict[str, PrinterState] | None = None  # explicit one-entry cache of printer states
        self._states_at = 0.0
        self._states_lock = asyncio.Lock()
        self._stopped = False

    # --- life-cycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.started_at = time.time()
        reprints: set[str] = set()
        try:
            # Issue item 3: queued/waiting jobs resume in order; one found mid-send is reprinted or failed.
            interrupted = await self.store.open(
                now=time.time(), interrupted_policy=self.settings.spool.interrupted_policy
            )
        except StorageError as error:  # item 8: report it on every ticket, keep serving everything else
            self.storage_error = str(error)
            log.error("the spool cannot be used: %s", error)
        else:
            for job in interrupted:
                log.warning("job %s was interrupted while printing on %s (%s)", job.id, job.printer, "recovered")
            if self.settings.spool.interrupted_policy == "reprint":
                reprints = {job.id for job in interrupted}
            await self._end_orphaned_jobs()
        if not _is_loopback_host(self.settings.server.host) and not self.settings.server.dashboard_password_hash:
            log.warning(
                "listening on %s without a dashboard password: the dashboard and operator APIs answer only "
                "to this machine (set server.dashboard_password_hash for remote access)",
                self.settings.server.host,
            )
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
            await self._abandon_unprinted()
        # A durable spool keeps the rest queued: they print after the restart (issue "durable spool").

    async def _end_orphaned_jobs(self) -> None:
        """Review item 4: jobs left pending for a printer no longer configured would wait forever and count against
        the capacity; they end ``error`` instead."""
        try:
            for printer in await self.store.pending_printers():
                if printer in self.workers:
                    continue
                message = f"PRINTER: Printer '{printer}' is no longer configured"
                for job in await self.store.pending_for_printer(printer):
                    log.warning("job %s: %s", job.id, message)
                    self._job_finished(await self.store.move(job.id, JobState.ERROR, now=time.time(), message=message))
        except Exception as error:  # start-up goes on: they only wait, as before
            log.error("cannot end the jobs of printers no longer configured: %s", error)

    async def close_clients(self, code: int = protocol.CLOSE_GOING_AWAY, reason: str = "server shutting down") -> None:
        clients = list(self.connections)
        if clients:
            await asyncio.gather(*(client.close(code, reason) for client in clients), return_exceptions=True)

    async def stop(self) -> None:
        """Drain, then close every client with 1001 (going away). Safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        await self.drain()
        await self.close_clients()
        if self._pruner is not None:
            self._pruner.cancel()
            await asyncio.gather(self._pruner, return_exceptions=True)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        try:
            await self.store.close()
        except Exception:
            log.exception("closing the spool failed")
        log.info("daemon stopped: %d jobs printed, %d failed", self.jobs_processed, self.jobs_failed)

    async def _abandon_unprinted(self) -> None:
        """Jobs not printed when the workers stopped are lost with this in-memory queue: tell their clients, rather
        than leaving them waiting for a result that cannot come. Every printer's pending list, not just the recent
        jobs: an old waiting job must not be missed (review item 8)."""
        jobs: list[Job] = []
        try:
            for printer in self.workers:
                jobs += await self.store.pending_for_printer(printer)
        except TicketError:
            return
        for job in jobs:
            if job.state in (JobState.QUEUED, JobState.WAITING):
                message = protocol.SHUTTING_DOWN
            elif job.state is JobState.PRINTING:  # cut off after shutdown_grace_seconds
                message = protocol.INTERRUPTED
            else:
                continue
            finished = await self.store.move(job.id, JobState.ERROR, now=time.time(), message=message)
            self._job_finished(finished)

    # --- jobs ------------------------------------------------------------------------------------------------

    async def accept(self, job: Job, sink: ResultSink) -> Job:
        """Queue a rendered job; its ``result`` will go to ``sink``, but only after :meth:`release_result` (called
        once the ``ack`` is on its way), so a fast printer can never overtake the ack. Raises ``OverflowError`` when
        the queue is full and ``DuplicateJob`` when the id was already accepted (neither stores anything)."""
        if not self.accepting:  # review item 7: stop began while the job rendered; an ack now could lose it
            raise NotAccepting(job.id)
        fresh = job.id not in self._routes
        if fresh:  # registered before the add: a worker may pick the job up as soon as it is stored
            self._routes[job.id] = _ResultRoute(sink)
        try:
            stored = await self.store.add(job, capacity=self.capacity)
        except BaseException:
            if fresh:
                self._routes.pop(job.id, None)
            raise
        self.workers[stored.printer].wake()
        self.metrics.job_accepted(stored)
        return stored

    def release_result(self, job_id: str) -> None:
        """The job's ``ack`` has been sent: its result may follow (at once, if the job already finished)."""
        route = self._routes.get(job_id)
        if route is None:
            return
        route.acked = True
        if route.held is not None:
            del self._routes[job_id]
            self._send_result(route.held, route.sink)

    def redirect_result(self, job_id: str, sink: ResultSink) -> None:
        """Send a pending job's result to ``sink`` instead (the client resent it from a new connection). After a
        restart there is no route yet (review item 1): one is made, held until :meth:`release_result` like a new
        job's, so the result follows the duplicate ``ack`` exactly once."""
        route = self._routes.get(job_id)
        if route is not None:
            route.sink = sink
        else:
            self._routes[job_id] = _ResultRoute(sink)

    def _job_finished(self, job: Job) -> None:
        self.metrics.job_finished(job)
        if job.state is JobState.SUCCESS:
            self.jobs_processed += 1
        else:
            self.jobs_failed += 1
        route = self._routes.get(job.id)
        if route is not None and not route.acked:  # held until the ack is out
            route.held = job
            return
        self._routes.pop(job.id, None)
        self._send_result(job, route.sink if route is not None else None)

    def _send_result(self, job: Job, sink: ResultSink | None) -> None:
        """Send a stored result to the connection that sent the job, else to its client's live connection. It is
        marked delivered only once written to the socket (:meth:`result_written`); until then a reconnecting client
        gets it again."""
        message = result_message(job)
        if sink is not None and _deliver(sink, message):
            return
        live = self._clients.get(job.client_id)
        if live is not None and live != sink:
            _deliver(live, message)

    def result_written(self, job_id: str) -> None:
        """A ``result`` left for its client (written to its socket, or in an HTTP response): do not resend it."""
        self._in_background(self._mark_delivered(job_id))

    async def _mark_delivered(self, job_id: str) -> None:
        try:
            await self.store.mark_delivered(job_id)
        except Exception as error:  # the client may get the result again on reconnect: harmless, ids are idempotent
            log.warning("cannot record that the result of job %s was delivered: %s", job_id, error)

    def _job_waiting(self, job: Job) -> None:
        """Issue item 5: tell the client its job waits for the printer (never before its ack)."""
        route = self._routes.get(job.id)
        message = protocol.job_waiting(job.id, job.message)
        if route is not None:
            if route.acked:
                _deliver(route.sink, message)
            return
        live = self._clients.get(job.client_id)
        if live is not None:
            _deliver(live, message)

    def _in_background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- clients that come back (issue item 6) ---------------------------------------------------------------

    async def attach_client(self, client_id: str, sink: ResultSink) -> None:
        """A connection identified as ``client_id`` opened: results of its jobs go there from now on, and those
        that finished while it was away are re-sent now, in acceptance order."""
        self._clients[client_id] = sink
        try:
            missed = await self.store.undelivered_results(client_id)
        except TicketError as error:
            log.error("cannot read the results owed to client %s: %s", client_id, error)
            return
        for job in missed:
            if job.id in self._routes:  # its own connection is about to get it after the ack
                continue
            if not _deliver(sink, result_message(job)):
                return

    def detach_client(self, client_id: str, sink: ResultSink) -> None:
        if self._clients.get(client_id) == sink:  # bound methods: equal, not identical
            del self._clients[client_id]

    # --- operator actions (dashboard) ------------------------------------------------------------------------

    async def cancel(self, job_id: str) -> Job | None:
        """Cancel a job still queued or waiting; None when there is no such job. Raises ``InvalidTransition``
        when it is printing or finished."""
        job = await self.store.get(job_id)
        if job is None:
            return None
        cancelled = await self.store.move(job_id, JobState.CANCELLED, now=time.time(), message=protocol.CANCELLED)
        self._job_finished(cancelled)
        return cancelled

    async def reprint(self, job_id: str) -> Job | None:
        """Queue a new copy of a stored job (new id ``<id>.reprint-N``); None when the job or its bytes are gone."""
        original = await self.store.get(job_id)
        if original is None or not original.data:
            return None
        if original.printer not in self.workers:  # review item 4: its printer was removed from the configuration
            raise TicketError(f"Printer '{original.printer}' is no longer configured", category=Category.PRINTER)
        now = time.time()
        for attempt in range(1, 100):
            copy = Job(
                id=f"{original.id}.reprint-{attempt}"[-64:],
                client_id=original.client_id,
                printer=original.printer,
                document=original.document,
                data=original.data,
                created_at=now,
                updated_at=now,
                notes=original.notes,
            )
            if await self.store.get(copy.id) is None:
                stored = await self.store.add(copy, capacity=self.capacity)
                self.workers[stored.printer].wake()
                return stored
        return None

    # --- housekeeping (issue item 7) -------------------------------------------------------------------------

    async def prune(self) -> int:
        spool = self.settings.spool
        older_than = time.time() - spool.retention_days * 86400
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
        """``/health`` ``spool``: rows stored, jobs pending, and how long the oldest pending one has waited."""
        try:
            size, pending, oldest = (
                await self.store.size(),
                await self.store.count_pending(),
                await self.store.oldest_pending(),
            )
        except TicketError as error:
            return {"status": "error", "mensaje": str(error)}
        waited = round(max(0.0, time.time() - oldest.created_at), 1) if oldest is not None else 0.0
        return {"status": "ok", "size": size, "pending": pending, "oldest_waiting_seconds": waited}

    async def queue_depth(self) -> int:
        return await self.store.count_pending()

    def uptime_seconds(self) -> int:
        return max(0, int(time.time() - self.started_at))

    def workers_running(self) -> bool:
        return bool(self.workers) and all(worker.running for worker in self.workers.values())

    # --- printers --------------------------------------------------------------------------------------------

    async def printer_states(self) -> dict[str, PrinterState]:
        """Every printer's state, checked concurrently, each bounded by ``status_timeout_seconds``, and reused for
        ``status_cache_seconds`` so clients polling cannot hammer the printers."""
        ttl = self.settings.server.status_cache_seconds
        if self._states is not None and time.monotonic() - self._states_at < ttl:
            return self._states
        async with self._states_lock:  # one check at a time; callers waiting here reuse its answer
            if self._states is not None and time.monotonic() - self._states_at < ttl:
                return self._states
            printers = self.registry.printers
            states = await asyncio.gather(*(self._check(printer) for printer in printers))
            self._states = {printer.name: state for printer, state in zip(printers, states, strict=True)}
            self._states_at = time.monotonic()
            return self._states

    async def _check(self, printer: ConfiguredPrinter) -> PrinterState:
        worker = self.workers[printer.name]
        # Review item 5: one connection to a printer at a time (TCP 9100 and USB refuse a second one). Mid-job the
        # last known state is reported; a job starting during the check waits for it (status_timeout_seconds).
        if worker.line.locked():
            return worker.last_state
        async with worker.line:
            return await self._probe(printer, worker)

    async def _probe(self, printer: ConfiguredPrinter, worker: PrinterWorker) -> PrinterState:
        try:
            transport = open_transport(
                printer.uri, dot_width=GENERIC_DOT_WIDTH, data_dir=self.settings.storage.data_dir
            )
        except TicketError:
            return PrinterState.error
        if not transport.can_read_status:
            return PrinterState.unknown
        try:
            async with asyncio.timeout(self.settings.server.status_timeout_seconds):
                await transport.open()
                state = await transport.status()
        except (TicketError, TimeoutError, OSError):
            state = PrinterState.offline
        except Exception:
            log.exception("status check of printer %s failed", printer.name)
            state = PrinterState.unknown
        finally:
            await transport.close()
        worker.last_state = state
        return state

    async def printers_report(self, *, discover: bool = False) -> tuple[list[dict[str, object]], dict[str, object]]:
        """(PrinterDetail list, PrinterSummary) as PROTOCOL.md ``printers`` and ``/health`` report them: the
        configured printers with their live state, then (``discover``) the OS's printers not configured yet."""
        states = await self.printer_states()
        details, summary = self.registry.details(states), self.registry.summary()
        if discover:
            return with_discovered(self.registry, details, await self.discovery.scan())
        return details, summary


@dataclass(slots=True)
class _ResultRoute:
    sink: ResultSink
    acked: bool = False
    held: Job | None = None  # the finished job, when it finished before its ack was sent


def _deliver(sink: ResultSink, message: protocol.Message) -> bool:
    try:
        return sink(message) is not False
    except Exception:
        log.exception("delivering a result failed")
        return False


def _is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_store(settings: Settings) -> JobStore:
    """The store ``[storage] spool`` asks for: the SQLite spool in the data dir, or the in-memory queue."""
    if settings.storage.spool == "memory":
        return MemoryJobStore(history=settings.server.job_history)
    return SqliteSpool(settings.storage.data_dir / SPOOL_FILE)


def result_message(job: Job) -> protocol.Message:
    return protocol.result(job.id, success=job.state is JobState.SUCCESS, mensaje=job.message)
