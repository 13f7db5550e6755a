"""One printer worker per configured printer (docs/architecture.md "One ticket's path").

Each worker is one asyncio task that takes its printer's jobs from the store in acceptance order and delivers them
(``delivery.py``: connect, check status, send, check status, close, or keep the link for the next job). Printers
therefore print in parallel, each keeps its own order, and a slow or dead printer only ever delays its own jobs.
When nothing waits for the printer, a kept link is closed (a network printer, a USB device or ``usblp`` serves one
at a time).

One store write per printed job: a job's final write also claims the printer's next job when it is ``queued``
(``finish_and_claim``: moved to ``printing`` in the same transaction), and the worker prints that one next without
reading the queue again. So a job is durably ``printing`` before any of its bytes go out and durably final before
its result is reported, as with separate writes. Only one job is claimed ahead, so after a crash at most the job
being sent, or the one just claimed, is reported interrupted. A claimed job that is not sent because the daemon
stops goes back to ``queued`` as it was. The final write goes out while the connection closes: once the printer
has taken every byte the job has printed, whatever closing does.

Printer outages: a retryable :class:`PrinterError` met *before* any byte was sent
(cannot connect; paper out, cover open or offline at the first status check) puts the job, and every job queued
behind it, in ``waiting`` with that sentence; the clients are told, and the worker tries again after a backoff
(``retry_initial_seconds`` doubling up to ``retry_max_seconds``; a stop wakes it at once, a new job does not).
A job waiting longer than ``job_ttl_seconds`` ends ``expired``.

A job is ``success`` only once the printer accepted every byte (the transport's ``send()`` returns then) and, where
status can be read, reported no fault after it. A job cut off once sending began (the link dropped or stalled, the
print timeout passed, a fault reported after it) follows ``interrupted_policy``: "reprint" puts it back in
``waiting`` with the reason and prints it again from its beginning once the printer is back (its result says it
was reprinted after an interruption; the printer may have printed part of the first attempt); "fail" ends it in
``error`` with the ``PRINTER:`` sentence, and a second copy is the operator's call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..document.errors import TicketError
from ..printers.registry import ConfiguredPrinter
from ..protocol import messages
from ..store.interface import JobStore
from ..store.jobs import InvalidTransition, Job, JobState
from .delivery import Delivery, NotSent
from .line import PrinterLine

log = logging.getLogger(__name__)

JobReport = Callable[[Job], None]
# When the store cannot be read, look again after this long rather than spin on a broken disk.
STORE_RETRY_SECONDS = 1.0
# Added to the reason a job cut off mid-send waits with, under interrupted_policy = "reprint".
REPRINT_PROMISE = "; it will be printed again from the start once the printer is back"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a worker waits for an unavailable printer (settings ``[spool]``)."""

    initial_seconds: float = 1.0
    max_seconds: float = 30.0
    job_ttl_seconds: float = 900.0

    def delay(self, failures: int) -> float:
        """Wait after the ``failures``-th failed attempt in a row: 1, 2, 4, … seconds, capped."""
        return float(min(self.max_seconds, self.initial_seconds * 2 ** max(0, failures - 1)))


class PrinterWorker:
    def __init__(
        self,
        printer: ConfiguredPrinter,
        *,
        store: JobStore,
        data_dir: Path,
        print_timeout: float,
        on_finished: JobReport,
        on_waiting: JobReport | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        claim_ahead: int = 1,
        reprint_interrupted: bool = True,
    ) -> None:
        self.printer = printer
        self._store = store
        self._data_dir = data_dir
        self._print_timeout = print_timeout
        self._on_finished = on_finished
        self._on_waiting = on_waiting
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._stop_requested = asyncio.Event()
        # Held while a job talks to the printer and while its status is checked; remembers the last state seen.
        self.line = PrinterLine()
        self._delivery = Delivery(printer, data_dir=data_dir, line=self.line, stopping=self._stop_requested.is_set)
        self._task: asyncio.Task[None] | None = None
        self._current: asyncio.Task[list[Job]] | None = None
        # How many queued jobs one final write may claim (a run sent over one connection); one for a printer whose
        # every job must be a job of its own (a spooler, the virtual printer).
        self._claim_limit = max(1, claim_ahead) if self._delivery.streams_jobs() else 1
        self._failures = 0  # failed attempts in a row (the backoff step); 0 while the printer works
        self._outage_since: float | None = None  # wall clock of the first failure of the current outage
        self._retry_at = 0.0  # monotonic time before which the printer is not tried again
        # (reads|writes, why) the store last failed this worker; None while it works. Reads may work while writes fail
        # (a full disk): only the kind that failed clears it, so the log does not flip between the two every second.
        self._store_trouble: tuple[str, str] | None = None
        self._reprints: set[int] = set()  # seqs of jobs resumed after a crash mid-send: their result says so
        # interrupted_policy: a job cut off mid-send is printed again from the start (True) or fails.
        self._reprint_interrupted = reprint_interrupted

    @property
    def name(self) -> str:
        return self.printer.name

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, reprints: set[int] | None = None) -> None:
        """Start the loop; ``reprints`` are the seqs of jobs recovered after an interrupted send (their result
        mentions it)."""
        self._reprints |= reprints or set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"printer-worker:{self.name}")

    def wake(self) -> None:
        """A job was added for this printer."""
        self._wakeup.set()

    async def stop(self, grace: float) -> None:
        """Take no new job; let the one printing finish for up to ``grace`` seconds, then cancel it."""
        self._stop_requested.set()
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
        claimed: list[Job] = []  # claimed by the last job's final write, not sent because the daemon stops
        try:
            while not self._stop_requested.is_set():
                try:
                    job = await self._store.next_for_printer(self.name)
                except Exception as error:
                    self._store_failed("reads", "cannot read the queue", error)
                    await self._delivery.release()
                    await self._sleep(STORE_RETRY_SECONDS)
                    continue
                self._store_works("reads")
                if job is None or job.state not in (JobState.QUEUED, JobState.WAITING):
                    await self._delivery.release()  # nothing waits: the printer is free for anyone else
                    # Clear before looking again: a job added after the look sets the event and is not missed.
                    await self._wakeup.wait()
                    self._wakeup.clear()
                    continue
                if await self._expire_if_stale(job):
                    continue
                backoff = self._retry_at - time.monotonic()
                if backoff > 0:
                    await self._sleep(backoff)
                    continue
                # The jobs run in their own task so stop() can wait for them without cancelling the loop mid-step.
                self._current = asyncio.create_task(self._print_in_order(job), name=f"print:{self.name}")
                claimed = await asyncio.shield(self._current)
            await self._unclaim(claimed)
        finally:
            await self._delivery.release()

    async def _print_in_order(self, job: Job) -> list[Job]:
        """Print ``job``, then each run of jobs a final write claimed, until none is claimed or the daemon stops.
        Returns jobs claimed but not sent (the daemon stops), for :meth:`_unclaim`."""
        claimed = await self._print([job])
        while claimed and not self._stop_requested.is_set():
            claimed = await self._print(claimed, claimed=True)
        return claimed

    async def _unclaim(self, jobs: list[Job]) -> None:
        """Claimed jobs that were not sent (the daemon stops, or the run ended early) go back to ``queued`` as they
        were (no attempt spent), so nothing reports them interrupted and they print in order. If the disk refuses, a
        job stays ``printing`` and start-up recovery decides (interrupted_policy), as for any job cut off by a stop."""
        for job in jobs:
            try:
                await self._store.move(job.seq, JobState.QUEUED, now=self._clock(), attempts=max(0, job.attempts - 1))
            except Exception as error:
                log.error("printer %s: cannot put job %s back in the queue: %s", self.name, job.id, error)

    async def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the daemon stops (never a busy loop, never a late shutdown)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), timeout=seconds)

    async def _expire_if_stale(self, job: Job) -> bool:
        """A job that waited for its printer longer than ``job_ttl_seconds`` ends ``expired``."""
        if job.state is not JobState.WAITING:
            return False
        waited_since = max(self._outage_since or job.updated_at, job.created_at)
        if self._clock() - waited_since <= self._retry.job_ttl_seconds:
            return False
        reason = job.message.removeprefix("PRINTER: ").removesuffix(REPRINT_PROMISE)
        waited = _duration(self._retry.job_ttl_seconds)
        message = f"PRINTER: Expired after waiting {waited} for printer '{self.name}' ({reason})"
        await self._finish(job, JobState.EXPIRED, message)
        return True

    async def _print(self, run: list[Job], *, claimed: bool = False) -> list[Job]:
        """Print ``run`` over one connection: one job read from the queue, or (``claimed``) the jobs the previous
        final write claimed, already durably ``printing``. Each job's final write goes out once the printer took
        it; the last one claims the next run, returned to be printed next without another read."""
        told = ""  # what the client was last told while the job waited (a claimed job was queued, never waiting)
        if not claimed:
            [job] = run
            told = job.message if job.state is JobState.WAITING else ""
            try:
                job = await self._store.move(job.seq, JobState.PRINTING, now=self._clock(), attempts=job.attempts + 1)
            except (InvalidTransition, KeyError) as error:  # cancelled meanwhile: the loop looks again
                log.info("printer %s: job %s not started (%s)", self.name, job.id, error)
                return []
            except Exception as error:  # the disk refused: the loop looks again
                self._store_failed("writes", f"cannot start job {job.id}", error)
                await self._sleep(STORE_RETRY_SECONDS)
                return []
            self._store_works("writes")
            run = [job]
        started = time.perf_counter()
        began: list[Job] = []  # jobs whose bytes started going out, in order
        finishing: list[asyncio.Task[list[Job]]] = []  # the final writes of the jobs the printer took, in order

        def printed(jobs: list[Job]) -> None:
            """The printer took every byte of ``jobs`` (and said so, where it can): they succeeded whatever closing
            the connection does, so their final writes (the last one claiming the next run) go out meanwhile."""
            elapsed_ms = round((time.perf_counter() - started) * 1000)
            self._printer_answered()
            for job in jobs:
                notes = (*job.notes, messages.REPRINTED) if job.seq in self._reprints else job.notes
                success = messages.print_completed(elapsed_ms, notes)
                final = self._finish(job, JobState.SUCCESS, success, claim_next=job is run[-1])
                finishing.append(asyncio.create_task(final))

        failure: str | None = None
        interrupted = False  # the printer stopped taking the job or reported a fault: it may work again later
        try:
            async with asyncio.timeout(self._print_timeout * len(run)):
                await self._delivery.deliver(run, began, printed)
        except NotSent as not_sent:
            # Nothing went out: the run's other jobs go back to the queue, and the first waits with those behind it.
            await self._unclaim(run[1:])
            await self._wait_for_printer(run[0], str(not_sent.error), tell=told != str(not_sent.error))
            return []
        except TicketError as error:
            failure, interrupted = str(error), error.retryable
        except TimeoutError:
            failure = f"PRINTER: Timed out printing on '{self.name}' after {self._print_timeout * len(run):.0f} s"
            interrupted = True
        except Exception:
            if len(finishing) < len(run):  # not after every job was printed (closing the connection failed)
                log.exception("printer %s: job %s failed unexpectedly", self.name, run[len(finishing)].id)
            failure = messages.INTERNAL_ERROR
        claimed_next = [await task for task in finishing]
        if len(finishing) == len(run):  # all printed: whatever happened while closing (a timeout) changes nothing
            return claimed_next[-1]
        # What began but was not confirmed is printed again or final (interrupted_policy); what never began goes back.
        cut_off, never_sent = began[len(finishing) :], run[len(began) :]
        if failure is not None and not began:  # refused before any byte (not retryable): the first job ends here
            cut_off, never_sent = run[:1], run[1:]
        if cut_off and interrupted and failure is not None and began and self._reprint_interrupted:
            await self._reprint_later(cut_off, never_sent, failure)
            return []
        await self._unclaim(never_sent)
        if not cut_off:  # the daemon stops between two jobs of the run
            return []
        self._printer_answered()
        for job in cut_off[:-1]:
            await self._finish(job, JobState.ERROR, failure or messages.INTERNAL_ERROR)
        return await self._finish(
            cut_off[-1], JobState.ERROR, failure or messages.INTERNAL_ERROR, claim_next=not never_sent
        )

    async def _reprint_later(self, cut_off: list[Job], never_sent: list[Job], reason: str) -> None:
        """interrupted_policy = "reprint": the cut-off jobs go back in line, to be printed again from their
        beginning (their results say so); the first waits for the printer with the reason, those behind it too."""
        self._reprints.update(job.seq for job in cut_off)
        for job in cut_off[1:]:  # began in the same write as the first: printed again after it, in order
            try:
                await self._store.move(job.seq, JobState.QUEUED, now=self._clock(), attempts=job.attempts)
            except Exception as error:
                log.error("printer %s: cannot put job %s back in the queue: %s", self.name, job.id, error)
        await self._unclaim(never_sent)
        await self._wait_for_printer(cut_off[0], reason + REPRINT_PROMISE, tell=True, others=reason)

    def _printer_answered(self) -> None:
        self._failures, self._outage_since, self._retry_at = 0, None, 0.0

    async def _wait_for_printer(self, job: Job, message: str, *, tell: bool, others: str | None = None) -> None:
        """The printer is unavailable: this job and those behind it wait (with ``others`` as their reason, when it
        differs from the first job's); try again after the backoff."""
        now = self._clock()
        self._failures += 1
        if self._outage_since is None:
            self._outage_since = now
        delay = self._retry.delay(self._failures)
        self._retry_at = time.monotonic() + delay
        log.warning("printer %s: %s; job %s waits, next try in %g s", self.name, message, job.id, delay)
        moved = await self._record_waiting(job, now, message)
        if moved is None:
            return
        try:
            waiting = [moved] if tell else []
            for other in await self._store.pending_for_printer(self.name):
                if other.state is JobState.QUEUED:
                    reason = message if others is None else others
                    waiting.append(await self._store.move(other.seq, JobState.WAITING, now=now, message=reason))
        except Exception:
            log.exception("printer %s: cannot record that job %s waits", self.name, job.id)
            return
        if self._on_waiting is not None:
            for record in waiting:
                try:
                    self._on_waiting(record)
                except Exception:
                    log.exception("printer %s: reporting that job %s waits failed", self.name, record.id)

    async def _record_waiting(self, job: Job, now: float, message: str) -> Job | None:
        """Move the job from ``printing`` to ``waiting``, retrying like :meth:`_finish`: a job left ``printing``
        would freeze this printer's queue. None when it ended meanwhile or the daemon stops."""
        while True:
            try:
                moved = await self._store.move(job.seq, JobState.WAITING, now=now, message=message)
            except (InvalidTransition, KeyError) as error:  # an operator cancelled it meanwhile
                log.info("printer %s: job %s already ended (%s)", self.name, job.id, error)
                return None
            except Exception as error:
                self._store_failed("writes", f"cannot record that job {job.id} waits", error)
                if self._stop_requested.is_set():
                    return None
                await self._sleep(STORE_RETRY_SECONDS)
            else:
                self._store_works("writes")
                return moved

    async def _finish(self, job: Job, target: JobState, message: str, *, claim_next: bool = False) -> list[Job]:
        """Record the job's final state, then report it. ``claim_next`` (the printer just answered, so no backoff
        applies): the same write claims the printer's next jobs while they are queued and the daemon is not
        stopping; they are returned, durably ``printing``, to be printed next. A stop that comes during the write
        is handled by the caller (the claim is undone)."""
        log.info("printer %s: job %s %s: %s", self.name, job.id, target.value, message)
        claimed: list[Job] = []
        while True:
            try:
                if claim_next and not self._stop_requested.is_set():
                    finished, claimed = await self._store.finish_and_claim(
                        job.seq, target, now=self._clock(), message=message, limit=self._claim_limit
                    )
                else:
                    finished = await self._store.move(job.seq, target, now=self._clock(), message=message)
                break
            except (InvalidTransition, KeyError) as error:  # an operator cancelled it meanwhile
                log.info("printer %s: job %s already ended (%s)", self.name, job.id, error)
                return []
            except Exception as error:
                # Keep trying (the disk may free up): giving up would leave the job "printing", and the next start
                # would print it again. Only a stop ends the attempts; then recovery decides (interrupted_policy).
                self._store_failed("writes", f"cannot record the end of job {job.id}", error)
                if self._stop_requested.is_set():
                    return []
                await self._sleep(STORE_RETRY_SECONDS)
        self._store_works("writes")
        self._reprints.discard(job.seq)
        try:
            self._on_finished(finished)
        except Exception:
            log.exception("printer %s: reporting job %s failed", self.name, job.id)
        return claimed

    def _store_failed(self, kind: str, what: str, error: Exception) -> None:
        """A store call failed; it is retried every second. Logged once per cause (with the traceback only for an
        unexpected kind of error), not at every retry: a disk fault must not flood the log."""
        if self._store_trouble == (kind, str(error)):
            return
        self._store_trouble = (kind, str(error))
        log.error(
            "printer %s: %s: %s (retrying every %g s)",
            self.name,
            what,
            error,
            STORE_RETRY_SECONDS,
            exc_info=not isinstance(error, TicketError),
        )

    def _store_works(self, kind: str) -> None:
        if self._store_trouble is not None and self._store_trouble[0] == kind:
            log.info("printer %s: the spool works again (%s succeed)", self.name, kind)
            self._store_trouble = None


def _duration(seconds: float) -> str:
    """``15 min`` or ``90 s``: how a shop assistant reads a wait."""
    return f"{seconds / 60:g} min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds:g} s"
