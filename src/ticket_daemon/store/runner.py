"""Runs the synchronous SQLite store on one dedicated thread, so the event loop never waits on the disk and SQLite
never sees two writers at once, and hands work over in batches (group commit).

Requests from the event loop go into one list; the spool thread takes everything in it at once: the writes are
committed together (one transaction, one fsync: ``commit_batch``), then the reads run against what was committed,
and all their callers are answered with one ``call_soon_threadsafe`` per event loop. Under load a batch holds many
requests, so the cost of the fsync and of each thread hop is shared; alone, a request is a batch of one.

A write nobody waits on (a result recorded as delivered) rides along: it joins the next batch another request
starts, and starts one of its own only after :data:`RIDE_ALONG_SECONDS`, so under load it never costs a commit (an
fsync and two thread hops) by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

Outcome = tuple[bool, Any]  # (True, result) or (False, the exception the request raised)
CommitBatch = Callable[[Sequence[Callable[[], object]]], list[Outcome]]

DEFAULT_MAX_BATCH = 512  # bounds one transaction's work (and a reader's wait behind it) under a burst
# How long a write that rides along waits for a batch to join before it starts its own: under load another write
# comes within milliseconds; an idle daemon commits it this much later (and a stop, at once).
RIDE_ALONG_SECONDS = 0.1


@dataclass(slots=True)
class _Request:
    function: Callable[[], object]
    writes: bool
    future: asyncio.Future[Any]


class StoreRunner:
    def __init__(
        self,
        commit_batch: CommitBatch,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        ride_along_seconds: float = RIDE_ALONG_SECONDS,
    ) -> None:
        self._ride_along_seconds = ride_along_seconds
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._commit_batch = commit_batch
        self._max_batch = max(1, max_batch)
        self._lock = threading.Lock()
        self._queued: list[_Request] = []
        self._riding: list[_Request] = []  # writes that join the next batch (write_along)
        self._draining = False  # a drain is scheduled or running on the spool thread

    async def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` alone on the spool thread (open, close, start-up recovery)."""
        return await asyncio.wrap_future(self._executor.submit(function))

    def submit(self, function: Callable[[], T]) -> Future[T]:
        """Run ``function`` alone on the spool thread without waiting for it."""
        return self._executor.submit(function)

    async def write(self, function: Callable[[], T]) -> T:
        """Run ``function`` inside the next group commit; returns once that commit is durable."""
        return await self._enqueue(function, writes=True)  # type: ignore[no-any-return]

    async def read(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the spool thread after the next group commit."""
        return await self._enqueue(function, writes=False)  # type: ignore[no-any-return]

    async def write_along(self, function: Callable[[], T]) -> T:
        """Run ``function`` inside the next group commit another request starts, or in one of its own after
        ``ride_along_seconds``; returns once that commit is durable."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            self._riding.append(_Request(function, True, future))
        timer = loop.call_later(self._ride_along_seconds, self.flush)
        try:
            return await future  # type: ignore[no-any-return]
        finally:
            timer.cancel()

    def flush(self) -> None:
        """Start a batch for the writes riding along now (a stop: before the store closes)."""
        with self._lock:
            self._queued += self._riding
            self._riding = []
            start = bool(self._queued) and not self._draining
            self._draining = self._draining or start
        if start:
            self._executor.submit(self._drain)

    async def _enqueue(self, function: Callable[[], object], *, writes: bool) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._queued.append(_Request(function, writes, future))
            start = not self._draining
            self._draining = True
        if start:
            self._executor.submit(self._drain)
        return await future

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)

    # --- the spool thread ------------------------------------------------------------------------------------

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queued:
                    self._draining = False
                    return
                batch, self._queued = self._queued[: self._max_batch], self._queued[self._max_batch :]
                batch += self._riding
                self._riding = []
            self._run(batch)

    def _run(self, batch: list[_Request]) -> None:
        writes = [request for request in batch if request.writes]
        answers: list[tuple[asyncio.Future[Any], Outcome]] = []
        if writes:
            try:
                outcomes = self._commit_batch([request.function for request in writes])
            except BaseException as error:  # a bug in the store: every writer hears of it, none hangs
                outcomes = [(False, error)] * len(writes)
            answers += zip((request.future for request in writes), outcomes, strict=True)
        for request in batch:
            if request.writes:
                continue
            try:
                answers.append((request.future, (True, request.function())))
            except BaseException as error:
                answers.append((request.future, (False, error)))
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Outcome]]] = {}
        for future, outcome in answers:
            by_loop.setdefault(future.get_loop(), []).append((future, outcome))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that event loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, settled)


def _settle(answers: list[tuple[asyncio.Future[Any], Outcome]]) -> None:
    for future, (ok, value) in answers:
        if future.done():  # the caller was cancelled meanwhile
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
