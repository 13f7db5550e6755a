"""Render worker processes that the event loop talks to directly, with no helper thread in the daemon.

A :class:`concurrent.futures.ProcessPoolExecutor` wakes a management thread and a queue-feeder thread for every call
and hands the GIL between them and the event loop several times: ~1 ms per round trip, twice the render of a receipt.
Here each worker is one process joined to the daemon by a socket pair:

- the daemon sends one frame (the pickled function and its arguments) and reads the reply through the event loop
  (an :class:`asyncio.Protocol` on its end of the socket: big replies, a preview PNG of several MB, arrive in pieces
  between other clients' work, and a big request is buffered by the transport instead of blocking);
- the worker runs a plain loop (:func:`serve`): once its imports are done it sends a :data:`READY` frame (the
  daemon counts it started from then on), then reads a request, calls the function, writes the reply. An exception in
  the function comes back as that exception, never ends the loop; the end of the socket (the daemon closed it, or
  died) ends the process.

A frame is an 8-byte big-endian length, then that many bytes of pickle (both ends are this module, so pickle is as
safe as the function it names). A socket pair rather than a :func:`multiprocessing.Pipe` because an asyncio
transport can wrap a socket on every platform (Windows' proactor loop included), and a socket pickles to a child
under both forkserver and spawn.

A worker runs as batch work where the system has the policy (Linux ``SCHED_BATCH``): a worker woken by a request
does not preempt the thread that woke it, so on a machine out of CPU the event loop goes on answering while the
workers render (receipts acked per second +3% on 2 cores, interleaved), and a till's own programs keep their turn.

Killing is the only way to stop a render that is over its budget (the pool decides when): :meth:`WorkerProcess.kill`
sends SIGKILL and collects the exit in the background, so no zombie and no file descriptor is left behind.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import sys
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any, Protocol, cast

from ..collector import settle

log = logging.getLogger(__name__)

# The worker's first frame, once its imports are done (under spawn they take a fresh interpreter hundreds of ms).
READY = "ready"
# Every frame starts with its length; 8 bytes so that no size needs a special case.
_LENGTH = struct.Struct("!Q")
# A killed process is gone within milliseconds; its exit is polled (a non-blocking look, no thread) this often, and
# given up on after REAP_SECONDS (logged: something keeps it alive, e.g. a process stopped by a debugger).
_REAP_POLL_SECONDS = 0.005
REAP_SECONDS = 10.0
# What a worker imports before its first render: the renderer (render.work), and what images, QR codes and previews
# need (the daemon's own process imports those only on first need). Under forkserver the server imports them once
# and every worker forked from it shares those pages instead of importing its own copy.
WORKER_PRELOAD = (
    "ticket_daemon.render.work",
    "ticket_daemon.escpos.image",
    "ticket_daemon.escpos.qr",
    "ticket_daemon.emulator",
)


class ProcessContext(Protocol):
    """A :mod:`multiprocessing` context that starts fresh processes (forkserver or spawn, never fork: a forked
    worker would inherit the daemon's sockets and threads)."""

    @property
    def Process(self) -> type[BaseProcess]: ...  # multiprocessing's name


def process_context() -> ProcessContext:
    """forkserver where there is one (Linux): a fresh worker is forked from a server that already imported the core,
    in milliseconds, and never inherits the daemon's threads or sockets; spawn elsewhere (Windows, macOS)."""
    if sys.platform.startswith("linux"):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(WORKER_PRELOAD))
        return context
    return multiprocessing.get_context("spawn")


class WorkerStopped(Exception):
    """The worker process ended (killed, out of memory, failed to start) before it answered."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, attached as the cause of the one re-raised here."""

    def __str__(self) -> str:
        return str(self.args[0])


class RemoteError(Exception):
    """An exception raised in a worker process that could not be carried back as itself (it does not pickle)."""


# --- the wire ---------------------------------------------------------------------------------------------------


def encode(message: object) -> memoryview:
    """``message`` pickled into one frame (the length written in place: a 4 MB document is not copied again)."""
    buffer = io.BytesIO()
    buffer.write(bytes(_LENGTH.size))
    pickle.dump(message, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    frame = buffer.getbuffer()
    _LENGTH.pack_into(frame, 0, len(frame) - _LENGTH.size)
    return frame


class PickledOnce:
    """An immutable object that crosses to the workers often and seldom changes (the printer registry, the render
    limits), pickled once: each request carries these bytes, so the event loop does not pickle it again for every
    render, and a worker unpickles each distinct value once (:func:`unpickled_once`)."""

    __slots__ = ("data",)

    def __init__(self, value: object) -> None:
        self.data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def __reduce__(self) -> tuple[Callable[[bytes], object], tuple[bytes]]:
        return unpickled_once, (self.data,)


# A worker's unpickled PickledOnce values by their bytes: a one-printer registry takes ~20 µs to unpickle and the
# limits ~7 µs (frozen dataclasses restore field by field), on every request. Few distinct values ever arrive (a
# registry changes when a printer says what model it is), so the oldest is dropped past a handful.
_UNPICKLED: dict[bytes, object] = {}
_UNPICKLED_KEPT = 8


def unpickled_once(data: bytes) -> object:
    """The object ``data`` pickles, the same one for the same bytes (they are immutable, so sharing is safe)."""
    value = _UNPICKLED.get(data, _UNPICKLED)
    if value is _UNPICKLED:
        value = _UNPICKLED[data] = pickle.loads(data)
        if len(_UNPICKLED) > _UNPICKLED_KEPT:
            del _UNPICKLED[next(iter(_UNPICKLED))]
    return value


class FrameReader:
    """Frames out of a byte stream that arrives in pieces of any size (no I/O here: fed by whoever reads)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[memoryview]:
        """Every frame ``data`` completes, without its length (pickle reads a memoryview without a copy)."""
        buffer = self._buffer
        buffer += data
        frames: list[memoryview] = []
        while len(buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer)
            end = _LENGTH.size + length
            if len(buffer) < end:
                break
            if end == len(buffer):  # the usual case: hand the buffer over whole rather than copy the frame out
                frames.append(memoryview(buffer)[_LENGTH.size :])
                self._buffer = buffer = bytearray()
            else:
                frames.append(memoryview(bytes(buffer[_LENGTH.size : end])))
                del buffer[:end]
        return frames

    @property
    def pending(self) -> int:
        """Bytes received of a frame not complete yet."""
        return len(self._buffer)


# --- the worker process -----------------------------------------------------------------------------------------


def serve(channel: socket.socket, preload: Sequence[str] = ()) -> None:
    """The worker process: answer requests until the daemon closes its end (or dies). ``preload`` names modules to
    import before the first request (under spawn the process starts bare; under forkserver they are there already).
    """
    # Ctrl-C reaches the whole process group: the daemon decides when its workers stop, not the terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    run_as_batch_work()
    for module in preload:
        importlib.import_module(module)
    settle()  # what the imports built lives as long as the worker (collector.py)
    channel.setblocking(True)
    with channel:
        try:
            channel.sendall(encode(READY))  # imports done: from here a render's time is its own
            while (request := _receive(channel)) is not None:
                channel.sendall(_answer(request))
        except (BrokenPipeError, ConnectionResetError):
            return  # the daemon closed its end mid-answer (it gave up on this render): nobody is left to serve


def run_as_batch_work() -> None:
    """Ask the kernel to treat this process as batch work (``SCHED_BATCH``, same priority, no wake-up preemption);
    nothing where the system has no such policy."""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_BATCH"):
        try:
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        except OSError as error:  # e.g. a container that forbids it: the worker renders the same, only less politely
            log.debug("render worker: SCHED_BATCH refused: %s", error)


def _answer(request: bytearray) -> memoryview:
    try:
        function, arguments = pickle.loads(request)
        return encode((True, function(*arguments)))
    except Exception as error:  # the function's own failure (or an unpicklable result): the caller's to handle
        return encode((False, _portable(error)))


def _portable(error: Exception) -> tuple[Exception | None, str]:
    """The exception if it survives pickling (not every exception does), and its traceback as text."""
    text = "".join(traceback.format_exception(error))
    try:
        return pickle.loads(pickle.dumps(error)), text
    except Exception:
        return None, text


def _receive(channel: socket.socket) -> bytearray | None:
    header = _read_exactly(channel, _LENGTH.size)
    if header is None:
        return None
    (length,) = _LENGTH.unpack(header)
    return _read_exactly(channel, length)


def _read_exactly(channel: socket.socket, size: int) -> bytearray | None:
    """``size`` bytes, or None at the end of the stream."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        count = channel.recv_into(view[received:])
        if count == 0:
            return None
        received += count
    return buffer


# --- the daemon's side ------------------------------------------------------------------------------------------


class _Channel(asyncio.Protocol):
    """The daemon's end of one worker's socket: one request out, its reply back."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._frames = FrameReader()
        self._reply: asyncio.Future[memoryview] | None = None
        # True once its READY frame came, False if the connection ended first.
        self.greeted: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def send(self, frame: memoryview) -> asyncio.Future[memoryview]:
        if self.closed or self.transport is None:
            raise WorkerStopped("the render worker's connection is closed")
        self._reply = asyncio.get_running_loop().create_future()
        self.transport.write(frame)
        return self._reply

    def data_received(self, data: bytes) -> None:
        for frame in self._frames.feed(data):
            if not self.greeted.done():
                self.greeted.set_result(True)
                continue
            reply, self._reply = self._reply, None
            if reply is not None and not reply.done():
                reply.set_result(frame)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.greeted.done():
            self.greeted.set_result(False)
        reply, self._reply = self._reply, None
        if reply is not None and not reply.done():
            reply.set_exception(WorkerStopped("the render worker stopped before it answered"))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class WorkerProcess:
    """One worker process and the socket the event loop talks to it through, one request at a time."""

    def __init__(self, context: ProcessContext, preload: Sequence[str] = ()) -> None:
        self._context = context
        self._preload = tuple(preload)
        self._process: BaseProcess | None = None
        self._channel: _Channel | None = None
        self._starting: asyncio.Task[None] | None = None
        self._reaping: asyncio.Task[None] | None = None
        self.stopped = False  # killed, or found dead

    def start(self) -> None:
        """Start the process in the background (needs a running event loop); nothing if it was started already."""
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self._start(), name="render-worker-start")
            self._starting.add_done_callback(_report_failed_start)

    @property
    def started(self) -> bool:
        """Its process was asked to start (it may have stopped since)."""
        return self._starting is not None

    async def _start(self) -> None:
        ours, theirs = socket.socketpair()
        try:
            process = self._context.Process(
                target=serve, args=(theirs, self._preload), name="render-worker", daemon=True
            )
            # In a thread: the first start under forkserver waits for the server's imports (hundreds of ms).
            await asyncio.to_thread(process.start)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()  # the child has its own copy; ours would keep the worker's end open after it died
        self._process = process
        if self.stopped:  # killed while it was starting
            ours.close()
            self._kill_process(process)
            return
        _, self._channel = await asyncio.get_running_loop().create_connection(_Channel, sock=ours)
        if self.stopped:  # killed while its connection was being set up
            self.kill()
            return
        if not await self._channel.greeted and not self.stopped:  # ready: its imports are done
            raise WorkerStopped("the render worker ended before it was ready")

    async def ready(self) -> None:
        """Wait until the process has started; :class:`WorkerStopped` if it could not start or was killed."""
        if self.stopped:
            raise WorkerStopped("the render worker was stopped")
        self.start()
        assert self._starting is not None
        try:
            # Shielded: a caller that gives up must not cancel a start half done (its process would be lost).
            await asyncio.shield(self._starting)
        except Exception as error:
            raise WorkerStopped(f"the render worker did not start: {error}") from error
        if self.stopped or self._channel is None or self._channel.closed:
            self.stopped = True
            raise WorkerStopped("the render worker stopped")

    async def call(self, function: Callable[..., Any], arguments: tuple[Any, ...]) -> Any:
        """``function(*arguments)`` in the process (started by :meth:`ready`): its result, or its exception
        re-raised here; :class:`WorkerStopped` if the process ends first."""
        assert self._channel is not None, "call ready() first"
        reply = await self._channel.send(encode((function, arguments)))
        done, value = pickle.loads(reply)
        if done:
            return value
        error, text = value
        raise (error or RemoteError(text)) from RemoteTraceback(text)

    def kill(self) -> None:
        """Stop the process now, whatever it is doing; its exit is collected in the background."""
        self.stopped = True
        if self._channel is not None:
            self._channel.close()
        if self._process is not None:
            self._kill_process(self._process)

    def _kill_process(self, process: BaseProcess) -> None:
        if self._reaping is None:
            process.kill()
            self._reaping = asyncio.get_running_loop().create_task(_reap(process), name="render-worker-reap")

    async def wait_stopped(self) -> None:
        """After :meth:`kill`: until the process has exited and its file descriptors are closed."""
        if self._starting is not None:
            await asyncio.gather(self._starting, return_exceptions=True)  # a late start kills its own process
        if self._reaping is not None:
            await self._reaping

    @property
    def running(self) -> bool:
        """Its process is up and said it is ready (its imports are done): a render sent now starts at once."""
        starting = self._starting
        if self.stopped or starting is None or not starting.done() or starting.cancelled():
            return False
        return starting.exception() is None and self._channel is not None and not self._channel.closed

    @property
    def broken(self) -> bool:
        """Killed, or its process ended by itself (out of memory, killed from outside): it will not answer again."""
        return self.stopped or (self._channel is not None and self._channel.closed)

    @property
    def reaped(self) -> bool:
        return self._reaping is not None and self._reaping.done()

    def pid(self) -> int | None:
        """The process's pid while it runs (None before it started, and once killed)."""
        if self.stopped or self._process is None:
            return None
        return self._process.pid


async def _reap(process: BaseProcess) -> None:
    """Collect a killed process's exit (no zombie) and close what the parent holds of it (its sentinel)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REAP_SECONDS
    while process.exitcode is None:  # a non-blocking look at its status
        if loop.time() > deadline:
            log.warning("render worker %s did not exit %g s after SIGKILL", process.pid, REAP_SECONDS)
            return
        await asyncio.sleep(_REAP_POLL_SECONDS)
    process.close()


def stop_process_servers() -> None:
    """Stop :mod:`multiprocessing`'s forkserver and resource tracker, when they run: each holds tens of MB, and
    each starts again by itself when a worker process is next started. Only once no worker process is left (a
    worker's exit status reaches us through the forkserver). Blocks until they have exited: call it in a thread."""
    from multiprocessing import forkserver, resource_tracker

    for server in (forkserver._forkserver, resource_tracker._resource_tracker):
        # Their documented way to stop; absent from a Python that has none, then they are left running.
        stop: Callable[[], None] | None = getattr(server, "_stop", None)
        if stop is not None:
            stop()


def _report_failed_start(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a render worker process could not start: %s", task.exception())
