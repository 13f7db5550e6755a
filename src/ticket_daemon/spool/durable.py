"""The async face of the durable spool: :class:`SqliteSpool` is a :class:`~ticket_daemon.spool.queue.JobStore`
whose every call runs on the one spool thread (:class:`StoreRunner`) against :class:`SqliteJobStore`.

The database is opened in :meth:`SqliteSpool.open` (the daemon's start-up), not in the constructor, so building the
app does no I/O. Until then, and after a failed open, every call raises :class:`StorageError`: the daemon answers
``STORAGE: …`` and keeps serving everything else (issue item 8).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .jobs import Job, JobState
from .runner import StoreRunner
from .store import SqliteJobStore, StorageError

T = TypeVar("T")

SPOOL_FILE = "spool.sqlite3"


class SqliteSpool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._runner = StoreRunner()
        self._store: SqliteJobStore | None = None
        self._closed = False

    @property
    def durable(self) -> bool:
        return True

    async def open(self, *, now: float, interrupted_policy: str) -> list[Job]:
        """Open (create, migrate) the file and recover: queued/waiting jobs resume; a job found ``printing`` is
        queued again or failed as ``interrupted_policy`` says. Returns the interrupted jobs."""
        if self._store is None:
            self._store = await self._runner.call(SqliteJobStore, self.path)
        store = self._store
        recovery = await self._runner.call(store.recover, now=now, policy=interrupted_policy)
        return list(recovery.interrupted)

    async def close(self) -> None:
        store, self._store, self._closed = self._store, None, True
        if store is not None:
            await self._runner.call(store.close)
        await asyncio.to_thread(self._runner.shutdown)  # waits for the spool thread: never on the event loop

    async def _call(self, method: Callable[[SqliteJobStore], T]) -> T:
        if self._closed:  # review item 7: a StorageError the daemon reports, not the shut runner's RuntimeError
            raise StorageError(f"the spool database {self.path} is closed")

        def run() -> T:
            if self._store is None:
                raise StorageError(f"the spool database {self.path} is not open")
            try:
                return method(self._store)
            except sqlite3.Error as error:  # reads outside a transaction, e.g. a corrupt page met late
                raise StorageError(f"the spool could not be read: {error}") from None

        return await self._runner.call(run)

    # --- JobStore ------------------------------------------------------------------------------------------------

    async def add(self, job: Job, *, capacity: int) -> Job:
        return await self._call(lambda store: store.add(job, capacity=capacity))

    async def move(
        self,
        job_id: str,
        target: JobState,
        *,
        now: float,
        message: str | None = None,
        attempts: int | None = None,
    ) -> Job:
        return await self._call(lambda store: store.move(job_id, target, now=now, message=message, attempts=attempts))

    async def get(self, job_id: str) -> Job | None:
        return await self._call(lambda store: store.get(job_id))

    async def next_for_printer(self, printer: str) -> Job | None:
        return await self._call(lambda store: store.next_for_printer(printer))

    async def count_pending(self) -> int:
        return await self._call(lambda store: store.count_pending())

    async def recent(self, limit: int = 50) -> list[Job]:
        return await self._call(lambda store: store.recent(limit))

    async def pending_for_printer(self, printer: str) -> list[Job]:
        return await self._call(lambda store: store.pending_for_printer(printer))

    async def pending_printers(self) -> list[str]:
        return await self._call(lambda store: store.pending_printers())

    async def mark_delivered(self, job_id: str) -> None:
        await self._call(lambda store: store.mark_delivered(job_id))

    async def undelivered_results(self, client_id: str) -> list[Job]:
        return await self._call(lambda store: store.undelivered_results(client_id))

    async def prune(self, *, older_than: float, max_rows: int) -> int:
        return await self._call(lambda store: store.prune(older_than=older_than, max_rows=max_rows))

    async def size(self) -> int:
        return await self._call(lambda store: store.size())

    async def oldest_pending(self) -> Job | None:
        return await self._call(lambda store: store.oldest_pending())
