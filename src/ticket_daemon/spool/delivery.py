"""Delivering a run of jobs to one printer (docs/architecture.md "One ticket's path", hops 15–16).

Open the link and read the status, or take the link the last run kept open; send each job and read the status after
it; then close the link, or keep it for the next run when the link can carry another job (a network printer, a
device node or file, a serial or USB line, unless configured ``connection=per-job``) and the daemon is not stopping.
While a link is kept, the printer's line says so, and a status check answers the state the jobs last read instead of
opening a second connection (a network printer, a USB device or ``usblp`` serves one at a time).

Status is read before and after sending (DLE EOT). Before: "Paper out" beats a silently lost receipt, and nothing
was printed, so the job can wait and retry (:class:`NotSent`). After: the reply queues behind the job's bytes, so it
also confirms the printer took them all and catches a fault that happened mid-job. Over a link that gives no status
back, a run goes out in a few writes of several jobs (the device prints what arrives, in order).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..document.errors import TicketError
from ..printers.base import Transport
from ..printers.registry import ConfiguredPrinter
from ..printers.status import PrinterState, state_error
from ..printers.uri import open_transport
from ..store.jobs import Job
from .line import PrinterLine

# A run for a link without status read-back goes out in writes of about this much: few writes for a fast device,
# while on a slow one a job's result waits for at most this much printing (a write returns once the device took it).
STREAM_WRITE_BYTES = 32 * 1024


class NotSent(Exception):
    """A retryable printer problem met before the job's first byte went out: the job may wait and retry."""

    def __init__(self, error: TicketError) -> None:
        super().__init__(str(error))
        self.error = error


class Delivery:
    """One printer's link, as its worker uses it: :meth:`deliver` runs, :meth:`release` a kept link."""

    def __init__(
        self, printer: ConfiguredPrinter, *, data_dir: Path, line: PrinterLine, stopping: Callable[[], bool]
    ) -> None:
        self._printer = printer
        self._data_dir = data_dir
        self._dot_width = printer.dot_width
        model = printer.printer_model  # a virtual printer draws with its model's ESC t table
        self._codecs = model.codecs if model is not None else None
        self._line = line
        self._stopping = stopping
        self._kept: Transport | None = None  # the last run's open link, for the next run

    def _transport(self) -> Transport:
        # The jobs were laid out for this printer's paper at intake; the printer knows its own width.
        return open_transport(
            self._printer.parsed_uri, dot_width=self._dot_width, data_dir=self._data_dir, codecs=self._codecs
        )

    def streams_jobs(self) -> bool:
        """Whether several jobs may follow one another as one byte stream on this printer's link."""
        try:  # builds the transport object only (no I/O) to ask what kind of link it is
            return self._transport().streams_jobs
        except Exception:
            return False

    async def release(self) -> None:
        """Close the link kept open for a next run (gracefully: its jobs are confirmed already)."""
        link, self._kept = self._kept, None
        self._line.kept_open = False
        if link is not None:
            await link.close()

    async def deliver(self, run: list[Job], began: list[Job], printed: Callable[[list[Job]], None]) -> None:
        """Deliver ``run`` (see the module's docstring); ``began`` gets each job as its bytes start going out and
        ``printed(jobs)`` is called once they are on paper, before closing. Raises :class:`NotSent` for a retryable
        problem before any byte; any other failure leaves the jobs of ``began`` not yet printed cut off."""
        kept, self._kept = self._kept, None
        self._line.kept_open = False
        if kept is not None and not kept.can_take_another_job():  # the printer hung up meanwhile, say
            await kept.close()
            kept = None
        transport = kept or self._transport()
        keep = False
        async with self._line.hold():  # talk to the printer alone; a status check waits
            try:
                if kept is None:  # over a kept link, the last job's status answer, read just now, is the check
                    await self._open(transport)
                # From here on a failure follows interrupted_policy (part of the job may be on paper).
                if len(run) > 1 and not transport.can_read_status and all(job.data for job in run):
                    for chunk in _chunks(run, STREAM_WRITE_BYTES):
                        if began and self._stopping():
                            return  # the rest of the run goes back to the queue
                        began.extend(chunk)
                        await transport.send(b"".join(job.data or b"" for job in chunk))
                        printed(chunk)
                else:
                    for job in run:
                        if began and self._stopping():
                            return  # the rest of the run goes back to the queue
                        began.append(job)
                        if not job.data:
                            raise TicketError("job has no rendered bytes")
                        await transport.send(job.data)
                        await self._check_status(transport)
                        printed([job])
                keep = not self._stopping() and transport.can_take_another_job()
            finally:
                if keep:
                    self._kept = transport
                    self._line.kept_open = True
                else:
                    await transport.close()

    async def _open(self, transport: Transport) -> None:
        """Connect and read the status before the first job; a retryable problem is :class:`NotSent`."""
        try:
            try:
                await transport.open()
            except TicketError:
                self._line.record(PrinterState.offline)
                raise
            await self._check_status(transport)
        except TicketError as error:
            if error.retryable:
                raise NotSent(error) from None
            raise

    async def _check_status(self, transport: Transport) -> None:
        if not transport.can_read_status:
            return
        state = await transport.status()
        self._line.record(state)
        problem = state_error(state)
        if problem is not None:
            raise problem


def _chunks(run: list[Job], max_bytes: int) -> list[list[Job]]:
    """The run in consecutive groups of at most ``max_bytes`` of printer data (a bigger job is a group of its own)."""
    chunks: list[list[Job]] = []
    size = 0
    for job in run:
        length = len(job.data or b"")
        if chunks and size + length <= max_bytes:
            chunks[-1].append(job)
            size += length
        else:
            chunks.append([job])
            size = length
    return chunks
