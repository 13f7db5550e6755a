"""The inline slot for prints while no render worker process is up (``pool.py``).

Starting a worker process takes several hundred milliseconds (its imports), so while none is up a print estimated
cheap enough renders in one of the daemon's inline threads, one at a time. A print that finds the slot taken
starts a worker (one per waiting print, up to the pool's size) and waits for whichever comes first: the slot
(handed over in arrival order as each inline render ends), or a worker ready to render (then it goes to the
workers, and so does every print after it). So a rush after a quiet spell prints at once instead of waiting for the
workers to start, and the workers are up for the load that may follow.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable, Iterable
from typing import Protocol

from .worker import WorkerStopped


class StartingWorker(Protocol):
    async def ready(self) -> None: ...


class ColdSlot:
    """The slot, its waiting prints in arrival order, and the workers being started for them."""

    def __init__(self, worker_running: Callable[[], bool]) -> None:
        self._worker_running = worker_running
        self._taken = False
        self._waiters: collections.deque[asyncio.Future[bool]] = collections.deque()
        self._watched: dict[StartingWorker, asyncio.Task[None]] = {}  # workers starting while prints wait

    async def take(self, start_workers: Callable[[], Iterable[StartingWorker]]) -> bool:
        """True once this print holds the slot (it renders inline, then calls :meth:`release`); False when a worker
        is up (it goes to the workers). A print that has to wait calls ``start_workers`` (the workers not up yet)."""
        if self._worker_running():
            return False
        if not self._taken:
            self._taken = True
            return True
        for worker in start_workers():
            if worker not in self._watched:
                self._watched[worker] = asyncio.get_running_loop().create_task(
                    self._tell_when_ready(worker), name="render-worker-watch"
                )
        turn: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            return await turn
        except asyncio.CancelledError:  # the client left, or the wait ran out of budget
            if turn.done() and not turn.cancelled() and turn.result():
                self.release()  # the slot was handed over just then: to the next one
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(turn)
            raise

    def release(self) -> None:
        """The inline render ended: the slot goes to the print that has waited longest, or is free."""
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(True)
                return
        self._taken = False

    def to_workers(self) -> None:
        """Every waiting print goes to the workers: one is up (or the pool closes, and they refuse it)."""
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(False)

    async def _tell_when_ready(self, worker: StartingWorker) -> None:
        try:
            with contextlib.suppress(WorkerStopped):  # one that cannot start leaves the prints to the slot
                await worker.ready()
                self.to_workers()
        finally:
            self._watched.pop(worker, None)
