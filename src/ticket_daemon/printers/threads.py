"""Blocking printer I/O in daemon threads, reused from call to call, bounded by the caller's timeouts.

A device stuck in the kernel (a file, a serial port, a USB endpoint, the Windows spooler) cannot be interrupted, so
after a timeout its thread is abandoned: being a daemon thread, it never keeps the daemon from exiting (a thread
pool's worker would be joined at shutdown and hang it), and whatever it opened is closed when it finishes.

Threads are kept for the next call rather than started for each one: a printed job makes several calls (open, send,
close), and starting a ``threading.Thread`` makes the event loop wait until the new thread runs. A call goes to an
idle thread when there is one, else to a new thread, so no call ever queues behind a stuck one. New threads are
started with ``_thread.start_new_thread``, which does not wait for the thread to run (nothing blocks the event
loop) and whose threads are never joined at exit. A thread idle for :data:`IDLE_SECONDS` ends.
"""

from __future__ import annotations

import _thread
import asyncio
import functools
import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

# An idle thread ends after this long: long enough to serve a busy printer's next job, short enough that a burst of
# parallel calls does not leave threads behind for good.
IDLE_SECONDS = 30.0

# A task runs the blocking call and returns how to report its outcome; the report runs once the thread counts as
# idle, so a caller that makes its next call as soon as it hears back finds this thread free (one thread per printer
# serves its open, send and close calls one after the other).
_Report = Callable[[], None]
_Task = Callable[[], _Report]


class DaemonThreads:
    """A set of daemon threads that run blocking calls, reusing idle ones and never queuing behind a busy one."""

    def __init__(self, *, idle_seconds: float = IDLE_SECONDS) -> None:
        self._idle_seconds = idle_seconds
        self._forget_threads()
        if hasattr(os, "register_at_fork"):
            # A forked child has none of its parent's threads: it must not hand calls to threads that are not there.
            os.register_at_fork(after_in_child=self._forget_threads)

    def _forget_threads(self) -> None:
        self._lock = threading.Lock()
        self._tasks: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        # Threads waiting for a task and not yet promised one. Each task handed to the queue is promised to one of
        # the waiting threads by taking one from this count, so a waiting thread that gives up (idle too long) only
        # leaves while the count says nobody counts on it.
        self._idle = 0
        self._alive = 0

    @property
    def alive(self) -> int:
        """Threads alive: busy ones, idle ones and abandoned ones still stuck in a call."""
        return self._alive

    @property
    def idle(self) -> int:
        return self._idle

    def submit(self, task: _Task) -> None:
        """Run ``task`` in an idle thread, or in a new one when every thread is busy; then the report it returns."""
        with self._lock:
            if self._idle:
                self._idle -= 1
                self._tasks.put(task)
                return
            self._alive += 1
        try:
            _thread.start_new_thread(self._serve, (task,))
        except BaseException:
            with self._lock:
                self._alive -= 1
            raise

    def _serve(self, task: _Task) -> None:
        try:
            while True:
                report = _run_task(task)
                del task  # a finished call's closure (a file handle, a big buffer) is not kept while idle
                with self._lock:
                    self._idle += 1
                if report is not None:
                    _run_task(report)
                del report
                next_task = self._next_task()
                if next_task is None:
                    return
                task = next_task
        finally:
            with self._lock:
                self._alive -= 1

    def _next_task(self) -> _Task | None:
        """The next task for this thread, which counts as idle; None when none came for ``idle_seconds``."""
        try:
            return self._tasks.get(timeout=self._idle_seconds)
        except queue.Empty:
            pass
        with self._lock:
            if self._idle:  # nobody counts on this thread: it ends
                self._idle -= 1
                return None
        # Every waiting thread was promised a task, this one included, and tasks are queued before the promise is
        # released: its task is already in the queue.
        return self._tasks.get()


def _run_task(task: Callable[[], T]) -> T | None:
    try:
        return task()
    except Exception:  # a failing cleanup callback must not end the thread's service silently
        log.exception("a printer I/O call failed in its thread")
        return None


_SHARED = DaemonThreads()


async def run_in_daemon_thread(
    function: Callable[[], T],
    *,
    abandoned: Callable[[T | None], None] | None = None,
    threads: DaemonThreads | None = None,
) -> T:
    """``await`` ``function()`` run in a daemon thread (an idle one, else a new one). If the caller stopped waiting
    (timeout, cancellation), ``abandoned`` is called when the function ends, with its result (None if it failed), so
    nothing leaks: a file opened too late, or a handle whose write was given up on."""
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

    def work() -> Callable[[], None]:
        try:
            result = function()
        except BaseException as error:  # handed to the awaiting coroutine, not lost in the thread
            return functools.partial(report_failure, error)  # bound now: ``error`` is unset after the except
        return functools.partial(report, result)

    def report(result: T) -> None:
        try:
            loop.call_soon_threadsafe(deliver, result)
        except RuntimeError:  # the event loop is gone: nobody is waiting any more
            give_up(result)

    def report_failure(error: BaseException) -> None:
        try:
            loop.call_soon_threadsafe(fail, error)
        except RuntimeError:
            give_up(None)

    (threads or _SHARED).submit(work)
    return await future


async def close_within(timeout: float, close: Callable[[], None]) -> None:
    """Run a blocking ``close()`` in a daemon thread, waiting at most ``timeout`` seconds. A device stuck in close
    is left to its thread, which finishes on its own: closing never raises and never blocks a stop."""
    try:
        async with asyncio.timeout(timeout):
            await run_in_daemon_thread(close)
    except TimeoutError:
        pass
