"""Refusals on time: the render budget bounds the wait before a render as well as the render. Documents that could
not start rendering within the budget are refused at once, while the render that keeps the workers busy is still
running, and each till hears about its own ticket."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from server.harness import DaemonLauncher
from ticket_daemon.document.errors import TicketError
from ticket_daemon.render import pool as pool_module
from ticket_daemon.render.cost import HEAVY_COST_US, estimated_cost
from ticket_daemon.render.outcomes import RenderLimits
from ticket_daemon.render.pool import RenderPool

WAIT_S = 60.0
BUSY = "EXECUTION: document not rendered: the render workers are taken for longer than the 30 s budget, please retry"


def cjk(characters: int) -> dict[str, Any]:
    """Text no code page holds: drawn as an image, ~0.3 ms a character (65 536 of them take seconds)."""
    text = {"type": "text", "data": {"content": {"text": "漢字テキスト" * (characters // 6)}}}
    return {"version": "1.0", "profile": {"model": "80mm EC-PM-80250"}, "commands": [text]}


def test_renders_that_cannot_start_within_the_budget_are_refused_while_the_first_still_renders() -> None:
    async def scenario() -> tuple[list[str], bool, bool]:
        # One worker, a frozen clock: the running render is charged all of its estimate (about 20 s) whatever
        # time it has really taken, so which renders are refused does not depend on the machine's speed.
        limits = RenderLimits(timeout_seconds=30.0, max_rendered_bytes=8 << 20, max_document_bytes=8 << 20)
        pool = RenderPool(limits, processes=1, clock=lambda: 1000.0)
        renders = [
            asyncio.create_task(pool.render(f"till-{n}", cjk(65_536), raw_policy="allow")) for n in range(6)
        ]
        try:
            later = set(renders[2:])
            while later and not renders[0].done():
                _, later = await asyncio.wait(later | {renders[0]}, return_when=asyncio.FIRST_COMPLETED)
                later.discard(renders[0])
            first_rendering, second_waiting = not renders[0].done(), not renders[1].done()
            refusals = [str(task.exception()) if task.done() else "still waiting" for task in renders[2:]]
        finally:
            await pool.close()
            await asyncio.gather(*renders, return_exceptions=True)
        return refusals, first_rendering, second_waiting

    refusals, first_rendering, second_waiting = asyncio.run(asyncio.wait_for(scenario(), timeout=WAIT_S))
    assert refusals == [BUSY] * 4
    assert first_rendering and second_waiting  # one render running, one that can start within the budget


def test_a_heavy_document_refused_for_the_wait_is_not_estimated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A till flooding heavy documents while the workers are taken costs the event loop one short look at each:
    the estimate up to the budget (a long scan) is only made for a heavy render that is admitted."""
    limits = RenderLimits(timeout_seconds=30.0, max_rendered_bytes=8 << 20, max_document_bytes=8 << 20)
    looks: list[float] = []

    def counted(datos: Any, *, up_to: float = HEAVY_COST_US) -> float:
        looks.append(up_to)
        return estimated_cost(datos, up_to=up_to)

    monkeypatch.setattr(pool_module, "estimated_cost", counted)

    async def scenario() -> list[str]:
        pool = RenderPool(limits, processes=1, clock=lambda: 1000.0)
        renders = [asyncio.create_task(pool.render(f"till-{n}", cjk(65_536), raw_policy="allow")) for n in range(2)]
        try:
            await asyncio.sleep(0.2)  # one renders or waits for its worker to start, one waits: the budget is taken
            looks.clear()
            refused: list[str] = []
            for n in range(5):
                try:
                    await pool.render(f"flood-{n}", cjk(65_536), raw_policy="allow")
                except TicketError as error:
                    refused.append(str(error))
            return refused
        finally:
            await pool.close()
            await asyncio.gather(*renders, return_exceptions=True)

    assert asyncio.run(asyncio.wait_for(scenario(), timeout=WAIT_S)) == [BUSY] * 5
    assert looks == [HEAVY_COST_US] * 5  # the first look only, each stopping at heavy


def test_through_the_daemon_six_tills_over_the_budget_hear_at_once_with_their_ids(tmp_path: Path) -> None:
    launcher = DaemonLauncher(tmp_path)
    try:
        daemon = launcher.start(
            printers=[{"name": "bar", "uri": "virtual://bar"}], render_processes=1, render_timeout_seconds=30.0
        )
        tills = [daemon.connect(f"till-{n}") for n in range(6)]
        for n, till in enumerate(tills):
            till.send({"tipo": "ticket", "id": f"menu-{n}", "datos": cjk(65_536)})
        heard: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + WAIT_S
        while len(heard) < 4 and time.monotonic() < deadline:
            for n, till in enumerate(tills):
                if n not in heard:
                    with contextlib.suppress(TimeoutError):
                        heard[n] = till.recv(timeout=0.05)
        rendering = [n for n in range(6) if n not in heard]
        nothing_back_yet = []  # their renders still run (one) or wait (one): nothing has come back to them
        for n in rendering:
            try:
                tills[n].ws.recv(timeout=0)
            except TimeoutError:
                nothing_back_yet.append(n)
    finally:
        with contextlib.suppress(ConnectionClosed):
            launcher.stop_all()

    assert len(rendering) == 2 and nothing_back_yet == rendering
    assert {n: (m["tipo"], m.get("id"), m["mensaje"]) for n, m in heard.items()} == {
        n: ("error", f"menu-{n}", BUSY) for n in heard
    }
