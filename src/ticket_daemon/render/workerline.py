"""Render workers handed to waiting renders in arrival order (``pool.py``).

A worker that comes free goes straight to the render that has waited longest and may take it, and a render that
comes while others wait queues behind them (unless none of them may take the worker that is free). Handing the
worker over, instead of waking the first waiter to come and look, is what keeps the order: a render arriving
between the wake-up and the look would take the free worker, and the woken one would queue again at the back, so
under a rush some tills would wait several times longer than the rest. Only the render handed a worker takes a
step on the event loop.

A render marked heavy may take a worker only while fewer than ``heavy_share`` heavy ones hold one: a heavy one
first in line that may not take a free worker lets the first one behind it that may go first.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable
from typing import Generic, TypeVar

W = TypeVar("W")


class WorkerLine(Generic[W]):
    """The idle workers (:attr:`idle`, the pool's to make and replace) and the renders waiting for one."""

    def __init__(self, heavy_share: int, *, up: Callable[[W], bool]) -> None:
        self.heavy_share = heavy_share
        self.idle: list[W] = []
        self.heavy_busy = 0  # workers held by heavy renders
        self._up = up  # a worker whose process is running is handed out before one that would have to start
        self._waiting: collections.deque[tuple[asyncio.Future[W], bool]] = collections.deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def take(self, *, heavy: bool) -> W:
        """A worker for this render, once every render that came before it and may take one has had its turn.
        A render cancelled as a worker is handed to it passes the worker on."""
        if self._may_take(heavy) and not self._a_waiter_may_take():
            return self._hand(heavy)  # nobody waiting may have it: heavy ones while the heavy share is taken
        turn: asyncio.Future[W] = asyncio.get_running_loop().create_future()
        entry = (turn, heavy)
        self._waiting.append(entry)
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.give_back(turn.result(), heavy=heavy)
            else:
                with contextlib.suppress(ValueError):  # already dropped by a hand-out that found it cancelled
                    self._waiting.remove(entry)
            raise

    def give_back(self, worker: W, *, heavy: bool) -> None:
        """``worker`` came free (``heavy``: what its render was): to the first waiter that may take it, else idle."""
        self.heavy_busy -= heavy
        self.idle.append(worker)
        while self.idle and self._waiting:
            entry = next((each for each in self._waiting if each[0].done() or self._may_take(each[1])), None)
            if entry is None:
                return
            self._waiting.remove(entry)
            turn, heavy_turn = entry
            if not turn.done():  # a cancelled one is only dropped
                turn.set_result(self._hand(heavy_turn))

    def refuse_waiting(self, refusal: Callable[[], BaseException]) -> None:
        """Every waiting render is refused (the pool closes)."""
        while self._waiting:
            turn, _ = self._waiting.popleft()
            if not turn.done():
                turn.set_exception(refusal())

    def _a_waiter_may_take(self) -> bool:
        return any(self._may_take(heavy) for turn, heavy in self._waiting if not turn.done())

    def _may_take(self, heavy: bool) -> bool:
        return bool(self.idle) and (not heavy or self.heavy_busy < self.heavy_share)

    def _hand(self, heavy: bool) -> W:
        self.heavy_busy += heavy
        worker = next((each for each in reversed(self.idle) if self._up(each)), self.idle[-1])
        self.idle.remove(worker)
        return worker
