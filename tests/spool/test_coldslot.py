"""The inline slot for prints while no render worker is up (render/coldslot.py), with fake workers: one print at a
time, handed over in arrival order, and every waiting print sent to the workers once one is up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from ticket_daemon.render.coldslot import ColdSlot
from ticket_daemon.render.worker import WorkerStopped

T = TypeVar("T")
WAIT_S = 10.0


class FakeWorker:
    """A worker process starting: ready once the test says so (or failing to start)."""

    def __init__(self) -> None:
        self.up = asyncio.Event()
        self.fails = False

    async def ready(self) -> None:
        await self.up.wait()
        if self.fails:
            raise WorkerStopped("the render worker did not start")


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), timeout=WAIT_S)

    return asyncio.run(bounded())


async def turns() -> None:
    """Let every task that can run, run."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_the_slot_goes_to_the_prints_in_arrival_order_one_at_a_time() -> None:
    async def scenario() -> list[str]:
        slot = ColdSlot(lambda: False)
        order: list[str] = []

        async def print_(name: str) -> None:
            assert await slot.take(list)
            order.append(f"{name} renders")
            await asyncio.sleep(0)
            order.append(f"{name} done")
            slot.release()

        await asyncio.gather(*(print_(name) for name in ("first", "second", "third")))
        order.append("free" if await slot.take(list) else "taken")
        return order

    assert run(scenario) == [
        "first renders",
        "first done",
        "second renders",
        "second done",
        "third renders",
        "third done",
        "free",
    ]


def test_a_print_that_waits_starts_the_workers_and_goes_to_them_once_one_is_up() -> None:
    async def scenario() -> tuple[int, int, bool, bool, bool]:
        worker = FakeWorker()
        slot = ColdSlot(lambda: worker.up.is_set())
        calls = 0

        def start_workers() -> list[FakeWorker]:
            nonlocal calls
            calls += 1
            return [worker]

        assert await slot.take(start_workers)  # free: taken without starting anything
        started_by_the_first = calls
        waiting = [asyncio.create_task(slot.take(start_workers)) for _ in range(3)]
        await turns()
        worker.up.set()
        answers = await asyncio.gather(*waiting)
        slot.release()  # the inline render ends: nobody waits for the slot any more
        return started_by_the_first, calls, any(answers), await slot.take(start_workers), worker.up.is_set()

    started_by_the_first, calls, any_inline, later, up = run(scenario)
    assert started_by_the_first == 0 and calls == 3
    assert not any_inline  # all three went to the workers
    assert up and not later  # and so does every print once a worker is up


def test_a_worker_that_cannot_start_leaves_the_waiting_prints_to_the_slot() -> None:
    async def scenario() -> list[bool]:
        worker = FakeWorker()
        worker.fails = True
        slot = ColdSlot(lambda: False)
        assert await slot.take(lambda: [worker])
        waiting = asyncio.create_task(slot.take(lambda: [worker]))
        await turns()
        worker.up.set()  # its start fails
        await turns()
        still_waiting = not waiting.done()
        slot.release()
        return [still_waiting, await waiting]

    assert run(scenario) == [True, True]


def test_a_waiting_print_that_gives_up_loses_its_place_and_the_slot_is_not_lost() -> None:
    async def scenario() -> tuple[bool, bool]:
        slot = ColdSlot(lambda: False)
        assert await slot.take(list)
        impatient = asyncio.create_task(slot.take(list))
        patient = asyncio.create_task(slot.take(list))
        await turns()
        impatient.cancel()  # the client left, or its wait ran over the budget
        await turns()
        slot.release()
        return impatient.cancelled(), await patient

    assert run(scenario) == (True, True)


def test_a_print_handed_the_slot_as_it_gives_up_passes_it_on() -> None:
    async def scenario() -> bool:
        slot = ColdSlot(lambda: False)
        assert await slot.take(list)
        first = asyncio.create_task(slot.take(list))
        second = asyncio.create_task(slot.take(list))
        await turns()
        slot.release()  # handed to the first waiter...
        first.cancel()  # ...which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await first
        return await second

    assert run(scenario) is True


def test_closing_sends_every_waiting_print_to_the_workers_which_refuse_it() -> None:
    async def scenario() -> list[bool]:
        slot = ColdSlot(lambda: False)
        assert await slot.take(list)
        waiting = [asyncio.create_task(slot.take(list)) for _ in range(2)]
        await turns()
        slot.to_workers()
        return list(await asyncio.gather(*waiting))

    assert run(scenario) == [False, False]
