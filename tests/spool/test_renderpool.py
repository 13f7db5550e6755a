"""The render budget (render/pool.py) with real worker processes: tiny tickets inline, the rest on every
core, one worker per client at a time, renders over their time or size budget refused, and nothing left running
after close."""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from clocks import ManualClock
from ticket_daemon.document import parse_document
from ticket_daemon.document.errors import TicketError
from ticket_daemon.escpos import render_job
from ticket_daemon.render import loading as loading_module
from ticket_daemon.render import pool as pool_module
from ticket_daemon.render.cost import (
    COLD_INLINE_COST_US,
    HEAVY_COST_US,
    ON_LOOP_COST_US,
    TINY_COST_US,
    estimated_cost,
)
from ticket_daemon.render.outcomes import RenderLimits
from ticket_daemon.render.pool import RenderPool
from ticket_daemon.render.worker import WORKER_PRELOAD

T = TypeVar("T")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WAIT_S = 60.0  # upper bound for any one scenario


def document(*commands: dict[str, Any]) -> dict[str, Any]:
    return {"version": "1.0", "profile": {"model": "80mm EC-PM-80250"}, "commands": list(commands)}


def text(content: str) -> dict[str, Any]:
    return {"type": "text", "data": {"content": {"text": content}}}


TINY = document(text("Café con leche 1,50 €"), {"type": "cut", "data": {"mode": "partial"}})
RECEIPT: dict[str, Any] = json.loads((EXAMPLES / "receipt.json").read_text())
KITCHEN_ORDER: dict[str, Any] = json.loads((EXAMPLES / "kitchen_order.json").read_text())
LOGO = next(command for command in RECEIPT["commands"] if command["type"] == "image")


def cjk(characters: int) -> dict[str, Any]:
    """Text no code page holds: drawn as an image, ~0.3 ms a character (65 536 of them took 13 s)."""
    return document(text("漢字テキスト" * (characters // 6)))


def qr_codes(count: int) -> dict[str, Any]:
    return document(*({"type": "qr", "data": {"data": f"https://example.com/ticket/{n}"}} for n in range(count)))


def run(scenario: Callable[[RenderPool], Awaitable[T]], **limits: Any) -> T:
    values = {"timeout_seconds": 30.0, "max_rendered_bytes": 2 * 1024 * 1024, "max_document_bytes": 4 << 20}
    processes = limits.pop("processes", 2)
    context = limits.pop("context", None)
    clock = limits.pop("clock", time.monotonic)
    pool_limits = RenderLimits(**{**values, **limits})

    async def main() -> T:
        pool = RenderPool(pool_limits, processes=processes, context=context, clock=clock)
        try:
            return await asyncio.wait_for(scenario(pool), timeout=WAIT_S)
        finally:
            await pool.close()

    return asyncio.run(main())


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text()  # exited, not yet reaped by its parent
    except (FileNotFoundError, ProcessLookupError):  # reaped between the two looks
        return True


def wait_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in pids):
        assert time.monotonic() < deadline, f"worker processes {pids} still running"
        time.sleep(0.05)


# --- the estimate ------------------------------------------------------------------------------------------------


def test_the_estimate_tells_tiny_tickets_from_receipts_from_costly_documents() -> None:
    assert estimated_cost(TINY) <= TINY_COST_US
    assert estimated_cost(document(text("ñandú " * 300))) <= TINY_COST_US  # Latin text encodes directly
    assert TINY_COST_US < estimated_cost(RECEIPT) < HEAVY_COST_US
    assert estimated_cost(cjk(65_536)) > HEAVY_COST_US
    assert estimated_cost(qr_codes(2_000)) > HEAVY_COST_US
    assert estimated_cost({"commands": "nope"}) > TINY_COST_US  # not a document: a worker's validation says why


def test_the_estimate_keeps_cheap_tickets_on_the_loop_and_images_qr_and_drawn_text_off_it() -> None:
    one_line = document(text("Hola"))
    assert estimated_cost(one_line) <= ON_LOOP_COST_US
    assert estimated_cost(KITCHEN_ORDER) <= ON_LOOP_COST_US
    # An image costs milliseconds the first time a process decodes it, whatever its size: never on the loop or inline.
    assert estimated_cost(document(LOGO)) > TINY_COST_US
    assert estimated_cost(document(text("Hola"), LOGO)) > TINY_COST_US
    assert estimated_cost(document({"type": "qr", "data": {"data": "x" * 2_000}})) > TINY_COST_US  # ~4 ms
    assert estimated_cost(document(text("漢字テキスト"))) > TINY_COST_US  # six characters drawn: ~2 ms
    assert estimated_cost(document(text("Latin text only " * 5_000))) > TINY_COST_US  # 80 000 characters
    assert estimated_cost(document({"type": "image", "data": {"code": "A" * 2_000_000}})) > HEAVY_COST_US / 10


def test_a_kitchen_order_and_a_first_receipt_render_without_starting_a_worker_process() -> None:
    """While no worker is up, a receipt (a logo and a QR code) renders in an inline thread: the first receipt after
    start, or after the workers were retired, does not wait for a process to start, and starts none."""

    async def scenario(pool: RenderPool) -> Any:
        kitchen = await pool.render("till-1", KITCHEN_ORDER, raw_policy="allow")
        receipt = await pool.render("till-1", RECEIPT, raw_policy="allow")
        return kitchen, receipt, pool.worker_pids()

    kitchen, receipt, pids = run(scenario)
    assert TINY_COST_US < estimated_cost(RECEIPT) <= COLD_INLINE_COST_US
    assert kitchen.data == render_job(parse_document(KITCHEN_ORDER)).data
    assert receipt.data == render_job(parse_document(RECEIPT)).data
    assert pids == []


def test_prints_that_come_while_one_renders_inline_go_to_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """One print at a time renders inline for want of a worker; the next ones start the workers, so under load every
    core renders and the event loop keeps its own."""
    loading = threading.Event()
    release = threading.Event()
    load_symbols = loading_module.load_symbol_renderer

    def slow_load() -> None:  # the inline render is held while the second print comes
        loading.set()
        release.wait(WAIT_S)
        load_symbols()

    monkeypatch.setattr(loading_module, "load_symbol_renderer", slow_load)

    async def scenario(pool: RenderPool) -> Any:
        first = asyncio.create_task(pool.render("till-1", RECEIPT, raw_policy="allow"))
        await asyncio.to_thread(loading.wait, WAIT_S)
        second = await pool.render("till-2", RECEIPT, raw_policy="allow")
        pids = pool.worker_pids()
        release.set()
        return await first, second, pids

    first, second, pids = run(scenario)
    assert first.data == second.data == render_job(parse_document(RECEIPT)).data
    assert len(pids) == 1  # the second print started a worker and rendered there


def test_a_rush_while_the_workers_start_renders_inline_one_print_after_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rush after a quiet spell: the second print starts the workers, and until one is up the prints take the
    inline render slot in turn instead of waiting for them (here their imports are held until the end)."""
    monkeypatch.setenv("HELD_IMPORT_DIR", str(tmp_path))
    monkeypatch.setattr(pool_module, "WORKER_PRELOAD", (*WORKER_PRELOAD, "spool.held_import"))

    async def scenario(pool: RenderPool) -> tuple[list[Any], list[int]]:
        prints = [pool.render(f"till-{n}", RECEIPT, raw_policy="allow") for n in range(4)]
        # The held workers cannot answer before "go" (or their own 30 s): the prints must not wait for them.
        rendered = await asyncio.wait_for(asyncio.gather(*prints), timeout=20)
        deadline = time.monotonic() + WAIT_S
        while len(pool.worker_pids()) < 2 and time.monotonic() < deadline:  # their processes start in a thread
            await asyncio.sleep(0.01)
        starting = pool.worker_pids()
        (tmp_path / "go").write_text("1")
        return rendered, starting

    rendered, starting = run(scenario, context=multiprocessing.get_context("spawn"))
    assert [each.data for each in rendered] == [render_job(parse_document(RECEIPT)).data] * 4
    assert len(starting) == 2  # one started by each print that found the slot taken, up to the pool's size


def test_a_costly_print_and_a_preview_wait_for_a_worker_even_when_none_is_up() -> None:
    """Only what is estimated cheap renders inline for want of a worker: a worker can be stopped at the render
    budget, a thread cannot. Drawn text estimated over the limit, and every preview, start a worker."""
    drawn = cjk(120)

    async def costly(pool: RenderPool) -> Any:
        rendered = await pool.render("till-1", drawn, raw_policy="allow")
        return rendered, pool.worker_pids()

    async def preview(pool: RenderPool) -> Any:
        shown = await pool.preview("till-1", TINY, raw_policy="allow")  # even a one-line ticket's: emulating takes ms
        return shown, pool.worker_pids()

    assert estimated_cost(drawn) > COLD_INLINE_COST_US
    rendered, after_costly = run(costly)
    assert rendered.data.startswith(b"\x1b@") and len(rendered.data) > 1_000  # drawn as an image
    assert len(after_costly) == 1
    shown, after_preview = run(preview)
    assert shown.png.startswith(b"\x89PNG")
    assert len(after_preview) == 1


def children() -> set[int]:
    return {int(pid) for task in Path("/proc/self/task").iterdir() for pid in (task / "children").read_text().split()}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="Linux /proc")
def test_a_worker_idle_for_a_minute_is_stopped_with_the_forkserver_and_the_next_render_starts_them_again() -> None:
    clock = ManualClock()  # idle time passes without waiting for it

    async def scenario(pool: RenderPool) -> Any:
        await pool.preview("till-1", document(LOGO), raw_policy="allow")  # a preview always starts a worker
        first = await pool.render("till-1", document(LOGO), raw_policy="allow")
        started, processes = pool.worker_pids(), children()
        clock.advance(59.0)
        kept = pool.retire_idle()
        clock.advance(1.0)
        stopped = pool.retire_idle()
        after_retirement = pool.worker_pids()
        deadline = time.monotonic() + 10
        while children() & processes and time.monotonic() < deadline:  # the forkserver stops in the background
            await asyncio.sleep(0.05)
        left = children() & processes
        again = await pool.render("till-1", document(LOGO), raw_policy="allow")  # inline: none is up
        cold = pool.worker_pids()
        preview = await pool.preview("till-1", RECEIPT, raw_policy="allow")
        return (
            first,
            started,
            processes,
            kept,
            stopped,
            after_retirement,
            left,
            (again, cold),
            preview,
            pool.worker_pids(),
        )

    first, started, processes, kept, stopped, after_retirement, left, (again, cold), preview, restarted = run(
        scenario, clock=clock, context=multiprocessing.get_context("forkserver")
    )
    assert len(started) == 1 and len(processes) >= 2  # the worker, the forkserver (and its resource tracker)
    assert (kept, stopped) == (0, 1)
    assert after_retirement == []
    assert left == set()  # worker, forkserver and resource tracker all gone
    assert again.data == first.data and cold == []  # the next receipt did not wait for a worker to start
    assert preview.png.startswith(b"\x89PNG")  # the first preview after the retirement starts one again
    assert len(restarted) >= 1 and not set(restarted) & set(started)


def test_plain_tickets_start_no_worker_process() -> None:
    async def scenario(pool: RenderPool) -> Any:
        await pool.render("till-1", TINY, raw_policy="allow")
        await pool.render("till-1", KITCHEN_ORDER, raw_policy="allow")
        return pool.worker_pids(), multiprocessing.active_children()

    pids, children = run(scenario, context=multiprocessing.get_context("forkserver"))
    assert pids == [] and children == []


def test_text_the_printer_has_no_page_for_is_drawn_by_a_worker_not_on_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The estimate cannot know every printer's pages: Russian prints from PC866 on most printers, but a TM-U220
    has only PC437, so there it must be drawn. The render on the loop stops before drawing and a worker draws it,
    to the same bytes; on a printer with PC866 it stays on the loop."""
    from ticket_daemon.printers.registry import ConfiguredPrinter, PrinterRegistry
    from ticket_daemon.render import job, work

    registry = PrinterRegistry(
        [
            ConfiguredPrinter("bar", "file:///dev/null", default=True),
            ConfiguredPrinter("old", "file:///dev/null", profile="TM-U220"),
        ]
    )
    russian = document(text("Привет, мир"))
    assert estimated_cost(russian) <= ON_LOOP_COST_US
    may_draw: list[bool] = []

    def watched(*arguments: Any, **keywords: Any) -> Any:
        may_draw.append(keywords.get("may_draw", True))
        return job.render_document(*arguments, **keywords)

    monkeypatch.setattr(work, "render_document", watched)  # renders in this process only

    async def scenario(pool: RenderPool) -> Any:
        on_bar = await pool.render("till-1", russian, raw_policy="allow", registry=registry, printer_name="bar")
        workers_after_bar = pool.worker_pids()
        on_old = await pool.render("till-1", russian, raw_policy="allow", registry=registry, printer_name="old")
        return on_bar, workers_after_bar, on_old, pool.worker_pids()

    on_bar, workers_after_bar, on_old, workers = run(scenario)
    for rendered, printer in ((on_bar, "bar"), (on_old, "old")):
        in_process = job.render_document(russian, raw_policy="allow", registry=registry, printer_name=printer)
        assert rendered.data == in_process.data and rendered.printer == printer
    assert on_bar.notes == () and on_old.notes == ("TEXT: 9 characters printed as image in command 0",)
    assert workers_after_bar == [] and len(workers) == 1
    assert may_draw == [False, False]  # the loop's two renders; the worker drew the second


# --- what comes back -----------------------------------------------------------------------------------------------


def test_a_tiny_ticket_renders_inline_to_the_same_bytes_and_starts_no_process() -> None:
    async def scenario(pool: RenderPool) -> Any:
        outcome = await pool.render("till-1", TINY, raw_policy="allow")
        return outcome, pool.worker_pids()

    outcome, pids = run(scenario)
    assert outcome.data == render_job(parse_document(TINY)).data
    assert (outcome.dot_width, outcome.printer) == (576, None)  # no registry: laid out for its own 80 mm profile
    assert json.loads(outcome.document_json)["commands"][0]["type"] == "text"
    assert pids == []


def test_a_receipt_renders_in_a_worker_process_to_the_same_bytes() -> None:
    async def scenario(pool: RenderPool) -> Any:
        await pool.warm()
        outcome = await pool.render("till-1", RECEIPT, raw_policy="allow")
        preview = await pool.preview("till-1", RECEIPT, raw_policy="allow")
        return outcome, preview, pool.worker_pids()

    outcome, preview, pids = run(scenario)
    assert outcome.data == render_job(parse_document(RECEIPT)).data
    assert preview.png.startswith(b"\x89PNG") and preview.width == 576 and preview.height > 100
    assert base64.b64decode(preview.png_base64) == preview.png
    assert len(pids) == 2 and os.getpid() not in pids


def test_a_client_mistake_comes_back_from_a_worker_as_its_categorised_error() -> None:
    bad = document(*[text("x")] * 3, {"type": "qr", "data": {"size": 3}})
    with pytest.raises(TicketError) as expected:
        parse_document(bad)

    async def scenario(pool: RenderPool) -> str:
        with pytest.raises(TicketError) as raised:
            await pool.render("till-1", bad, raw_policy="allow")
        return str(raised.value)

    assert run(scenario) == str(expected.value)


# --- budgets -------------------------------------------------------------------------------------------------------


def test_a_document_over_the_time_budget_is_refused_its_worker_killed_and_the_pool_keeps_serving() -> None:
    async def scenario(pool: RenderPool) -> Any:
        await pool.warm()
        await pool.render("warm", RECEIPT, raw_policy="allow")  # both workers up
        before = pool.worker_pids()
        started = time.monotonic()
        with pytest.raises(TicketError) as raised:
            await pool.render("heavy", cjk(65_536), raw_policy="allow")
        took = time.monotonic() - started
        after = await pool.render("till-1", RECEIPT, raw_policy="allow")
        return str(raised.value), took, before, pool.worker_pids(), pool.killed, after

    message, took, before, now, killed, after = run(scenario, timeout_seconds=1.0)
    assert message == "EXECUTION: document too costly to render (took more than 1 s)"
    assert took < 5  # refused at the budget, not when the render would have ended (~20 s)
    assert killed == 1
    killed_pids = [pid for pid in before if pid not in now]
    assert len(killed_pids) == 1
    wait_gone(killed_pids)
    assert after.data == render_job(parse_document(RECEIPT)).data


def test_printer_data_over_the_cap_is_refused_inline_and_in_a_worker() -> None:
    async def scenario(pool: RenderPool) -> list[str]:
        messages = []
        for datos in (document(text("ñ" * 5_000)), qr_codes(12)):
            with pytest.raises(TicketError) as raised:
                await pool.render("till-1", datos, raw_policy="allow")
            messages.append(str(raised.value))
        return messages

    inline, pooled = run(scenario, max_rendered_bytes=4096)
    size = len(render_job(parse_document(document(text("ñ" * 5_000)))).data)
    assert inline == f"EXECUTION: document too costly to render ({size} bytes of printer data, the limit is 4 KB)"
    assert pooled.startswith("EXECUTION: document too costly to render (") and pooled.endswith("the limit is 4 KB)")


def test_a_document_too_large_to_store_is_refused() -> None:
    async def scenario(pool: RenderPool) -> str:
        with pytest.raises(TicketError) as raised:
            await pool.render("till-1", RECEIPT, raw_policy="allow")
        return str(raised.value)

    message = run(scenario, max_document_bytes=2048)
    assert message.startswith("EXECUTION: document too large to store (")
    assert message.endswith("bytes of validated document, the limit is 2 KB)")


# --- fairness ------------------------------------------------------------------------------------------------------


def test_six_heavy_renders_from_six_clients_do_not_hold_up_a_small_ticket_or_a_receipt() -> None:
    async def scenario(pool: RenderPool) -> list[str]:
        await pool.warm()
        await pool.render("warm", RECEIPT, raw_policy="allow")
        await pool.render("warm", TINY, raw_policy="allow")  # the renderer is loaded in this process too
        finished: list[str] = []

        async def render(client: str, datos: dict[str, Any], preview: bool = False) -> None:
            if preview:
                await pool.preview(client, datos, raw_policy="allow")
            else:
                await pool.render(client, datos, raw_policy="allow")
            finished.append(client)

        heavy = [asyncio.create_task(render(f"heavy-{n}", cjk(1_200), preview=True)) for n in range(6)]
        await asyncio.sleep(0.2)  # the heavy previews are running or waiting
        await asyncio.gather(render("small-ticket", TINY), render("receipt", RECEIPT))
        await asyncio.gather(*heavy)
        return finished

    finished = run(scenario)
    assert finished.index("small-ticket") == 0, finished
    assert finished.index("receipt") <= 1, finished  # at most one heavy render ahead of it
    assert sorted(finished[2:]) == [f"heavy-{n}" for n in range(6)]


def test_one_client_holds_at_most_one_worker_at_a_time() -> None:
    async def scenario(pool: RenderPool) -> list[str]:
        await pool.warm()
        await pool.render("warm", RECEIPT, raw_policy="allow")
        finished: list[str] = []

        async def render(client: str, label: str) -> None:
            await pool.render(client, cjk(3000), raw_policy="allow")
            finished.append(label)

        first = asyncio.create_task(render("a", "a-1"))
        second = asyncio.create_task(render("a", "a-2"))
        await asyncio.sleep(0.05)
        await asyncio.gather(render("b", "b-1"), first, second)
        return finished

    finished = run(scenario, processes=3)
    # With three workers, a second worker for client a would have let a-2 run beside a-1 and b-1.
    assert finished.index("b-1") < finished.index("a-2"), finished


def test_a_client_that_leaves_mid_render_frees_its_worker_for_the_next_client_at_once() -> None:
    async def scenario(pool: RenderPool) -> Any:
        await pool.warm()
        await pool.render("warm", RECEIPT, raw_policy="allow")
        before = pool.worker_pids()
        leaving = asyncio.create_task(pool.render("leaves", cjk(65_536), raw_policy="allow"))
        await asyncio.sleep(0.3)
        leaving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leaving
        started = time.monotonic()
        # Neither client may wait for the abandoned render (~20 s): while its replacement starts, they may render
        # in the inline slot.
        await asyncio.gather(*(pool.render(f"next-{n}", RECEIPT, raw_policy="allow") for n in range(2)))
        took = time.monotonic() - started
        deadline = time.monotonic() + WAIT_S
        while not pool.worker_pids() and time.monotonic() < deadline:  # the replacement's process starts in a thread
            await asyncio.sleep(0.01)
        return before, pool.worker_pids(), took

    before, after, took = run(scenario, processes=1)
    assert took < 5
    assert len(before) == len(after) == 1 and before != after
    wait_gone(before)


def test_a_worker_process_that_died_while_idle_is_replaced_before_the_next_render() -> None:
    async def scenario(pool: RenderPool) -> list[int]:
        await pool.warm()
        await asyncio.gather(*(pool.render(f"till-{n}", RECEIPT, raw_policy="allow") for n in range(2)))
        pids = pool.worker_pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        await asyncio.to_thread(wait_gone, pids)
        await asyncio.sleep(0.1)  # the event loop sees each socket's end
        await asyncio.gather(*(pool.render(f"till-{n}", RECEIPT, raw_policy="allow") for n in range(2)))
        return pids

    pids = run(scenario)  # both renders succeed on fresh workers: none told "please retry"
    assert len(pids) == 2


def test_a_worker_process_that_dies_is_replaced_and_rendering_goes_on() -> None:
    async def scenario(pool: RenderPool) -> list[str]:
        await pool.warm()
        await pool.render("till-1", RECEIPT, raw_policy="allow")
        for pid in pool.worker_pids():
            os.kill(pid, signal.SIGKILL)
        outcomes = []
        for _ in range(pool.size + 1):
            try:
                await pool.render("till-1", RECEIPT, raw_policy="allow")
            except TicketError as error:
                outcomes.append(str(error))
            else:
                outcomes.append("rendered")
                break
        return outcomes

    outcomes = run(scenario)
    assert outcomes[-1] == "rendered", outcomes
    assert set(outcomes[:-1]) <= {"EXECUTION: the render worker stopped unexpectedly, please retry"}


# --- life ----------------------------------------------------------------------------------------------------------


def test_closing_the_pool_leaves_no_worker_process_and_refuses_later_renders() -> None:
    async def scenario(pool: RenderPool) -> tuple[list[int], str]:
        await pool.warm()
        await pool.render("till-1", RECEIPT, raw_policy="allow")
        pids = pool.worker_pids()
        busy = asyncio.create_task(pool.render("heavy", cjk(65_536), raw_policy="allow"))
        await asyncio.sleep(0.3)
        await pool.close()
        with pytest.raises(TicketError) as raised:
            await busy
        assert pool.worker_pids() == []
        with pytest.raises(TicketError) as later:
            await pool.render("till-1", RECEIPT, raw_policy="allow")
        assert str(later.value).startswith("EXECUTION: the print service is shutting down")
        return pids, str(raised.value)

    pids, interrupted = run(scenario)
    assert len(pids) == 2
    assert interrupted.startswith("EXECUTION: ")
    wait_gone(pids)


def test_a_pool_that_killed_and_replaced_workers_leaves_no_descriptor_open_after_close() -> None:
    async def scenario(pool: RenderPool) -> None:
        await pool.warm()
        await pool.render("till-1", RECEIPT, raw_policy="allow")
        os.kill(pool.worker_pids()[0], signal.SIGKILL)  # one dies from outside…
        with pytest.raises(TicketError):  # …and one is killed over its budget
            await pool.render("heavy", cjk(65_536), raw_policy="allow")
        for n in range(3):
            try:
                await pool.render(f"till-{n}", RECEIPT, raw_policy="allow")
            except TicketError as error:
                assert "stopped unexpectedly" in str(error)

    # The forkserver and its descriptors exist from the first run on, for the life of the test process.
    run(scenario, timeout_seconds=1.0)
    before = set(os.listdir("/proc/self/fd"))
    run(scenario, timeout_seconds=1.0)
    assert set(os.listdir("/proc/self/fd")) == before


def test_a_pool_of_spawned_workers_renders_and_kills_like_the_forkserver_one() -> None:
    async def scenario(pool: RenderPool) -> Any:
        await pool.warm()
        outcome = await pool.render("till-1", RECEIPT, raw_policy="allow")
        with pytest.raises(TicketError) as raised:
            await pool.render("heavy", cjk(65_536), raw_policy="allow")
        return outcome, str(raised.value), pool.killed

    outcome, message, killed = run(scenario, timeout_seconds=2.0, context=multiprocessing.get_context("spawn"))
    assert outcome.data == render_job(parse_document(RECEIPT)).data
    assert message == "EXECUTION: document too costly to render (took more than 2 s)"
    assert killed == 1


def test_a_printer_identified_after_start_has_its_paper_used_by_the_workers_from_then_on() -> None:
    """Each request to a worker carries the registry as it is now: one pickled once is sent again once it changes."""
    from ticket_daemon.printers.identify import PrinterIdentity
    from ticket_daemon.printers.registry import ConfiguredPrinter, PrinterRegistry

    registry = PrinterRegistry([ConfiguredPrinter("caja", "file:///dev/null")])
    with_logo = document(text("Ticket"), LOGO)
    assert estimated_cost(with_logo) > TINY_COST_US  # rendered by a worker process

    async def scenario(pool: RenderPool) -> tuple[int, int, int]:
        async def width() -> int:
            rendered = await pool.render("till", with_logo, raw_policy="safe", registry=registry)
            assert rendered.printer == "caja"
            return rendered.dot_width

        before, again = await width(), await width()
        registry.identified("caja", PrinterIdentity(model="POS-5890"))  # a 58 mm printer: 384 dots
        return before, again, await width()

    assert run(scenario) == (576, 576, 384)


def test_renders_waiting_for_a_worker_render_in_arrival_order() -> None:
    """Twenty tills send a receipt at once to one worker: each render that ends hands the worker to the next."""
    limits = RenderLimits(timeout_seconds=30.0, max_rendered_bytes=2 * 1024 * 1024, max_document_bytes=4 << 20)
    tills = 20

    async def main() -> list[int]:
        pool = RenderPool(limits, processes=1)
        try:
            await pool.warm()
            finished: list[int] = []

            async def till(n: int) -> None:
                await pool.render(f"till-{n}", RECEIPT, raw_policy="allow")
                finished.append(n)

            await asyncio.wait_for(asyncio.gather(*(till(n) for n in range(tills))), timeout=WAIT_S)
            return finished
        finally:
            await pool.close()

    assert asyncio.run(main()) == list(range(tills))


def test_a_render_that_comes_as_a_worker_comes_free_queues_behind_those_waiting() -> None:
    """The worker goes to the render that waited longest, not to one whose step happened to run first: under a rush
    of receipts, a waiting render that kept losing its worker to newcomers left its till waiting several times
    longer than the others. (No process starts: the workers are only handed around.)"""
    limits = RenderLimits(timeout_seconds=30.0, max_rendered_bytes=2 * 1024 * 1024, max_document_bytes=4 << 20)

    async def main() -> list[str]:
        pool = RenderPool(limits, processes=1)
        order: list[str] = []

        async def render(name: str) -> None:
            worker = await pool._acquire(heavy=False)
            order.append(name)
            await asyncio.sleep(0)
            pool._release(worker, heavy=False)

        try:
            busy = await pool._acquire(heavy=False)
            waiting = [asyncio.create_task(render(name)) for name in ("b", "c")]
            await asyncio.sleep(0)  # both wait for the busy worker
            newcomer = asyncio.create_task(render("d"))  # its first step is queued before b is told
            pool._release(busy, heavy=False)
            await asyncio.wait_for(asyncio.gather(*waiting, newcomer), timeout=WAIT_S)
            return order
        finally:
            await pool.close()

    assert asyncio.run(main()) == ["b", "c", "d"]


def test_a_render_that_leaves_while_others_wait_with_the_same_document_takes_only_its_own_charge_along() -> None:
    """Three tills wait with the same receipt, so their charges for the render budget are alike; the one that leaves
    must take its own charge out of the queue, not the first one like it, or the render whose charge was taken
    would fail when it ends."""

    async def scenario(pool: RenderPool) -> str:
        await pool.warm()
        # Drawn text that holds the one worker for a third of a second or more while the two receipts wait.
        running = asyncio.create_task(pool.render("a", cjk(12_000), raw_policy="allow"))
        await asyncio.sleep(0.05)
        staying = asyncio.create_task(pool.render("b", RECEIPT, raw_policy="allow"))
        leaving = asyncio.create_task(pool.render("c", RECEIPT, raw_policy="allow"))
        await asyncio.sleep(0.05)  # both wait for the one worker
        leaving.cancel()
        await asyncio.gather(leaving, return_exceptions=True)
        await running
        return str((await staying).digest)

    assert run(scenario, processes=1)


def test_a_render_that_gives_up_as_the_worker_is_handed_to_it_passes_the_worker_on() -> None:
    limits = RenderLimits(timeout_seconds=30.0, max_rendered_bytes=2 * 1024 * 1024, max_document_bytes=4 << 20)
    handed: list[asyncio.Task[Any]] = []

    class GivingUpPool(RenderPool):
        def _release(self, worker: Any, *, heavy: bool) -> None:
            super()._release(worker, heavy=heavy)
            for task in handed:  # the waiter just handed the worker leaves before it takes it
                task.cancel()
            handed.clear()

    async def main() -> str:
        pool = GivingUpPool(limits, processes=1)
        try:
            await pool.warm()
            busy = asyncio.create_task(pool.render("a", RECEIPT, raw_policy="allow"))
            await asyncio.sleep(0)
            leaving = asyncio.create_task(pool.render("b", RECEIPT, raw_policy="allow"))
            await asyncio.sleep(0)
            staying = asyncio.create_task(pool.render("c", RECEIPT, raw_policy="allow"))
            await asyncio.sleep(0)
            handed.append(leaving)
            await busy
            with pytest.raises(asyncio.CancelledError):
                await leaving
            rendered = await asyncio.wait_for(staying, timeout=WAIT_S)  # not left waiting beside an idle worker
            return str(rendered.digest)
        finally:
            await pool.close()

    assert asyncio.run(main())


# --- the renderer loading after start-up ---------------------------------------------------------------------------


def test_a_render_asked_for_while_the_renderer_loads_waits_for_it_and_the_event_loop_keeps_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loading = threading.Event()
    release = threading.Event()

    def slow_load() -> None:  # an import that takes a while, in the inline render thread
        loading.set()
        release.wait(WAIT_S)

    monkeypatch.setattr(pool_module, "load_renderer", slow_load)

    async def scenario(pool: RenderPool) -> tuple[bool, int, bool]:
        pool.load_renderer()
        await asyncio.to_thread(loading.wait, WAIT_S)
        render = asyncio.create_task(pool.render("till-1", TINY, raw_policy="allow"))
        ticks = 0
        for _ in range(20):  # the loop runs other work while the render waits for the load
            await asyncio.sleep(0.01)
            ticks += 1
        waited = not render.done()
        release.set()
        rendered = await render
        return waited, ticks, bool(rendered.data)

    waited, ticks, printed = run(scenario)
    assert waited and ticks == 20 and printed


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="a system with the SCHED_BATCH policy (Linux)")
def test_render_workers_run_as_batch_work_and_the_daemon_does_not() -> None:
    """A worker woken by a request must not preempt the event loop that woke it: workers ask for SCHED_BATCH."""

    async def scenario(pool: RenderPool) -> Any:
        await pool.warm()
        return [os.sched_getscheduler(pid) for pid in pool.worker_pids()]

    policies = run(scenario)
    assert policies == [os.SCHED_BATCH, os.SCHED_BATCH]
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
