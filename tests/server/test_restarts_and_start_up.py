"""After a restart a resent job gets its result once, jobs of a printer no longer configured end at start,
and an open dashboard on the network is warned about.

Driven on an in-process daemon (see ``daemon_story``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from server.daemon_story import (
    SENDER,
    SLOW_RETRY,
    dead_printer,
    eventually,
    has_result,
    in_state,
    kinds,
    run,
    send,
    settings_for,
    ticket,
)
from ticket_daemon.document.errors import TicketError
from ticket_daemon.protocol import messages
from ticket_daemon.server.daemon import Daemon
from ticket_daemon.store.database import SqliteJobStore
from ticket_daemon.store.jobs import JobState
from ticket_daemon.store.sqlite import SPOOL_FILE

pytestmark = pytest.mark.usefixtures("isolated_env")  # no TICKET_* setting from the environment running the tests


def test_a_job_resent_after_a_restart_gets_its_result_once(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, [dead_printer()], spool=SLOW_RETRY)

    async def story() -> None:
        first = Daemon(settings)
        await first.start()
        assert kinds(await send(first, ticket("T1")))[0] == ("ack", "queued")
        await first.stop()  # the durable spool keeps the job
        reader = SqliteJobStore(settings.storage.data_dir / SPOOL_FILE)
        left = reader.find(SENDER, "T1")
        reader.close()
        tried = left.attempts if left is not None else 0  # the first daemon may have tried it already

        second = Daemon(settings)
        await second.start()
        try:
            resent = await send(second, ticket("T1"))
            assert resent[0]["status"] == "duplicate"
            # The first daemon may have left the job waiting already: wait for the second daemon's own attempt to
            # end in "waiting" (then the slow retry leaves time to cancel it), not for that leftover state.
            await eventually(
                lambda: in_state(second, "T1", JobState.WAITING, attempts_over=tried),
                "the job to wait for its printer",
            )
            pending = await second.spool.store.find(SENDER, "T1")
            assert pending is not None
            await second.spool.cancel(pending.seq)  # the job ends (any final state)
            await eventually(lambda: has_result(resent), "the result of the resent job")
            await asyncio.sleep(0.1)
            told = [m for m in resent if m["tipo"] != "job"]  # "job waiting" notices may come in between
            assert [m["tipo"] for m in told] == ["ack", "result"]
            assert told[1]["mensaje"] == messages.CANCELLED
        finally:
            await second.stop()

    run(story)


def test_jobs_of_a_removed_printer_end_with_an_error_at_start(tmp_path: Path) -> None:
    async def story() -> None:
        before = Daemon(settings_for(tmp_path, [dead_printer("kitchen")], spool=SLOW_RETRY))
        await before.start()
        await send(before, ticket("K1"))
        await before.stop()

        after = Daemon(settings_for(tmp_path, [{"name": "bar", "uri": "virtual://bar", "default": True}]))
        await after.start()
        try:
            job = await after.spool.store.find(SENDER, "K1")
            assert job is not None and job.state is JobState.ERROR
            assert job.message == "PRINTER: Printer 'kitchen' is no longer configured"
            assert await after.spool.queue_depth() == 0  # no longer counts against the capacity
            with pytest.raises(TicketError, match="no longer configured"):
                await after.spool.reprint(job.seq)
        finally:
            await after.stop()

    run(story)


def test_listening_on_every_interface_without_a_dashboard_password_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ticket_daemon.server.daemon")
    settings = settings_for(tmp_path, [dead_printer()], storage="memory", host="0.0.0.0")

    async def story() -> None:
        daemon = Daemon(settings)  # started only: nothing binds in this test
        await daemon.start()
        await daemon.stop()

    run(story)
    assert any("without a dashboard password" in r.getMessage() for r in caplog.records)
