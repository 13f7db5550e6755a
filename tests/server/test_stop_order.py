"""A door that confirms results while it closes (the MQTT session: the broker's last acknowledgements arrive from its
network thread) is closed after the printers drain and before the spool closes, so those results are recorded as
delivered and a client that comes back does not get them again."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from server.daemon_story import eventually, run, send, settings_for, ticket
from ticket_daemon.server.daemon import Daemon
from ticket_daemon.store.sqlite import SqliteSpool


def test_a_result_a_door_confirms_while_it_closes_is_recorded_as_delivered(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, [{"name": "bar", "uri": "virtual://bar", "default": True}])
    confirmed = threading.Event()

    async def story() -> None:
        daemon = Daemon(settings, store=SqliteSpool(tmp_path / "spool.sqlite3"))
        await daemon.start()
        got = await send(daemon, ticket("R1"), client_id="site-1")
        await eventually(lambda: _has_result(got), "the result handed to the door")
        loop = asyncio.get_running_loop()

        async def close_door() -> None:
            def network_thread() -> None:  # as paho hands the broker's acknowledgement over
                loop.call_soon_threadsafe(daemon.spool.results.written, "site-1", "R1")
                confirmed.set()

            threading.Thread(target=network_thread).start()
            await asyncio.to_thread(confirmed.wait, 10)

        daemon.close_on_stop(close_door)
        await daemon.stop()

    run(story)
    with sqlite3.connect(tmp_path / "spool.sqlite3") as db:
        assert db.execute("SELECT id, delivered FROM jobs").fetchall() == [("R1", 1)]


async def _has_result(got: list[dict[str, object]]) -> bool:
    return any(message.get("tipo") == "result" for message in got)
