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

from .jobs import DuplicateJob, Job, JobState

__all__ = ["DuplicateJob", "JobStore", "MemoryJobStore", "QueueFull"]


class QueueFull(OverflowError):
    """``capacity`` jobs are pending; the job was not stored. (An OverflowError, as the SQLite store raises.)"""


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

    @property
    def durable(self) -> bool:
        """True when accepted jobs outlive the process (they then stay queued across a stop)."""
        ...

    async def open(self, *, now: float, interrupted_policy: str) -> list[Job]:
        """Start-up: recover what a previous process left; returns the jobs found cut off mid-send."""
        ...

    async def close(self) -> None: ...

    async def pending_for_printer(self, printer: str) -> list[Job]:
        """Every pending job of ``printer``, oldest first."""
        ...

    async def pending_printers(self) -> list[str]:
        """The printers with pending jobs (start-up ends those of printers no longer configured)."""
        ...

    async def mark_delivered(self, job_id: str) -> None:
        """The job's final ``result`` reached its client."""
        ...

    async def undelivered_results(self, client_id: str) -> list[Job]:
        """Finished jobs of ``client_id`` whose result has not reached it yet, in acceptance order."""
        ...

    async def prune(self, *, older_than: float, max_rows: int) -> int:
        """Forget finished jobs older than ``older_than`` (wall clock) and beyond ``max_rows``; how many went."""
        ...

    async def size(self) -> int:
        """Jobs stored, finished ones included."""
        ...

    async def oldest_pending(self) -> Job | None: ...


class MemoryJobStore:
    """In-process :class:`JobStore`. Finished jobs are remembered without their document and bytes, up to
    ``history`` of them, for ``job_status`` and duplicate ids; the oldest are forgotten first."""

    def __init__(self, *, history: int = 1000) -> None:
        self._history = max(0, history)
        self._pending: dict[str, Job] = {}
        self._finished: OrderedDict[str, Job] = OrderedDict()
        self._fifo: dict[str, deque[str]] = {}  # printer → pending job ids in acceptance order
        self._undelivered: set[str] = set()  # finished ids (within history) whose result has not reached the client
        self._next_seq = 1

    @property
    def durable(self) -> bool:
        return False

    async def open(self, *, now: float, interrupted_policy: str) -> list[Job]:
        return []

    async def close(self) -> None:
        return None

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
            self._undelivered.add(job_id)
            while len(self._finished) > self._history:
                forgotten, _ = self._finished.popitem(last=False)
                self._undelivered.discard(forgotten)
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

    async def pending_for_printer(self, printer: str) -> list[Job]:
        return [self._pending[job_id] for job_id in self._fifo.get(printer, ())]

    async def pending_printers(self) -> list[str]:
        return sorted({job.printer for job in self._pending.values()})

    async def mark_delivered(self, job_id: str) -> None:
        self._undelivered.discard(job_id)

    async def undelivered_results(self, client_id: str) -> list[Job]:
        jobs = [self._finished[i] for i in self._undelivered if self._finished[i].client_id == client_id]
        return sorted(jobs, key=lambda job: job.seq)

    async def prune(self, *, older_than: float, max_rows: int) -> int:
        # The history bound already keeps this store small; age is the only extra rule.
        old = [job_id for job_id, job in self._finished.items() if job.updated_at < older_than]
        for job_id in old:
            del self._finished[job_id]
            self._undelivered.discard(job_id)
        return len(old)

    async def size(self) -> int:
        return len(self._pending) + len(self._finished)

    async def oldest_pending(self) -> Job | None:
        return min(self._pending.values(), key=lambda job: job.seq, default=None)
