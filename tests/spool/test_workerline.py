"""Render workers handed to waiting renders in arrival order (render/workerline.py), with the heavy share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest

from ticket_daemon.render.workerline import WorkerLine

T = TypeVar("T")


@dataclass(eq=False)
class Worker:
    name: str
    up: bool = True


def line_of(*workers: Worker, heavy_share: int = 1) -> WorkerLine[Worker]:
    line: WorkerLine[Worker] = WorkerLine(heavy_share, up=lambda worker: worker.up)
    line.idle = list(workers)
    return line


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), timeout=10)

    return asyncio.run(bounded())


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_free_worker_goes_to_the_render_that_waited_longest_and_wakes_no_other() -> None:
    async def scenario() -> tuple[str, list[bool]]:
        line = line_of(Worker("w"))
        held = await line.take(heavy=False)
        waiters = [asyncio.create_task(line.take(heavy=False)) for _ in range(3)]
        await settle()
        line.give_back(held, heavy=False)
        await settle()
        first = waiters[0].result().name
        others_done = [task.done() for task in waiters[1:]]
        for task in waiters[1:]:
            task.cancel()
        await asyncio.gather(*waiters[1:], return_exceptions=True)
        return first, others_done

    assert run(scenario) == ("w", [False, False])


def test_a_light_render_takes_a_worker_that_the_heavy_ones_waiting_may_not() -> None:
    async def scenario() -> list[str]:
        line = line_of(Worker("w1"), Worker("w2"), heavy_share=1)
        order: list[str] = []
        heavy = await line.take(heavy=True)
        heavy_waiting = asyncio.create_task(line.take(heavy=True))
        await settle()
        light = await line.take(heavy=False)  # not behind the heavy one: it may not have this worker
        order.append("light")
        line.give_back(light, heavy=False)
        await settle()
        assert not heavy_waiting.done()  # the heavy share is still taken
        line.give_back(heavy, heavy=True)
        await heavy_waiting
        order.append("heavy")
        return order

    assert run(scenario) == ["light", "heavy"]


def test_a_heavy_render_first_in_line_lets_a_light_one_behind_it_take_a_worker_it_may_not() -> None:
    async def scenario() -> tuple[bool, bool]:
        line = line_of(Worker("w1"), Worker("w2"), heavy_share=1)
        held_heavy = await line.take(heavy=True)
        held_light = await line.take(heavy=False)
        heavy_waiting = asyncio.create_task(line.take(heavy=True))
        await settle()
        light_waiting = asyncio.create_task(line.take(heavy=False))
        await settle()
        line.give_back(held_light, heavy=False)
        await settle()
        light_first = light_waiting.done() and not heavy_waiting.done()
        line.give_back(held_heavy, heavy=True)
        await settle()
        return light_first, heavy_waiting.done()

    assert run(scenario) == (True, True)


@pytest.mark.parametrize("when", ["left before the release", "leaving at the release", "handed the worker"])
def test_a_render_that_leaves_does_not_keep_the_worker_from_the_next(when: str) -> None:
    async def scenario() -> str:
        line = line_of(Worker("w"))
        held = await line.take(heavy=False)
        leaving = asyncio.create_task(line.take(heavy=False))
        staying = asyncio.create_task(line.take(heavy=False))
        await settle()
        if when == "handed the worker":
            line.give_back(held, heavy=False)  # handed to "leaving"…
            leaving.cancel()  # …which leaves before it runs
        else:
            leaving.cancel()
            if when == "left before the release":
                await asyncio.gather(leaving, return_exceptions=True)
                assert line.waiting == 1
            line.give_back(held, heavy=False)  # "leaving" may still be in line, its wait cancelled
        with pytest.raises(asyncio.CancelledError):
            await leaving
        assert line.waiting == 0
        return (await staying).name

    assert run(scenario) == "w"


def test_a_worker_that_is_up_is_handed_out_before_one_that_would_have_to_start() -> None:
    async def scenario() -> str:
        line = line_of(Worker("cold", up=False), Worker("warm"), Worker("cold-2", up=False))
        return (await line.take(heavy=False)).name

    assert run(scenario) == "warm"


def test_closing_refuses_every_waiting_render_each_with_its_own_error() -> None:
    async def scenario() -> list[Worker | BaseException]:
        line = line_of(Worker("w"))
        await line.take(heavy=False)
        waiters = [asyncio.create_task(line.take(heavy=False)) for _ in range(2)]
        await settle()
        line.refuse_waiting(lambda: RuntimeError("closing"))
        return await asyncio.gather(*waiters, return_exceptions=True)

    errors = run(scenario)
    assert all(isinstance(error, RuntimeError) for error in errors)
    assert [str(error) for error in errors] == ["closing", "closing"]
    assert errors[0] is not errors[1]
