"""The job store's one interface: what the service, the printer workers and the doors need from a job store.

Two stores implement it: :class:`~ticket_daemon.store.memory.MemoryJobStore` keeps everything in this process;
:class:`~ticket_daemon.store.sqlite.SqliteSpool` keeps it in a SQLite file. Either can replace the other without
touching the server: each honours the same contract: ``add`` is atomic (capacity and reused ids are checked in the
same step that stores the job), ``next_for_printer`` returns the oldest pending job of that printer, and ``move``
records one transition. Ids are scoped (docs/protocol.md "Ids"): unique per owner
(``Job.client_id``) within the duplicate window; a job's key is its ``seq``. Finished jobs keep their document and
drop their rendered bytes.

The interface is async so a store that does disk I/O (run on its own thread) fits behind it unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .faults import StoreHealth
from .jobs import DEFAULT_DUPLICATE_WINDOW_SECONDS, Job, JobState

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


@dataclass(frozen=True, slots=True)
class SpoolFigures:
    """What ``/health`` and ``/metrics`` report of the store, read together (:meth:`JobStore.report`)."""

    size: int  # jobs stored, finished ones included
    pending: int  # jobs queued, printing or waiting
    oldest_pending: Job | None
    health: StoreHealth  # as it is now, as :meth:`JobStore.refresh_health` checks it


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

    async def report(self) -> SpoolFigures:
        """:meth:`size`, :meth:`count_pending`, :meth:`oldest_pending` and :meth:`refresh_health` read together; a
        store with its own thread reads them in one trip to it. Raises like :meth:`size` when the figures cannot be
        read; the health never raises (a check that fails is ``degraded`` with why)."""
        ...
