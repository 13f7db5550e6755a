"""One printer worker per configured printer (DESIGN.md: "printer worker (one per printer)").

Each worker is one asyncio task that takes its printer's jobs from the store in acceptance order and delivers them
through a fresh transport per job (like a CUPS backend: connect, check status, send, close). Printers therefore
print in parallel, each keeps its own order, and a slow or dead printer only ever delays its own jobs. A job gets
one attempt for now; a failed one ends in ``error`` with the ``PRINTER: …`` sentence. The retry/waiting states of
``spool/jobs.py`` are where the durable spool will hook in (``PrinterError.retryable`` says which errors qualify).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from ..document.errors import TicketError
from ..printers.base import Transport
from ..printers.registry import ConfiguredPrinter
from ..printers.status import PrinterState, state_error
from ..printers.uri import open_transport
from ..spool.jobs import Job, JobState
from ..spool.queue import JobStore
from . import protocol
from .rendering import dot_width_of

log = logging.getLogger(__name__)

JobFinished = Callable[[Job], None]


class PrinterWorker:
    def __init__(
        self,
        printer: ConfiguredPrinter,
        *,
        store: JobStore,
        data_dir: Path,
        print_timeout: float,
        on_finished: JobFinished,
    ) -> None:
        self.printer = printer
        self._store = store
        self._data_dir = data_dir
        self._print_timeout = print_timeout
        self._on_finished = on_finished
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._current: asyncio.Task[None] | None = None
        # What the last attempt learnt about the printer; reported while a job is printing (a second
        # connection to a busy network printer would only time out).
        self.last_state = PrinterState.unknown

    @property
    def name(self) -> str:
        return self.printer.name

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def busy(self) -> bool:
        return self._current is not None and not self._current.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"printer-worker:{self.name}")

    def wake(self) -> None:
        """A job was added for this printer."""
        self._wakeup.set()

    async def stop(self, grace: float) -> None:
        """Take no new job; let the one printing finish for up to ``grace`` seconds, then cancel it."""
        self._stopping = True
        self._wakeup.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=grace)
        except TimeoutError:
            log.warning("printer %s: job still printing after %g s, cancelling it", self.name, grace)
            for task in (self._current, self._task):
                if task is not None:
                    task.cancel()
            await asyncio.gather(*(t for t in (self._current, self._task) if t is not None), return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                job = await self._store.next_for_printer(self.name)
            except Exception:
                log.exception("printer %s: cannot read the queue", self.name)
                job = None
            if job is None or job.state is not JobState.QUEUED:
                # Clear before looking again: a job added after the look sets the event and is not missed.
                await self._wakeup.wait()
                self._wakeup.clear()
                continue
            # The job runs in its own task so stop() can wait for it without cancelling the loop mid-step.
            self._current = asyncio.create_task(self._print(job), name=f"print:{job.id}")
            await asyncio.shield(self._current)

    async def _print(self, job: Job) -> None:
        try:
            job = await self._store.move(job.id, JobState.PRINTING, now=time.time(), attempts=job.attempts + 1)
        except Exception:
            log.exception("printer %s: cannot start job %s", self.name, job.id)
            return
        started = time.perf_counter()
        success, message = False, protocol.INTERNAL_ERROR
        try:
            async with asyncio.timeout(self._print_timeout):
                await self._deliver(job)
        except TicketError as error:
            message = str(error)
        except TimeoutError:
            message = f"PRINTER: Timed out printing on '{self.name}' after {self._print_timeout:.0f} s"
        except Exception:
            log.exception("printer %s: job %s failed unexpectedly", self.name, job.id)
        else:
            elapsed_ms = round((time.perf_counter() - started) * 1000)
            success, message = True, protocol.print_completed(elapsed_ms, job.notes)
        target = JobState.SUCCESS if success else JobState.ERROR
        log.info("printer %s: job %s %s: %s", self.name, job.id, target.value, message)
        try:
            finished = await self._store.move(job.id, target, now=time.time(), message=message)
        except Exception:
            log.exception("printer %s: cannot record the end of job %s", self.name, job.id)
            return
        try:
            self._on_finished(finished)
        except Exception:
            log.exception("printer %s: reporting job %s failed", self.name, job.id)

    async def _deliver(self, job: Job) -> None:
        if not job.data:
            raise TicketError("job has no rendered bytes")
        dot_width = await asyncio.to_thread(dot_width_of, job.document, self.printer.model)
        transport = open_transport(self.printer.uri, dot_width=dot_width, data_dir=self._data_dir)
        try:
            try:
                await transport.open()
            except TicketError:
                self.last_state = PrinterState.offline
                raise
            # DESIGN.md: status check before and after sending (DLE EOT). Before: "Paper out" beats a silently lost
            # receipt. After: the reply queues behind the job's bytes, so it also confirms the printer took them
            # all (and catches a fault that happened mid-job).
            await self._check_status(transport)
            await transport.send(job.data)
            await self._check_status(transport)
        finally:
            await transport.close()

    async def _check_status(self, transport: Transport) -> None:
        if not transport.can_read_status:
            return
        state = await transport.status()
        self.last_state = state
        problem = state_error(state)
        if problem is not None:
            raise problem
