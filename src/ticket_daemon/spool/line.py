"""The line to one printer: who may talk to it now, and the last state it reported.

TCP 9100 and USB take one connection at a time, so a status check must never collide with a delivery: both hold
the line. A check asked for while a job holds it, or while the worker keeps a job's connection open for the next
job, answers the state the jobs' own status exchanges last saw, instead of opening a second connection that would
only time out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from ..printers.status import PrinterState


class PrinterLine:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._last_state = PrinterState.unknown  # what the printer said the last time anyone asked
        self.kept_open = False  # the worker keeps a connection to the printer open for the next job

    def record(self, state: PrinterState) -> None:
        """The printer just answered ``state`` (a job's status exchange, a probe, or a failed connection)."""
        self._last_state = state

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Talk to the printer alone (a job's delivery); waits while a status check holds the line."""
        async with self._lock:
            yield

    async def probe(self, check: Callable[[], Awaitable[PrinterState]]) -> PrinterState:
        """The printer's state: the last known one while the line is in use, else ``check()`` run holding it."""
        if self._lock.locked() or self.kept_open:
            return self._last_state
        async with self._lock:
            state = await check()
            self._last_state = state
            return state
