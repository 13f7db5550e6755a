"""The async face of the durable spool: :class:`SqliteSpool` is a :class:`~ticket_daemon.store.interface.JobStore`
whose every call runs on the one spool thread (:class:`StoreRunner`) against :class:`SqliteJobStore`, writes in
group commits (one transaction and one fsync for every write waiting; each caller hears back after that commit).

The database is opened in :meth:`SqliteSpool.open` (the daemon's start-up), not in the constructor, so building the
app does no I/O. Until then, and after a failed open, every call raises :class:`StorageError`: the daemon answers
``STORAGE: …`` and keeps serving everything else.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from .database import SqliteJobStore, StorageError
from .faults import DEFAULT_RESERVE_BYTES, StoreHealth
from .interface import CLAIM_MAX_BYTES, JobKey, SpoolFigures
from .jobs import DEFAULT_DUPLICATE_WINDOW_SECONDS, Job, JobState
from .newjobs import NewJob
from .runner import DEFAULT_MAX_BATCH, RIDE_ALONG_SECONDS, Outcome, StoreRunner

T = TypeVar("T")

SPOOL_FILE = "spool.sqlite3"


class SqliteSpool:
    def __init__(
        self,
        path: Path,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        reserve_bytes: int = DEFAULT_RESERVE_BYTES,
        clock: Callable[[], float] = time.monotonic,
        ride_along_seconds: float = RIDE_ALONG_SECONDS,
    ) -> None:
        """``ride_along_seconds``: how long a write nobody waits on waits for a batch to join (``runner.py``)."""
        self.path = path
        self._runner = StoreRunner(self._commit_batch, max_batch=max_batch, ride_along_seconds=ride_along_seconds)
        self._reserve_bytes = reserve_bytes
        self._clock = clock
        self._store: SqliteJobStore | None = None
        self._closed = False

    @property
    def durable(self) -> bool:
        return True

    @property
    def health(self) -> StoreHealth:
        """``ok``, or ``degraded`` with why, as the spool thread last saw it (:meth:`refresh_health` looks now).
        While degraded, asking also has the spool thread look again, in the background."""
        store = self._store
        if store is None:
            return StoreHealth("degraded", f"the spool database {self.path} is not open")
        if not store.health.ok and not self._closed:
            self._runner.submit(store.check_health)
        return store.health

    async def refresh_health(self) -> StoreHealth:
        """The health as it is now (``/health``): on the spool thread, the file is checked again, a full disk looked
        at again and, after a failed write, a write tried (``SqliteJobStore.check_health``)."""
        store = self._store
        if store is None or self._closed:
            return self.health
        try:
            return await self._runner.read(store.check_health)
        except Exception as error:  # a bug or a closed runner: never a failed /health
            return _unchecked(error)

    async def open(self, *, now: float, interrupted_policy: str) -> list[Job]:
        """Open (create, migrate, check) the file and recover: queued/waiting jobs resume; a job found ``printing``
        is queued again or failed as ``interrupted_policy`` says. Returns the interrupted jobs."""
        if self._store is None:
            self._store = await self._runner.call(
                functools.partial(SqliteJobStore, self.path, reserve_bytes=self._reserve_bytes, clock=self._clock)
            )
        store = self._store
        recovery = await self._runner.call(functools.partial(store.recover, now=now, policy=interrupted_policy))
        return list(recovery.interrupted)

    async def close(self) -> None:
        """Refuse new calls; writes already handed over are still committed (the spool thread runs them before the
        close), so a result recorded during shutdown is not lost."""
        self._closed = True
        store = self._store
        if store is not None:
            self._runner.flush()  # the writes riding along are committed before the close
            await self._runner.call(store.close)
        self._store = None
        await asyncio.to_thread(self._runner.shutdown)  # waits for the spool thread: never on the event loop

    def _commit_batch(self, operations: Sequence[Callable[[], object]]) -> list[Outcome]:
        store = self._store
        if store is None:
            return [(False, StorageError(f"the spool database {self.path} is not open"))] * len(operations)
        return store.write_batch(operations)

    def _open_store(self) -> SqliteJobStore:
        if self._closed:  # a StorageError the daemon reports, not the shut runner's RuntimeError
            raise StorageError(f"the spool database {self.path} is closed")
        if self._store is None:
            raise StorageError(f"the spool database {self.path} is not open")
        return self._store

    async def _read(self, method: Callable[[SqliteJobStore], T]) -> T:
        store = self._open_store()

        def run() -> T:
            try:
                return method(store)
            except sqlite3.Error as error:  # reads outside a transaction, e.g. a corrupt page met late
                raise StorageError(f"the spool could not be read: {error}") from None

        return await self._runner.read(run)

    # --- JobStore ------------------------------------------------------------------------------------------------

    async def add(
        self,
        job: Job,
        *,
        capacity: int,
        window_seconds: float = DEFAULT_DUPLICATE_WINDOW_SECONDS,
        now: float | None = None,
    ) -> Job:
        return await self._runner.write(NewJob(self._open_store(), job, capacity, window_seconds, now))

    async def move(
        self,
        key: JobKey,
        target: JobState,
        *,
        now: float,
        message: str | None = None,
        attempts: int | None = None,
    ) -> Job:
        return await self._runner.write(
            functools.partial(self._open_store().do_move, key, target, now, message, attempts)
        )

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
        return await self._runner.write(
            functools.partial(self._open_store().do_finish_and_claim, key, target, now, message, limit, max_bytes)
        )

    async def mark_results_delivered(self, seqs: Sequence[int]) -> None:
        # Nobody waits on this record (it spares a client that reconnects a harmless resend): it rides along with
        # the next commit instead of making one.
        await self._runner.write_along(functools.partial(self._open_store().do_mark_results_delivered, tuple(seqs)))

    async def prune(self, *, older_than: float, max_rows: int) -> int:
        return await self._runner.write(functools.partial(self._open_store().do_prune, older_than, max_rows))

    async def get(self, key: JobKey) -> Job | None:
        return await self._read(lambda store: store.get(key))

    async def find(self, owner: str, job_id: str, *, newer_than: float | None = None) -> Job | None:
        return await self._read(lambda store: store.find(owner, job_id, newer_than=newer_than))

    async def next_for_printer(self, printer: str) -> Job | None:
        return await self._read(lambda store: store.next_for_printer(printer))

    async def count_pending(self) -> int:
        # Kept in memory and published after each commit: no query, no trip to the spool thread.
        return self._open_store().pending_total

    async def recent(self, limit: int = 50) -> list[Job]:
        return await self._read(lambda store: store.recent(limit))

    async def pending_for_printer(self, printer: str) -> list[Job]:
        return await self._read(lambda store: store.pending_for_printer(printer))

    async def pending_printers(self) -> list[str]:
        return list(self._open_store().pending_printer_names)

    async def undelivered_results(self, client_id: str) -> list[Job]:
        return await self._read(lambda store: store.undelivered_results(client_id))

    async def size(self) -> int:
        return await self._read(lambda store: store.size())

    async def oldest_pending(self) -> Job | None:
        return await self._read(lambda store: store.oldest_pending())

    async def report(self) -> SpoolFigures:
        """In one trip to the spool thread (two thread hops for all of ``/health``): what :meth:`size`,
        :meth:`count_pending` and :meth:`oldest_pending` read, then the health as :meth:`refresh_health` checks it.
        Raises :class:`StorageError` as those reads do; a health check that fails is ``degraded``, never raised."""
        store = self._open_store()

        def run() -> SpoolFigures:
            try:
                size, pending, oldest = store.size(), store.pending_total, store.oldest_pending()
            except sqlite3.Error as error:  # as _read
                raise StorageError(f"the spool could not be read: {error}") from None
            try:
                health = store.check_health()
            except Exception as error:  # as refresh_health: never a failed /health
                health = _unchecked(error)
            return SpoolFigures(size, pending, oldest, health)

        return await self._runner.read(run)


def _unchecked(error: Exception) -> StoreHealth:
    """The health when checking it failed: ``degraded`` with why, so ``/health`` still answers."""
    return StoreHealth("degraded", f"the spool's health cannot be checked: {error}")
