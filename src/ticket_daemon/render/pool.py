"""The render budget (no single client can occupy the render workers for long): where documents are validated,
rendered and previewed, on every core, out of everyone else's way.

- **The smallest tickets render on the event loop**: a one-line ticket or a kitchen order costs less to validate
  and render than a round trip to another process costs the loop. Only renders estimated under
  :data:`~.cost.ON_LOOP_COST_US`, never previews (the emulator takes milliseconds, so a preview always goes to a
  worker).
- **Tiny documents render inline** (a small thread pool of their own, not asyncio's default one): plain text that
  is too long for the loop and still cheap, so it never queues behind the workers' receipts. Where a render runs is
  decided by :func:`~.cost.estimated_cost`, a cheap static look at the document (command types, string
  lengths, characters that have to be drawn as an image). On the loop and inline, text may not be drawn: text the
  estimate did not see must be drawn sends the document to a worker.
- **Everything else renders in worker processes**, one per core (the core is pure: documents and bytes cross
  cheaply): images, QR codes, drawn characters, anything that can take milliseconds. Each worker is one process the
  event loop talks to over a socket (``render/worker.py``), so one that must be killed is replaced without
  disturbing the renders running in the others, and a render costs the loop no thread handoff.
- **Fairness:** one client (``client_id@address``, as ``/ws`` names it) holds at most one worker at a time,
  and waiting clients are served in arrival order (``workerline.py``), so six heavy previews from six connections
  share the workers with a seventh client instead of starving it. When there are two workers or more, documents
  estimated heavy may hold all but one, so a medium receipt waits for at most one heavy render.
- **Budgets:** a render that takes longer than ``render_timeout_seconds`` is refused with ``EXECUTION: document
  too costly to render (took more than 10 s)`` and its worker process is killed and replaced (a thread could not be
  stopped); a job whose printer data exceeds ``max_rendered_bytes``, or whose stored document exceeds
  ``max_document_bytes``, is refused before it reaches the spool.
- **Refusals on time:** the budget also bounds the wait before a render. Each render sent to the workers is charged,
  from the moment it is queued, the time it may hold a worker (its estimated cost, at most the budget; a running
  one, what is left of that); one that would have to wait for more than the budget's worth of renders ahead of it
  (per worker it may use) is refused at once with :data:`BUSY`, and one still waiting when the budget has passed is
  refused then with the same sentence.

Worker processes start on first need (an idle daemon that only prints plain text never starts one, nor the
forkserver behind them) or when :meth:`RenderPool.warm` is awaited, and a worker idle for
:data:`WORKER_IDLE_SECONDS` is retired (its memory given back; the next render that needs it starts it again).
While none is up, a print estimated under :data:`~.cost.COLD_INLINE_COST_US` (a receipt with a logo and a QR code)
renders in an inline thread instead, one at a time, and the prints that come meanwhile start the workers
(``coldslot.py``): a shop printing a receipt every few minutes keeps no worker process (nor its memory) for them.
:meth:`RenderPool.close` stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from ..config import ServerSettings
from ..document.errors import Category, TicketError
from ..escpos import RawPolicy
from ..escpos.typefaces import TextNeedsDrawing
from ..printers.registry import PrinterRegistry
from .clientlocks import ClientLocks
from .coldslot import ColdSlot
from .cost import COLD_INLINE_COST_US, HEAVY_COST_US, ON_LOOP_COST_US, TINY_COST_US, estimated_cost
from .loading import load_renderer, with_symbol_renderer
from .outcomes import (
    BUSY,
    CLOSED,
    TOO_SLOW,
    WORKER_DIED,
    PreviewOutcome,
    Refusal,
    RenderBusy,
    RenderedDocument,
    RenderLimits,
    RenderTooSlow,
)
from .worker import (
    WORKER_PRELOAD,
    PickledOnce,
    ProcessContext,
    WorkerProcess,
    WorkerStopped,
    process_context,
    stop_process_servers,
)
from .workerline import WorkerLine

log = logging.getLogger(__name__)

T = TypeVar("T")

# A worker process holds tens of MB: one unused this long is stopped. A minute keeps a busy till's workers up
# between receipts; starting one again costs a few hundred ms once, on the first render that needs it.
WORKER_IDLE_SECONDS = 60.0

# Threads for tiny renders: they finish in milliseconds, two keep one slow client from delaying another.
INLINE_THREADS = 2


@dataclass(slots=True, eq=False)  # each render's own: claims alike in value (the same receipt) are not the same claim
class _Claim:
    """A render sent to the workers, from the moment it is queued: how long it may hold a worker (seconds)."""

    seconds: float
    started: float | None = None  # the pool's clock when it got a worker

    def remaining(self, now: float) -> float:
        return self.seconds if self.started is None else max(0.0, self.seconds - (now - self.started))


class RenderPool:
    """``await pool.render(client_key, datos, profile=…, raw_policy=…)`` → :class:`RenderedDocument`, or a
    :class:`TicketError` (``VALIDATION: …``, ``EXECUTION: document too costly to render (…)``…)."""

    def __init__(
        self,
        limits: RenderLimits,
        *,
        processes: int = 0,
        strict: bool = False,
        context: ProcessContext | None = None,
        clock: Callable[[], float] = time.monotonic,
        idle_seconds: float = WORKER_IDLE_SECONDS,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self.idle_seconds = idle_seconds
        self._last_used: dict[WorkerProcess, float] = {}  # idle workers with a process: when they last answered
        self._retire_timer: asyncio.TimerHandle | None = None
        self._releasing: asyncio.Task[None] | None = None
        self._cold = ColdSlot(self._worker_running)  # prints rendered inline while no worker is up, one at a time
        self.strict = strict  # read documents strictly ([server] documents = "strict")
        self.size = processes or os.cpu_count() or 1
        # Heavy renders leave one worker free for the others when there is more than one.
        self.heavy_share = max(1, self.size - 1)
        self._line: WorkerLine[WorkerProcess] = WorkerLine(self.heavy_share, up=lambda worker: worker.running)
        self._context = context or process_context()  # tests choose spawn, what Windows and macOS use
        self._workers: list[WorkerProcess] = []  # every live worker, idle or busy
        self._retired: list[WorkerProcess] = []  # killed, their exit not collected yet
        self._inline = ThreadPoolExecutor(max_workers=INLINE_THREADS, thread_name_prefix="render-inline")
        self._clients = ClientLocks()
        self._claims: list[_Claim] = []  # every render queued for or running in a worker
        # What each request to a worker carries unchanged, pickled once: the limits, and the registry as it is now
        # (it changes only when a printer says what model it is; then its printers tuple is a new one).
        self._portable_limits = PickledOnce(limits)
        self._portable_registry: tuple[PrinterRegistry, tuple[object, ...], PickledOnce] | None = None
        self._closed = False
        self._loading: Future[None] | None = None  # the renderer loading in an inline thread (load_renderer)
        self.killed = 0  # workers killed over their time budget (for /metrics and tests)

    @classmethod
    def from_settings(cls, server: ServerSettings) -> RenderPool:
        return cls(
            RenderLimits.from_settings(server),
            processes=server.render_processes,
            strict=server.documents == "strict",
        )

    # --- life -------------------------------------------------------------------------------------------------

    async def warm(self) -> None:
        """Start every worker process and wait until each is ready (:class:`WorkerStopped` if one could not)."""
        self._start_workers()
        await asyncio.gather(*(worker.ready() for worker in self._workers))

    def load_renderer(self) -> None:
        """Import the renderer and the document models in an inline render thread (it returns at once): the first
        document finds them loaded, and one asked for meanwhile waits for the load without holding up the loop."""
        if not self._closed and self._loading is None:
            self._loading = self._inline.submit(load_renderer)

    async def _renderer_loaded(self) -> None:
        loading = self._loading
        if loading is not None and not loading.done():
            with contextlib.suppress(Exception):  # a failed import fails again, with its traceback, at the render
                await asyncio.wrap_future(loading)

    def _worker_running(self) -> bool:
        return any(worker.running for worker in self._workers)

    def _start_workers(self, *, one_more: bool = False) -> list[WorkerProcess]:
        """Make the workers (each starts on first use); ``one_more`` starts one now, and returns those not up yet."""
        if not self._workers and not self._closed:
            self._workers = [self._new_worker() for _ in range(self.size)]
            self._line.idle = list(self._workers)
        if not one_more:
            return []
        if unstarted := [worker for worker in self._line.idle if not worker.started]:
            unstarted[-1].start()  # the one the next render sent to the workers takes
        return [worker for worker in self._workers if worker.started and not worker.running]

    def _new_worker(self) -> WorkerProcess:
        # The imports a render needs, before the first one (already done under forkserver: its preload).
        return WorkerProcess(self._context, preload=WORKER_PRELOAD)

    def retire_idle(self) -> int:
        """Stop every worker process idle for :attr:`idle_seconds` or more (a fresh one, not started, takes its
        place); how many were stopped. Runs by itself on a timer while any worker process is up."""
        now = self._clock()
        stale = [w for w in self._line.idle if w.started and now - self._last_used.get(w, now) >= self.idle_seconds]
        for worker in stale:
            fresh = self._new_worker()
            worker.kill()
            self._last_used.pop(worker, None)
            self._retired = [each for each in self._retired if not each.reaped] + [worker]
            self._workers = [fresh if each is worker else each for each in self._workers]
            self._line.idle = [fresh if each is worker else each for each in self._line.idle]
        if stale:
            log.info("render: %d idle worker process(es) stopped", len(stale))
            if not any(worker.started for worker in self._workers) and self._releasing is None:
                self._releasing = asyncio.get_running_loop().create_task(
                    self._stop_servers(stale), name="render-servers-stop"
                )
        return len(stale)

    async def _stop_servers(self, retired: list[WorkerProcess]) -> None:
        """Once the last worker process is gone, the forkserver and resource tracker go too (no need is left)."""
        try:
            await asyncio.gather(*(worker.wait_stopped() for worker in retired))
            if not self._closed and not any(worker.started for worker in self._workers):
                await asyncio.to_thread(stop_process_servers)
        finally:
            self._releasing = None

    def _on_retire_timer(self) -> None:
        self._retire_timer = None
        if not self._closed:
            self.retire_idle()
            self._schedule_retirement()

    def _schedule_retirement(self) -> None:
        """Look again once the oldest idle worker could be due (nothing to do while none has a process)."""
        if self._retire_timer is not None or self._closed or not self._last_used:
            return
        due = min(self._last_used.values()) + self.idle_seconds - self._clock()
        self._retire_timer = asyncio.get_running_loop().call_later(max(0.0, due), self._on_retire_timer)

    def worker_pids(self) -> list[int]:
        """Pids of the worker processes running now."""
        return [pid for worker in self._workers if (pid := worker.pid()) is not None]

    async def close(self) -> None:
        """Stop every worker process (a render still running is cut short) and the inline threads; renders
        waiting for a worker are refused. Returns once every process has exited."""
        self._closed = True
        self._cold.to_workers()  # which refuse them now
        if self._retire_timer is not None:
            self._retire_timer.cancel()
        self._line.refuse_waiting(lambda: TicketError(CLOSED, category=Category.EXECUTION))
        workers = self._workers + self._retired
        self._workers, self._line.idle, self._retired = [], [], []
        for worker in workers:
            worker.kill()
        await asyncio.gather(*(worker.wait_stopped() for worker in workers))
        if self._releasing is not None:
            await asyncio.gather(self._releasing, return_exceptions=True)
        await asyncio.to_thread(self._inline.shutdown, wait=True, cancel_futures=True)

    # --- rendering --------------------------------------------------------------------------------------------

    async def render(
        self,
        client_key: str,
        datos: Mapping[str, Any],
        *,
        raw_policy: RawPolicy,
        registry: PrinterRegistry | None = None,
        printer_name: str | None = None,
    ) -> RenderedDocument:
        """Validate a ticket's document, choose its printer from ``registry`` and render it for that printer's paper
        (no registry: the document's own profile)."""
        await self._renderer_loaded()
        from .work import render_in_worker  # the renderer and the document models load with the first document

        outcome = await self._run(
            client_key,
            datos,
            render_in_worker,
            (registry, printer_name),
            raw_policy,
            on_loop_cost=ON_LOOP_COST_US,
            inline_cost=TINY_COST_US,
            cold_inline_cost=COLD_INLINE_COST_US,
        )
        assert isinstance(outcome, RenderedDocument)
        return outcome

    async def preview(
        self,
        client_key: str,
        datos: Mapping[str, Any],
        *,
        raw_policy: RawPolicy,
        registry: PrinterRegistry | None = None,
        printer_name: str | None = None,
    ) -> PreviewOutcome:
        """The preview image of a document: rendering plus emulation, under the same budget."""
        await self._renderer_loaded()
        from .work import preview_in_worker

        outcome = await self._run(client_key, datos, preview_in_worker, (registry, printer_name), raw_policy)
        assert isinstance(outcome, PreviewOutcome)
        return outcome

    async def _run(
        self,
        client_key: str,
        datos: Mapping[str, Any],
        function: Callable[..., T | Refusal],
        target: tuple[PrinterRegistry | None, str | None],
        raw_policy: RawPolicy,
        *,
        on_loop_cost: float = 0.0,
        inline_cost: float = 0.0,
        cold_inline_cost: float = 0.0,
    ) -> T:
        if self._closed:
            raise TicketError(CLOSED, category=Category.EXECUTION)
        cost = estimated_cost(datos)
        outcome: T | Refusal | None = None
        document = dict(datos)
        inline = (document, *target, raw_policy, self.strict, self.limits)  # the arguments of a render in-process
        if cost <= inline_cost:
            outcome = await self._cheaply(function, inline, on_loop=cost <= on_loop_cost)
        elif cost <= cold_inline_cost and not self._worker_running() and await self._cold_turn():
            try:
                outcome = await self._inline_within_budget(functools.partial(with_symbol_renderer, function), inline)
            finally:
                self._cold.release()
        if outcome is None:  # costly, or text to draw after all
            registry, printer_name = target
            portable = (document, self._portable(registry), printer_name, raw_policy, self.strict)
            outcome = await self._pooled(client_key, datos, cost, function, (*portable, self._portable_limits))
        if isinstance(outcome, Refusal):
            raise outcome.error()
        return outcome

    async def _cheaply(
        self, function: Callable[..., T | Refusal], inline: tuple[Any, ...], *, on_loop: bool
    ) -> T | Refusal | None:
        """A render estimated cheap, on the event loop or in an inline thread, that may not draw text: None when the
        document has text to draw after all (the estimate cannot know every printer's code pages): a worker draws it."""
        cheap = functools.partial(function, may_draw=False)
        try:
            if on_loop:
                return cheap(*inline)
            return await self._inline_within_budget(cheap, inline)
        except TextNeedsDrawing:
            return None

    async def _cold_turn(self) -> bool:
        """Whether this print renders inline for want of a worker (``coldslot.py``); waiting over budget is refused."""
        try:
            async with asyncio.timeout(self.limits.timeout_seconds):
                return await self._cold.take(functools.partial(self._start_workers, one_more=True))
        except TimeoutError:
            raise RenderBusy(BUSY.format(seconds=self.limits.timeout_seconds)) from None

    def _portable(self, registry: PrinterRegistry | None) -> PickledOnce | None:
        """The registry as a worker request carries it: pickled once for as long as it does not change."""
        if registry is None:
            return None
        cached = self._portable_registry
        if cached is None or cached[0] is not registry or cached[1] is not registry.printers:
            cached = self._portable_registry = (registry, registry.printers, PickledOnce(registry))
        return cached[2]

    async def _pooled(
        self,
        client_key: str,
        datos: Mapping[str, Any],
        cost: float,
        function: Callable[..., T | Refusal],
        arguments: tuple[Any, ...],
    ) -> T | Refusal:
        """In a worker, one at a time per client, if it can start within the budget (refused at once or when the
        budget has passed otherwise)."""
        heavy = cost > HEAVY_COST_US
        claim = self._admit(datos, cost, heavy=heavy)
        waiting = asyncio.timeout(self.limits.timeout_seconds)

        def started() -> None:
            if waiting.expired():  # the wait ran out as the worker came free: the refusal is on its way
                return
            claim.started = self._clock()
            waiting.reschedule(None)  # from here on the render's own budget applies

        async def pooled() -> T | Refusal:
            return await self._in_worker(function, arguments, heavy=heavy, on_start=started)

        try:
            async with waiting:
                return await self._clients.run(client_key, pooled)
        except TimeoutError:
            if claim.started is None and waiting.expired():
                raise RenderBusy(BUSY.format(seconds=self.limits.timeout_seconds)) from None
            raise
        finally:
            self._claims.remove(claim)

    def _admit(self, datos: Mapping[str, Any], cost: float, *, heavy: bool) -> _Claim:
        """Charge a render queued for the workers, or refuse it when the renders ahead of it would keep it waiting
        longer than the budget. A heavy one admitted is estimated again, up to the budget (the first look stopped
        counting at heavy)."""
        budget = self.limits.timeout_seconds
        now = self._clock()
        ahead = sum(claim.remaining(now) for claim in self._claims)
        if ahead > budget * (self.heavy_share if heavy else self.size):
            raise RenderBusy(BUSY.format(seconds=budget))
        if heavy:  # only once admitted: a flood of refused heavy documents costs the loop one short look each
            cost = estimated_cost(datos, up_to=budget * 1_000_000)
        claim = _Claim(min(budget, cost / 1_000_000))
        self._claims.append(claim)
        return claim

    async def _inline_within_budget(self, function: Callable[..., T], arguments: tuple[Any, ...]) -> T:
        future = asyncio.wrap_future(self._inline.submit(function, *arguments))
        try:
            return await asyncio.wait_for(future, timeout=self.limits.timeout_seconds)
        except TimeoutError:
            raise RenderTooSlow(TOO_SLOW.format(seconds=self.limits.timeout_seconds)) from None

    async def _in_worker(
        self,
        function: Callable[..., T],
        arguments: tuple[Any, ...],
        *,
        heavy: bool,
        on_start: Callable[[], None] = lambda: None,
    ) -> T:
        worker = await self._acquire(heavy=heavy)
        try:
            on_start()
            if worker.broken:  # its process died while idle (out of memory, killed): start a new one first
                worker = self._replace(worker)
            await worker.ready()  # not part of the budget: a fresh worker may still be importing the renderer
            budget = asyncio.timeout(self.limits.timeout_seconds)
            try:
                async with budget:
                    result: T = await worker.call(function, arguments)
                    return result
            except TimeoutError:
                if not budget.expired():  # raised by the function itself: not a budget matter
                    raise
                raise RenderTooSlow(TOO_SLOW.format(seconds=self.limits.timeout_seconds)) from None
        except (RenderTooSlow, WorkerStopped) as error:
            if self._closed:  # close() stopped it
                raise TicketError(CLOSED, category=Category.EXECUTION) from None
            # Over its budget the process is still rendering, and only killing it stops that; a process that died
            # (out of memory, killed by someone) is replaced the same way.
            log.warning("render worker replaced: %s", error if isinstance(error, RenderTooSlow) else "it died")
            self.killed += 1
            worker = self._replace(worker)
            if isinstance(error, RenderTooSlow):
                raise
            raise TicketError(WORKER_DIED, category=Category.EXECUTION) from None
        except asyncio.CancelledError:  # the client left: its render must not eat the next client's budget
            worker = self._replace(worker)
            raise
        finally:
            self._release(worker, heavy=heavy)

    def _replace(self, worker: WorkerProcess) -> WorkerProcess:
        """Kill ``worker`` and put a new one, starting in the background, in its place."""
        worker.kill()
        self._retired = [each for each in self._retired if not each.reaped] + [worker]
        replacement = self._new_worker()
        self._workers = [replacement if each is worker else each for each in self._workers]
        if not self._closed:
            replacement.start()
        return replacement

    async def _acquire(self, *, heavy: bool) -> WorkerProcess:
        self._start_workers()
        if self._closed:
            raise TicketError(CLOSED, category=Category.EXECUTION)
        worker = await self._line.take(heavy=heavy)  # in arrival order (workerline.py)
        self._last_used.pop(worker, None)
        return worker

    def _release(self, worker: WorkerProcess, *, heavy: bool) -> None:
        if self._closed:
            worker.kill()
            return
        if worker.started:
            self._last_used[worker] = self._clock()
            self._schedule_retirement()
        self._line.give_back(worker, heavy=heavy)
