"""The job queue: global capacity, per-printer FIFO in acceptance order, and a bounded memory of finished jobs.

:class:`JobStore` is the small interface the server and the printer workers use; :class:`MemoryJobStore` keeps
everything in this process. A durable store (SQLite WAL) can replace it without touching the server: it only has to
honour the same contract: ``add`` is atomic (capacity and duplicate ids are checked in the same step that stores
the job), ``next_for_printer`` returns the oldest pending job of that printer, and ``move`` records one transition.

The interface is async so a store that does disk I/O (run on its own thread) fits behind it unchanged; the memory
store never awaits inside a method, so each call is atomic on the event loop. Not thread-safe: event loop only.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import replace
from typing import Protocol

from .jobs import Job, JobState


class QueueFull(OverflowError):
    """``capacity`` jobs are pending; the job was not stored. (An OverflowError, as the SQLite store raises.)"""


class DuplicateJob(Exception):
    """A job with this id was already accepted; carries that job so the caller can report its state."""

    def __init__(self, existing: Job) -> None:
        super().__init__(f"job {existing.id!r} was already accepted")
        self.existing = existing


class JobStore(Protocol):
    """What the server and the printer workers need from a job store (the SQLite store has the same shape)."""

    async def add(self, job: Job, *, capacity: int) -> Job:
        """Store a new ``queued`` job and return it with its acceptance ``seq``, in one atomic step.

        Raises :class:`DuplicateJob` when the id is known, ``OverflowError`` when ``capacity`` jobs are pending.
        """
        ...

    async def move(
        self, job_id: str, target: JobState, *, now: float, message: str | None = None, attempts: int | None = None
    ) -> Job:
        """Move a job along one edge of its life-cycle (guarded by ``jobs.check_transition``); returns it."""
        ...

    async def get(self, job_id: str) -> Job | None: ...

    async def next_for_printer(self, printer: str) -> Job | None:
        """The oldest pending job routed to ``printer`` (per-printer FIFO by acceptance order), or None."""
        ...

    async def count_pending(self) -> int:
        """Jobs queued, printing or waiting, over all printers."""
        ...

    async def recent(self, limit: int = 50) -> list[Job]:
        """Up to ``limit`` jobs, newest accepted first."""
        ...


class MemoryJobStore:
    """In-process :class:`JobStore`. Finished jobs are remembered without their document and bytes, up to
    ``history`` of them, for ``job_status`` and duplicate ids; the oldest are forgotten first."""

    def __init__(self, *, history: int = 1000) -> None:
        self._history = max(0, history)
        self._pending: dict[str, Job] = {}
        self._finished: OrderedDict[str, Job] = OrderedDict()
        self._fifo: dict[str, deque[str]] = {}  # printer → pending job ids in acceptance order
        self._next_seq = 1

    async def add(self, job: Job, *, capacity: int) -> Job:
        existing = self._known(job.id)
        if existing is not None:
            raise DuplicateJob(existing)
        if len(self._pending) >= capacity:
            raise QueueFull("queue full")
        if job.state is not JobState.QUEUED:
            raise ValueError(f"a new job must be queued, not {job.state.value}")
        stored = replace(job, seq=self._next_seq)
        self._next_seq += 1
        self._pending[stored.id] = stored
        self._fifo.setdefault(stored.printer, deque()).append(stored.id)
        return stored

    async def move(
        self, job_id: str, target: JobState, *, now: float, message: str | None = None, attempts: int | None = None
    ) -> Job:
        current = self._pending.get(job_id)
        if current is None:
            raise KeyError(job_id)
        moved = current.moved(target, now=now, message=message, attempts=attempts)
        if not moved.state.is_final:
            self._pending[job_id] = moved
            return moved
        del self._pending[job_id]
        queue = self._fifo[moved.printer]
        queue.remove(job_id)
        if not queue:
            del self._fifo[moved.printer]
        if self._history:
            # The bytes and the document are what make a job big; the record is all job_status needs.
            self._finished[job_id] = replace(moved, data=None, document="")
            while len(self._finished) > self._history:
                self._finished.popitem(last=False)
        return moved

    async def get(self, job_id: str) -> Job | None:
        return self._known(job_id)

    def _known(self, job_id: str) -> Job | None:
        return self._pending.get(job_id) or self._finished.get(job_id)

    async def next_for_printer(self, printer: str) -> Job | None:
        queue = self._fifo.get(printer)
        return self._pending[queue[0]] if queue else None

    async def count_pending(self) -> int:
        return len(self._pending)

    async def recent(self, limit: int = 50) -> list[Job]:
        jobs = [*self._pending.values(), *self._finished.values()]
        jobs.sort(key=lambda job: job.seq, reverse=True)
        return jobs[: max(0, limit)]
