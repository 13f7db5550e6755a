"""The in-process job store: global capacity, per-printer FIFO in acceptance order, and a bounded memory of finished
jobs. It never awaits inside a method, so each call is atomic on the event loop. Not thread-safe: event loop only.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from collections.abc import Sequence

from .faults import HEALTHY, StoreHealth
from .interface import CLAIM_MAX_BYTES, JobKey, QueueFull, SpoolFigures, claimable
from .jobs import DEFAULT_DUPLICATE_WINDOW_SECONDS, Job, JobState, check_reuse


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
        stored = job.numbered(self._next_seq)
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

    async def report(self) -> SpoolFigures:
        # No await suspends here (each read is immediate): the figures are of one moment.
        size, pending, oldest = await self.size(), await self.count_pending(), await self.oldest_pending()
        return SpoolFigures(size, pending, oldest, await self.refresh_health())
