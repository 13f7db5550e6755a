"""Blocking printer I/O in daemon threads of its own, bounded by the caller's timeouts.

A device stuck in the kernel (a file, a serial port, a USB endpoint, the Windows spooler) cannot be interrupted, so
after a timeout its thread is abandoned: being a daemon thread, it never keeps the daemon from exiting (a thread
pool's worker would be joined at shutdown and hang it), and whatever it opened is closed when it finishes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def run_in_daemon_thread(function: Callable[[], T], *, abandoned: Callable[[T | None], None] | None = None) -> T:
    """``await`` ``function()`` run in a new daemon thread. If the caller stopped waiting (timeout, cancellation),
    ``abandoned`` is called when the function ends, with its result (None if it failed), so nothing leaks: a file
    opened too late, or a handle whose write was given up on."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def give_up(result: T | None) -> None:
        if abandoned is not None:
            abandoned(result)

    def deliver(result: T) -> None:
        if future.cancelled():
            give_up(result)
        else:
            future.set_result(result)

    def fail(error: BaseException) -> None:
        if future.cancelled():
            give_up(None)
        else:
            future.set_exception(error)

    def work() -> None:
        try:
            result = function()
        except BaseException as error:  # handed to the awaiting coroutine, not lost in the thread
            try:
                loop.call_soon_threadsafe(fail, error)
            except RuntimeError:  # the event loop is gone: nobody is waiting any more
                give_up(None)
            return
        try:
            loop.call_soon_threadsafe(deliver, result)
        except RuntimeError:
            give_up(result)

    threading.Thread(target=work, name="printer-io", daemon=True).start()
    return await future


async def close_within(timeout: float, close: Callable[[], None]) -> None:
    """Run a blocking ``close()`` in a daemon thread, waiting at most ``timeout`` seconds. A device stuck in close
    is left to its thread, which finishes on its own: closing never raises and never blocks a stop."""
    try:
        async with asyncio.timeout(timeout):
            await run_in_daemon_thread(close)
    except TimeoutError:
        pass
