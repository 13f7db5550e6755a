"""A stop never acks a job it has not stored, and tells every waiting job of a memory queue, however old.

Driven on an in-process daemon (see ``daemon_story``)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest

from server.daemon_story import (
    SENDER,
    SLOW_RETRY,
    dead_printer,
    eventually,
    has_result,
    kinds,
    run,
    send,
    settings_for,
    ticket,
)
from ticket_daemon.protocol import messages
from ticket_daemon.server.daemon import Daemon

pytestmark = pytest.mark.usefixtures("isolated_env")  # no TICKET_* setting from the environment running the tests


def test_a_ticket_rendered_while_the_daemon_stops_is_refused_not_acked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path, [dead_printer()], spool=SLOW_RETRY)

    async def story() -> None:
        daemon = Daemon(settings)
        await daemon.start()
        render = daemon.spool.render_pool.render

        async def render_then_stop(*args: Any, **kwargs: Any) -> Any:
            rendered = await render(*args, **kwargs)
            daemon.spool.accepting = False  # the stop began while this document was rendered
            return rendered

        monkeypatch.setattr(daemon.spool.render_pool, "render", render_then_stop)
        try:
            replies = await send(daemon, ticket("S1"))
            assert kinds(replies) == [("error", messages.SHUTTING_DOWN)]
            assert await daemon.spool.store.find(SENDER, "S1") is None
        finally:
            await daemon.stop()

    run(story)


def test_stopping_the_memory_queue_ends_old_waiting_jobs_too(tmp_path: Path) -> None:
    printers = [dead_printer("kitchen"), {"name": "bar", "uri": "virtual://bar", "default": False}]
    settings = settings_for(tmp_path, printers, spool=SLOW_RETRY, storage="memory", queue_capacity=3)

    async def story() -> None:
        daemon = Daemon(settings)
        await daemon.start()
        old = await send(daemon, ticket("old", printer="kitchen"))
        for n in range(6):  # newer jobs, all printed: the old one is far from the most recent
            done = await send(daemon, ticket(f"bar-{n}", printer="bar"))
            await eventually(partial(has_result, done), "a bar receipt to print")
        await daemon.stop()
        assert old[-1]["tipo"] == "result" and old[-1]["mensaje"] == messages.SHUTTING_DOWN

    run(story)
