"""After a restart a resent job gets its result once, jobs of a printer no longer configured end at start,
and an open dashboard on the network is warned about.

Driven on an in-process daemon (see ``daemon_story``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from server.daemon_story import (
    SENDER,
    SLOW_RETRY,
    WAIT_S,
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
from spool.outbox import Outbox
from ticket_daemon.config import Settings
from ticket_daemon.document.errors import TicketError
from ticket_daemon.protocol import messages, requests
from ticket_daemon.protocol.connection import ClientIdentity
from ticket_daemon.server.daemon import Daemon
from ticket_daemon.spool.intake import Submitter, submit_ticket
from ticket_daemon.store.database import SqliteJobStore
from ticket_daemon.store.jobs import DuplicateJob, Job, JobState
from ticket_daemon.store.sqlite import SPOOL_FILE, SqliteSpool

pytestmark = pytest.mark.usefixtures("isolated_env")  # no TICKET_* setting from the environment running the tests


class PausingSpool(SqliteSpool):
    """The real SQLite spool, with a pause at the racing point of a resend: the store has found the resent job to be
    a duplicate (and read its state), and the intake has not handled that answer yet. While paused, the test ends the
    job, which is what a printer finishing it at exactly that moment does."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.pause_on_duplicate = False
        self.duplicate_found = asyncio.Event()
        self.go_on = asyncio.Event()

    async def add(self, job: Job, **options: Any) -> Job:
        try:
            return await super().add(job, **options)
        except DuplicateJob:
            if self.pause_on_duplicate:
                self.duplicate_found.set()
                await self.go_on.wait()
            raise


RESENDER = "till-1"  # a client that names itself: its resent id is a duplicate (docs/protocol.md "Idempotent ids")


async def _restarted_with_a_waiting_job(settings: Settings) -> tuple[Daemon, PausingSpool, Job]:
    """A job T1 of RESENDER acked by a first daemon, then a second daemon (on a PausingSpool) after a restart, with
    T1 waiting for its dead printer there."""
    first = Daemon(settings)
    await first.start()
    assert kinds(await send(first, ticket("T1"), client_id=RESENDER))[0] == ("ack", "queued")
    await first.stop()  # the durable spool keeps the job
    reader = SqliteJobStore(settings.storage.data_dir / SPOOL_FILE)
    left = reader.find(RESENDER, "T1")
    reader.close()
    tried = left.attempts if left is not None else 0  # the first daemon may have tried it already

    spool = PausingSpool(settings.storage.data_dir / SPOOL_FILE)
    second = Daemon(settings, store=spool)
    await second.start()
    # The second daemon's own attempt ends in "waiting" (then the slow retry leaves time to cancel it).
    await eventually(
        lambda: in_state(second, "T1", JobState.WAITING, attempts_over=tried, owner=RESENDER),
        "the job to wait for its printer",
    )
    waiting = await second.spool.store.find(RESENDER, "T1")
    assert waiting is not None
    return second, spool, waiting


def test_a_job_resent_after_a_restart_gets_its_result_once(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, [dead_printer()], spool=SLOW_RETRY)

    async def story() -> None:
        second, _, waiting = await _restarted_with_a_waiting_job(settings)
        try:
            resent = await send(second, ticket("T1"), client_id=RESENDER)
            assert (resent[0]["tipo"], resent[0]["status"]) == ("ack", "duplicate")
            await second.spool.cancel(waiting.seq)  # the job ends after the duplicate's ack
            await eventually(lambda: has_result(resent), "the result of the resent job")
            told = [m for m in resent if m["tipo"] != "job"]  # "job waiting" notices may come in between
            assert [m["tipo"] for m in told] == ["ack", "result"]
            assert told[1]["mensaje"] == messages.CANCELLED
        finally:
            await second.stop()

    run(story)


def test_a_job_that_ends_while_its_resend_is_checked_as_a_duplicate_still_answers_that_ack(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, [dead_printer()], spool=SLOW_RETRY)

    async def story() -> None:
        second, spool, waiting = await _restarted_with_a_waiting_job(settings)
        try:
            spool.pause_on_duplicate = True
            resent = Outbox()
            request = requests.parse(ticket("T1"))
            assert isinstance(request, requests.Ticket)
            submitter = Submitter(ClientIdentity("10.0.0.5", RESENDER), resent, second.rate_limiter)
            resending = asyncio.create_task(submit_ticket(second.spool, request, submitter))
            await asyncio.wait_for(spool.duplicate_found.wait(), WAIT_S)  # found a duplicate of a waiting job
            await second.spool.cancel(waiting.seq)  # ... which ends right now, before the intake handles the answer
            spool.go_on.set()
            await asyncio.wait_for(resending, WAIT_S)
            await eventually(lambda: has_result(resent), "the result of the resent job")
            told = [m for m in resent if m["tipo"] != "job"]
            assert [(m["tipo"], m["status"]) for m in told] == [("ack", "duplicate"), ("result", "error")]
            assert told[0]["job_status"] == "cancelled"
            assert told[1]["mensaje"] == messages.CANCELLED + messages.NOT_PRINTED_AGAIN
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
