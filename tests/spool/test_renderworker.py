"""One render worker process (render/worker.py), driven through the event loop like the pool drives it: its
answers, its failures, big messages in both directions, and what is left after it is killed."""

from __future__ import annotations

import asyncio
import gc
import math
import multiprocessing
import operator
import os
import pickle
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ticket_daemon.collector import YOUNG_THRESHOLD
from ticket_daemon.render import worker as worker_module
from ticket_daemon.render.worker import (
    FrameReader,
    PickledOnce,
    RemoteTraceback,
    WorkerProcess,
    WorkerStopped,
    encode,
    process_context,
)

T = TypeVar("T")
WAIT_S = 60.0  # upper bound for any one scenario
BIG = 8 * 1024 * 1024  # bigger than any preview PNG or stored document the daemon allows by default


def with_worker(scenario: Callable[[WorkerProcess], Awaitable[T]], context: Any = None) -> T:
    async def main() -> T:
        worker = WorkerProcess(context or process_context())
        try:
            await worker.ready()
            return await asyncio.wait_for(scenario(worker), timeout=WAIT_S)
        finally:
            worker.kill()
            await worker.wait_stopped()

    return asyncio.run(main())


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text()


def test_a_worker_freezes_what_its_imports_built_and_collects_young_objects_rarely() -> None:
    """What a worker imported lives as long as it: frozen, a collection never scans it (nor copies the pages the
    worker shares with its forkserver)."""

    async def scenario(worker: WorkerProcess) -> tuple[tuple[int, int, int], int]:
        return await worker.call(gc.get_threshold, ()), await worker.call(gc.get_freeze_count, ())

    threshold, frozen = with_worker(scenario)
    assert threshold[0] == YOUNG_THRESHOLD
    assert frozen > 10_000  # the interpreter's and the preloaded modules' objects


# --- the wire ------------------------------------------------------------------------------------------------------


def test_frames_come_out_whole_however_the_stream_is_cut() -> None:
    messages: list[Any] = ["a", {"b": [1, 2.5, None]}, b"\x00" * 70_000, ("", ())]
    stream = b"".join(bytes(encode(message)) for message in messages)
    for piece in (1, 7, 8, 9, 4096, len(stream)):
        reader = FrameReader()
        frames = []
        for start in range(0, len(stream), piece):
            frames.extend(reader.feed(stream[start : start + piece]))
        assert [pickle.loads(frame) for frame in frames] == messages, piece
        assert reader.pending == 0


# --- answers and failures ------------------------------------------------------------------------------------------


def test_a_worker_answers_and_an_exception_in_the_function_comes_back_without_ending_it() -> None:
    async def scenario(worker: WorkerProcess) -> Any:
        pid = worker.pid()
        answers = [await worker.call(os.getpid, ())]
        with pytest.raises(ZeroDivisionError) as division:
            await worker.call(operator.truediv, (1, 0))
        with pytest.raises(TypeError) as unpicklable:  # a result that cannot cross: the caller's error, too
            await worker.call(threading.Lock, ())
        answers.append(await worker.call(math.sqrt, (16.0,)))
        return pid, answers, division.value, unpicklable.value

    pid, answers, division, unpicklable = with_worker(scenario)
    assert answers == [pid, 4.0] and pid != os.getpid()
    assert isinstance(division.__cause__, RemoteTraceback) and "truediv" not in str(division)
    assert "ZeroDivisionError" in str(division.__cause__)
    assert "pickle" in str(unpicklable)


def test_a_killed_worker_fails_its_caller_and_leaves_no_process_or_descriptor_behind() -> None:
    with_worker(lambda worker: worker.call(os.getpid, ()))  # the forkserver and its descriptors exist from here on
    before = open_fds()

    async def scenario(worker: WorkerProcess) -> int:
        pid = worker.pid()
        assert pid is not None
        calling = asyncio.create_task(worker.call(time.sleep, (30,)))
        await asyncio.sleep(0.2)
        worker.kill()
        with pytest.raises(WorkerStopped):
            await calling
        with pytest.raises(WorkerStopped):
            await worker.ready()
        return pid

    pid = with_worker(scenario)
    assert gone(pid)
    assert open_fds() == before


def test_a_worker_that_dies_from_outside_fails_its_caller() -> None:
    async def scenario(worker: WorkerProcess) -> None:
        pid = worker.pid()
        assert pid is not None
        calling = asyncio.create_task(worker.call(time.sleep, (30,)))
        await asyncio.sleep(0.2)
        os.kill(pid, 9)
        with pytest.raises(WorkerStopped):
            await calling
        assert worker.stopped is False  # only the pool decides; the next call or ready() finds out
        with pytest.raises(WorkerStopped):
            await worker.ready()

    with_worker(scenario)


# --- big messages --------------------------------------------------------------------------------------------------


async def _turns_of_the_loop_during(work: Awaitable[T]) -> tuple[T, int]:
    """``work``'s result and how many times the event loop ran other tasks meanwhile."""
    turns = 0
    done = False

    async def ticker() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    try:
        result = await work
    finally:
        done = True
        await ticking
    return result, turns


def test_big_requests_and_replies_cross_in_pieces_between_other_work() -> None:
    async def scenario(worker: WorkerProcess) -> tuple[int, int, int, int]:
        # A reply of 8 MB is read as it arrives, in pieces: the loop serves others meanwhile (a blocking read would
        # hold it from the request to the last byte).
        reply, reply_turns = await _turns_of_the_loop_during(worker.call(os.urandom, (BIG,)))
        # A request of 8 MB (a worker reads its socket as it can): the transport buffers it, the loop does not wait.
        size, request_turns = await _turns_of_the_loop_during(worker.call(len, (b"x" * BIG,)))
        return len(reply), reply_turns, size, request_turns

    reply_size, reply_turns, request_size, request_turns = with_worker(scenario)
    assert reply_size == request_size == BIG
    assert reply_turns >= BIG // (256 * 1024), reply_turns
    assert request_turns >= 4, request_turns


# --- spawn (Windows, macOS) ----------------------------------------------------------------------------------------


def test_a_spawned_worker_answers_and_inherits_none_of_the_parents_sockets() -> None:
    listener = __import__("socket").create_server(("127.0.0.1", 0))  # what a daemon holds: its server socket
    try:
        inode = os.stat(listener.fileno()).st_ino

        async def scenario(worker: WorkerProcess) -> list[int]:
            pid = worker.pid()
            assert await worker.call(os.getpid, ()) == pid
            fds = Path(f"/proc/{pid}/fd")
            return [os.stat(fd).st_ino for fd in fds.iterdir() if os.readlink(fd).startswith("socket:")]

        for context in (process_context(), multiprocessing.get_context("spawn")):
            assert inode not in with_worker(scenario, context)
    finally:
        listener.close()


def test_a_worker_is_ready_only_once_its_imports_are_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under spawn (Windows, macOS) a worker imports the renderer after it starts: that time is not a render's."""
    monkeypatch.setenv("HELD_IMPORT_DIR", str(tmp_path))

    async def main() -> tuple[bool, int]:
        worker = WorkerProcess(multiprocessing.get_context("spawn"), preload=["spool.held_import"])
        try:
            ready = asyncio.create_task(worker.ready())
            deadline = time.monotonic() + WAIT_S
            while not (tmp_path / "started").exists() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # the daemon's side has every chance to see a READY that came
            ready_while_importing = ready.done()
            (tmp_path / "go").write_text("1")
            await asyncio.wait_for(ready, timeout=WAIT_S)
            return ready_while_importing, await asyncio.wait_for(worker.call(operator.add, (2, 3)), timeout=WAIT_S)
        finally:
            worker.kill()
            await worker.wait_stopped()

    ready_while_importing, answer = asyncio.run(main())
    assert not ready_while_importing
    assert answer == 5


def test_a_value_pickled_once_is_unpickled_once_per_worker() -> None:
    """A request carries the registry's bytes every time; the worker unpickles each distinct value once and keeps
    only the last few."""
    registry = {"printers": ("front", "kitchen")}
    first = pickle.loads(pickle.dumps(PickledOnce(registry)))
    again = pickle.loads(pickle.dumps(PickledOnce(dict(registry))))
    other = pickle.loads(pickle.dumps(PickledOnce({"printers": ("bar",)})))

    assert first == registry and first is not registry
    assert again is first  # the same bytes: the object the worker already made
    assert other == {"printers": ("bar",)} and other is not first
    for n in range(3 * worker_module._UNPICKLED_KEPT):
        pickle.loads(pickle.dumps(PickledOnce(n)))
    assert len(worker_module._UNPICKLED) <= worker_module._UNPICKLED_KEPT
    assert pickle.loads(pickle.dumps(PickledOnce(registry))) is not first  # forgotten, made anew
