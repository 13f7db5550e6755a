"""The running daemon: settings, printers, the job queue, one worker per printer, stats and connected clients.

One :class:`Daemon` lives in ``app.state.daemon``; the app's lifespan calls :meth:`start` and :meth:`stop`.
Transports (``/ws``, later the HTTP mirror) hand it validated, rendered jobs with :meth:`accept` and a
:data:`ResultSink` saying where the job's ``result`` goes; the daemon owns everything after that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..document.errors import TicketError
from ..printers.registry import ConfiguredPrinter, PrinterRegistry
from ..printers.status import PrinterState
from ..printers.uri import open_transport
from ..service.config import ConfigError, Settings
from ..spool.jobs import Job, JobState
from ..spool.queue import JobStore, MemoryJobStore
from . import protocol
from .ratelimit import JobRateLimiter
from .rendering import GENERIC_DOT_WIDTH
from .security import OriginPolicy
from .workers import PrinterWorker

log = logging.getLogger(__name__)

# Where a finished job's ``result`` message goes (a connection's outbox). Must not block.
ResultSink = Callable[[protocol.Message], None]


class Client(Protocol):
    """A connected client, as the daemon sees it: something to close when the daemon stops."""

    async def close(self, code: int, reason: str) -> None: ...


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
        self.store: JobStore = store if store is not None else MemoryJobStore(history=server.job_history)
        self.capacity = server.queue_capacity
        self.rate_limiter = JobRateLimiter(server.rate_limit_per_minute)
        self.origin_policy = OriginPolicy(server.allowed_origins)
        self.jobs_processed = 0
        self.jobs_failed = 0
        self.started_at = time.time()
        self.accepting = False  # True between start() and the beginning of stop()
        self.connections: set[Client] = set()
        self.workers: dict[str, PrinterWorker] = {
            printer.name: PrinterWorker(
                printer,
                store=self.store,
                data_dir=settings.storage.data_dir,
                print_timeout=server.print_timeout_seconds,
                on_finished=self._job_finished,
            )
            for printer in self.registry.printers
        }
        self._routes: dict[str, _ResultRoute] = {}  # job id → where its result goes; bounded by the queue
        self._states: dict[str, PrinterState] | None = None  # explicit one-entry cache of printer states
        self._states_at = 0.0
        self._states_lock = asyncio.Lock()
        self._stopped = False

    # --- life-cycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.started_at = time.time()
        for worker in self.workers.values():
            worker.start()
        self.accepting = True
        log.info("daemon started with printers: %s", ", ".join(self.workers))

    async def drain(self) -> None:
        """Stop taking jobs; let each job being printed finish (bounded by ``shutdown_grace_seconds``)."""
        self.accepting = False
        grace = self.settings.server.shutdown_grace_seconds
        await asyncio.gather(*(worker.stop(grace) for worker in self.workers.values()))
        await self._abandon_unprinted()

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
        log.info("daemon stopped: %d jobs printed, %d failed", self.jobs_processed, self.jobs_failed)

    async def _abandon_unprinted(self) -> None:
        """Jobs not printed when the workers stopped are lost with this in-memory queue: tell their clients, rather
        than leaving them waiting for a result that cannot come."""
        for job in await self.store.recent(self.capacity + len(self.workers)):
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
        return stored

    def release_result(self, job_id: str) -> None:
        """The job's ``ack`` has been sent: its result may follow (at once, if the job already finished)."""
        route = self._routes.get(job_id)
        if route is None:
            return
        route.acked = True
        if route.held is not None:
            del self._routes[job_id]
            _deliver(route.sink, route.held)

    def redirect_result(self, job_id: str, sink: ResultSink) -> None:
        """Send a pending job's result to ``sink`` instead (the client resent it from a new connection)."""
        route = self._routes.get(job_id)
        if route is not None:
            route.sink = sink

    def _job_finished(self, job: Job) -> None:
        if job.state is JobState.SUCCESS:
            self.jobs_processed += 1
        else:
            self.jobs_failed += 1
        route = self._routes.get(job.id)
        if route is None:
            return
        if not route.acked:  # held until the ack is out
            route.held = result_message(job)
            return
        del self._routes[job.id]
        _deliver(route.sink, result_message(job))

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
        if worker.busy:  # a second connection to a printer mid-job would only time out
            return worker.last_state
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

    async def printers_report(self) -> tuple[list[dict[str, object]], dict[str, object]]:
        """(PrinterDetail list, PrinterSummary) as PROTOCOL.md ``printers`` and ``/health`` report them."""
        states = await self.printer_states()
        return self.registry.details(states), self.registry.summary()


@dataclass(slots=True)
class _ResultRoute:
    sink: ResultSink
    acked: bool = False
    held: protocol.Message | None = None  # the result, when the job finished before its ack was sent


def _deliver(sink: ResultSink, message: protocol.Message) -> None:
    try:
        sink(message)
    except Exception:
        log.exception("delivering a result failed")


def result_message(job: Job) -> protocol.Message:
    return protocol.result(job.id, success=job.state is JobState.SUCCESS, mensaje=job.message)
