"""Blocking printer I/O in reused daemon threads: a stuck call never holds up the next one, idle threads are reused
and end after a while, and a call given up on still cleans up after itself when it finally returns."""

from __future__ import annotations

import asyncio
import os
import pickle
import select
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ticket_daemon.printers.threads import DaemonThreads, close_within, run_in_daemon_thread

T = TypeVar("T")
WAIT_S = 10.0


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(scenario, timeout=30))


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_calls_one_after_the_other_reuse_one_thread() -> None:
    threads = DaemonThreads()

    async def scenario() -> list[int]:
        return [await run_in_daemon_thread(threading.get_ident, threads=threads) for _ in range(20)]

    idents = run(scenario())
    assert len(set(idents)) == 1
    assert threading.get_ident() not in idents  # not on the event loop's thread
    assert (threads.alive, threads.idle) == (1, 1)


def test_a_stuck_call_does_not_hold_up_the_next_and_cleans_up_when_it_returns() -> None:
    threads = DaemonThreads()
    release = threading.Event()
    stuck_returned = threading.Event()
    cleaned: list[object] = []

    def stuck() -> str:  # a device stuck in the kernel
        release.wait(WAIT_S)
        stuck_returned.set()
        return "handle opened too late"

    async def scenario() -> str:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await run_in_daemon_thread(stuck, abandoned=cleaned.append, threads=threads)
        answer = await run_in_daemon_thread(lambda: "next call", threads=threads)
        # A second thread took it: the stuck call has neither returned nor been cleaned up yet.
        assert not stuck_returned.is_set() and cleaned == []
        release.set()
        while not cleaned:
            await asyncio.sleep(0.01)
        return answer

    answer = run(scenario())
    assert answer == "next call"
    assert cleaned == ["handle opened too late"]
    wait_for(lambda: (threads.alive, threads.idle) == (2, 2), "both threads to be idle")


def test_a_call_given_up_on_that_fails_is_cleaned_up_with_none() -> None:
    threads = DaemonThreads()
    release = threading.Event()
    cleaned: list[object] = []

    def fails_late() -> str:
        release.wait(WAIT_S)
        raise OSError("device gone")

    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await run_in_daemon_thread(fails_late, abandoned=cleaned.append, threads=threads)
        release.set()
        while not cleaned:
            await asyncio.sleep(0.01)

    run(scenario())
    assert cleaned == [None]


def test_errors_reach_the_caller_and_the_thread_serves_on() -> None:
    threads = DaemonThreads()

    def refuses() -> None:
        raise PermissionError("permission denied")

    async def scenario() -> int:
        with pytest.raises(PermissionError, match="permission denied"):
            await run_in_daemon_thread(refuses, threads=threads)
        return await run_in_daemon_thread(lambda: 42, threads=threads)

    assert run(scenario()) == 42
    assert threads.alive == 1


def test_parallel_calls_each_get_a_thread_and_idle_threads_end() -> None:
    threads = DaemonThreads(idle_seconds=0.2)
    together = threading.Barrier(3, timeout=WAIT_S)  # only passes if all three run at the same time

    def meet() -> int:
        together.wait()
        return threading.get_native_id()

    async def scenario() -> list[int]:
        return list(await asyncio.gather(*(run_in_daemon_thread(meet, threads=threads) for _ in range(3))))

    native_ids = run(scenario())
    assert len(set(native_ids)) == 3
    wait_for(lambda: threads.alive == 0, "the idle threads to end")
    assert threads.idle == 0
    if Path("/proc/self/task").is_dir():  # Linux: the threads are really gone, not just uncounted
        wait_for(lambda: not any(Path(f"/proc/self/task/{tid}").exists() for tid in native_ids), "threads to exit")

    # And the set starts threads again afterwards.
    assert run(run_in_daemon_thread(lambda: "again", threads=threads)) == "again"


def test_close_within_gives_up_on_a_stuck_close_without_raising() -> None:
    release = threading.Event()
    finished = threading.Event()

    def stuck_close() -> None:
        release.wait(WAIT_S)
        finished.set()

    try:
        run(close_within(0.1, stuck_close))
        assert not finished.is_set(), "close_within waited for the stuck close instead of giving up"
    finally:
        release.set()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_does_not_hand_calls_to_its_parents_threads() -> None:
    # The parent has an idle thread; the child has no thread at all, and must start its own.
    assert run(run_in_daemon_thread(lambda: "warm")) == "warm"
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            answer: object = asyncio.run(asyncio.wait_for(run_in_daemon_thread(lambda: "child"), timeout=5))
        except BaseException as error:
            answer = f"{type(error).__name__}: {error}"
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(pickle.dumps(answer))
        os._exit(0)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], WAIT_S)
        assert ready, "the child did not answer"
        received = b""
        while chunk := os.read(read_end, 4096):
            received += chunk
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    assert pickle.loads(received) == "child"
