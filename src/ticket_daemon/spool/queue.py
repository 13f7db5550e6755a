"""The job queue: global capacity, per-printer FIFO in acceptance order, and a bounded memory of finished jobs.

:class:`JobStore` is the small interface the server and the printer workers use; :class:`MemoryJobStore` keeps
everything in this process. A durable store (SQLite WAL) can replace it without touching the server: it only has to
honour the same contract: ``add`` is atomic (capacity and reused ids are checked in the same step that stores
the job), ``next_for_printer`` returns the oldest pending job of that printer, and ``move`` records one transition.
Ids are scoped (PROTOCOL.md "Idempotent ids, safely scoped"): unique per owner (``Job.client_id``) within the
duplicate window; a job's key is its ``seq``. Finished jobs keep their document and drop their rendered bytes.

The interface is async so a store that does disk I/O (run on its own thread) fits behind it unchanged; the memory
store never awaits inside a method, so each call is atomic on the event loop. Not thread-safe: event loop only.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from .faults import HEALTHY, StoreHealth
from .jobs import DEFAULT_DUPLICATE_WINDOW_SECONDS, DuplicateJob, IdConflict, Job, JobState, check_reuse

__all__ = ["DuplicateJob", "IdConflict", "JobKey", "JobStore", "MemoryJobStore", "QueueFull"]

# A job's key is its ``seq``: the client's id is unique only per owner within the duplicate window (``find``).
JobKey = int
# Printer data claimed at once beyond the first job (finish_and_claim): bounds one run sent as one stream.
CLAIM_MAX_BYTES = 1024 * 1024


def claimable(heads: Sequence[Job], max_bytes: int) -> list[Job]:
    """The jobs at the head of a printer's queue (oldest first) that one claim takes: those ``queued`` up to the
    first that is not, the first always and the others while their printer data fits in ``max_bytes``."""
    taken: list[Job] = []
    size = 0
    for head in heads:
        size += len(head.data or b"")
        if head.state is not JobState.QUEUED or (taken and size > max_bytes):
            break
        taken.append(head)
    return taken


class QueueFull(OverflowError):
    """``capacity`` jobs are pending; the job was not stored. (An OverflowError, as the SQLite store raises.)"""


class JobStore(Protocol):
    """What the server and the printer workers need from a job store (the SQLite store has the same shape)."""

    async def add(
        self,
        job: Job,
        *,
        capacity: int,
        window_seconds: float = DEFAULT_DUPLICATE_WINDOW_SECONDS,
        now: float | None = None,
    ) -> Job:
        """Store a new ``queued`` job and return it with its acceptance ``seq``, in one atomic step; a durable
        store returns only once the job is on disk.

        Raises :class:`DuplicateJob` (same document: a retry) or :class:`IdConflict` (another document) when the
        job's owner used its id within ``window_seconds`` before ``now`` (default ``job.created_at``); compares
        ``Job.digest``, which the caller sets (``jobs.document_digest`` of the client's document). Raises
        ``OverflowError`` when ``capacity`` jobs are pending, ``StorageError`` when the disk refuses.
        """
        ...

    async def move(
        self, key: JobKey, target: JobState, *, now: float, message: str | None = None, attempts: int | None = None
    ) -> Job:
        """Move a job along one edge of its life-cycle (guarded by ``jobs.check_transition``); returns it. A final
        state drops the rendered bytes. Raises ``KeyError`` for an unknown job, ``InvalidTransition``."""
        ...

    async def finish_and_claim(
        self,
        key: JobKey,
        target: JobState,
        *,
        now: float,
        message: str | None = None,
        limit: int = 1,
        max_bytes: int = CLAIM_MAX_BYTES,
    ) -> tuple[Job, list[Job]]:
        """Move a job to the final state ``target`` and, in the same atomic step, claim its printer's next jobs while
        they are ``queued`` (moved to ``printing``, one more attempt each), so a worker prints them without another
        write: at most ``limit`` jobs, and beyond the first at most ``max_bytes`` of printer data. A ``waiting`` head
        is not claimed. Returns (the finished job, the claimed ones in order); raises like :meth:`move` (nothing is
        claimed then)."""
        ...

    async def get(self, key: JobKey) -> Job | None:
        """The job with this ``seq``, or None."""
        ...

    async def find(self, owner: str, job_id: str, *, newer_than: float | None = None) -> Job | None:
        """The newest job ``owner`` sent with ``job_id`` (accepted after ``newer_than`` when given), or None."""
        ...

    @property
    def health(self) -> StoreHealth:
        """``ok``, or ``degraded`` with a reason while writes fail (``/health`` reports it)."""
        ...

    async def refresh_health(self) -> StoreHealth:
        """:attr:`health` as it is now: a durable store checks its file and its writes again (``/health``)."""
        ...

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

    async def mark_results_delivered(self, seqs: Sequence[int]) -> None:
        """The results of the jobs ``seqs`` reached their clients (those finished: a client that reconnects is not
        sent them again). One write for all of them, no read first."""
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
    """In-process :class:`JobStore`. Finished jobs are remembered without their bytes, up to ``history`` of them,
    for ``job_status``, reused ids and reprints; the oldest are forgotten first."""

    def __init__(self, *, history: int = 1000) -> None:
        self._history = max(0, history)
        self._pending: dict[int, Job] = {}  # seq → job
        self._finished: OrderedDict[int, Job] = OrderedDict()
        self._fifo: dict[str, deque[int]] = {}  # printer → pending seqs in acceptance order
        self._undelivered: set[int] = set()  # finished seqs (within history) whose result has not reached the client
        self._newest: dict[tuple[str, str], int] = {}  # (owner, id) → newest seq
        self._next_seq = 1

    @property
    def durable(self) -> bool:
        return False

    @property
    def health(self) -> StoreHealth:
        return HEALTHY

    async def refresh_health(self) -> StoreHealth:
        return self.health

    async def open(self, *, now: float, interrupted_policy: str) -> list[Job]:
        return []

    async def close(self) -> None:
        return None

    async def add(
        self,
        job: Job,
        *,
        capacity: int,
        window_seconds: float = DEFAULT_DUPLICATE_WINDOW_SECONDS,
        now: float | None = None,
    ) -> Job:
        if job.state is not JobState.QUEUED:
            raise ValueError(f"a new job must be queued, not {job.state.value}")
        existing = self._known(self._newest.get((job.client_id, job.id)))
        check_reuse(existing, job, window_seconds=window_seconds, now=job.created_at if now is None else now)
        if len(self._pending) >= capacity:
            raise QueueFull("queue full")
        stored = replace(job, seq=self._next_seq)
        self._next_seq += 1
        self._pending[stored.seq] = stored
        self._fifo.setdefault(stored.printer, deque()).append(stored.seq)
        self._newest[(stored.client_id, stored.id)] = stored.seq
        return stored

    async def move(
        self, key: JobKey, target: JobState, *, now: float, message: str | None = None, attempts: int | None = None
    ) -> Job:
        return self._move(key, target, now=now, message=message, attempts=attempts)

    def _move(
        self, key: JobKey, target: JobState, *, now: float, message: str | None = None, attempts: int | None = None
    ) -> Job:
        current = self._pending.get(key)
        if current is None:
            if key in self._finished:  # a finished job has no way out
                self._finished[key].moved(target, now=now)
            raise KeyError(key)
        moved = current.moved(target, now=now, message=message, attempts=attempts)
        if not moved.state.is_final:
            self._pending[current.seq] = moved
            return moved
        del self._pending[current.seq]
        queue = self._fifo[moved.printer]
        queue.remove(current.seq)
        if not queue:
            del self._fifo[moved.printer]
        if self._history:
            self._finished[current.seq] = moved  # without its bytes (Job.moved drops them)
            self._undelivered.add(current.seq)
            while len(self._finished) > self._history:
                self._forget(next(iter(self._finished)))
        else:
            self._forget(current.seq, moved)
        return moved

    async def finish_and_claim(
        self,
        key: JobKey,
        target: JobState,
        *,
        now: float,
        message: str | None = None,
        limit: int = 1,
        max_bytes: int = CLAIM_MAX_BYTES,
    ) -> tuple[Job, list[Job]]:
        # No await between the moves: atomic on the event loop, like the SQLite store's one transaction.
        if not target.is_final:
            raise ValueError(f"finish_and_claim needs a final state, not {target.value}")
        finished = self._move(key, target, now=now, message=message)
        heads = [self._pending[seq] for seq in itertools.islice(self._fifo.get(finished.printer, ()), limit)]
        return finished, [
            self._move(head.seq, JobState.PRINTING, now=now, attempts=head.attempts + 1)
            for head in claimable(heads, max_bytes)
        ]

    async def get(self, key: JobKey) -> Job | None:
        return self._known(key)

    async def find(self, owner: str, job_id: str, *, newer_than: float | None = None) -> Job | None:
        job = self._known(self._newest.get((owner, job_id)))
        if job is None or (newer_than is not None and job.created_at <= newer_than):
            return None
        return job

    def _known(self, seq: int | None) -> Job | None:
        if seq is None:
            return None
        return self._pending.get(seq) or self._finished.get(seq)

    def _forget(self, seq: int, job: Job | None = None) -> None:
        """Drop a finished job and the id lookups that still point to it."""
        job = self._finished.pop(seq, None) or job
        self._undelivered.discard(seq)
        if job is None:
            return
        if self._newest.get((job.client_id, job.id)) == seq:
            del self._newest[(job.client_id, job.id)]

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
        return [self._pending[seq] for seq in self._fifo.get(printer, ())]

    async def pending_printers(self) -> list[str]:
        return sorted({job.printer for job in self._pending.values()})

    async def mark_results_delivered(self, seqs: Sequence[int]) -> None:
        for seq in seqs:
            if seq in self._finished:
                self._undelivered.discard(seq)

    async def undelivered_results(self, client_id: str) -> list[Job]:
        jobs = [self._finished[seq] for seq in self._undelivered if self._finished[seq].client_id == client_id]
        return sorted(jobs, key=lambda job: job.seq)

    async def prune(self, *, older_than: float, max_rows: int) -> int:
        # The history bound already keeps this store small; age is the only extra rule.
        old = [seq for seq, job in self._finished.items() if job.updated_at < older_than]
        for seq in old:
            self._forget(seq)
        return len(old)

    async def size(self) -> int:
        return len(self._pending) + len(self._finished)

    async def oldest_pending(self) -> Job | None:
        return min(self._pending.values(), key=lambda job: job.seq, default=None)
