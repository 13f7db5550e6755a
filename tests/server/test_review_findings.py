"""Server review findings, driven on an in-process :class:`Daemon` (the printer is a refused or virtual one on
127.0.0.1): a resent job still gets its result after a restart, the rate limit holds, queues never freeze or
swallow jobs, and a stop never loses an acked job. Every wait is bounded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from server.harness import receipt, refused_port
from ticket_daemon.config import Settings, load_settings
from ticket_daemon.document.errors import TicketError
from ticket_daemon.printers.status import PrinterState
from ticket_daemon.server.daemon import Daemon
from ticket_daemon.spool import protocol
from ticket_daemon.spool.durable import SPOOL_FILE, SqliteSpool
from ticket_daemon.spool.intake import Submitter, submit_ticket
from ticket_daemon.spool.jobs import DuplicateJob, Job, JobState
from ticket_daemon.spool.queue import MemoryJobStore
from ticket_daemon.spool.store import SqliteJobStore, StorageError

WAIT_S = 10.0
Message = dict[str, Any]


def settings_for(
    data_dir: Path,
    printers: list[dict[str, Any]],
    *,
    spool: dict[str, Any] | None = None,
    storage: str = "sqlite",
    **server: Any,
) -> Settings:
    return load_settings(
        None,
        {
            "server": {"host": "127.0.0.1", "port": 0, "shutdown_grace_seconds": 2.0, **server},
            "storage": {"data_dir": str(data_dir), "spool": storage},
            "spool": spool or {},
            "printers": printers,
        },
    )


def dead_printer(name: str = "kitchen", *, default: bool = True) -> dict[str, Any]:
    """A network printer nobody answers: its jobs wait (with a long backoff unless the test shortens it)."""
    return {"name": name, "uri": f"tcp://127.0.0.1:{refused_port()}", "default": default}


SLOW_RETRY = {"retry_initial_seconds": 60, "retry_max_seconds": 60}


def ticket(job_id: str | None = None, **extra: Any) -> Message:
    message: Message = {"tipo": "ticket", "datos": receipt("hello"), **extra}
    if job_id is not None:
        message["id"] = job_id
    return message


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout=60))


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    async with asyncio.timeout(WAIT_S):
        while not await condition():
            await asyncio.sleep(0.02)
    assert await condition(), what


async def send(daemon: Daemon, message: Message, address: str = "10.0.0.5", **who: Any) -> list[Message]:
    """Submit a ticket; the list it returns keeps receiving the job's later messages (its sink)."""
    got: list[Message] = []
    await submit_ticket(daemon, message, Submitter(address, who.get("client_id"), got.append, daemon.rate_limiter))
    return got


# Who ``send`` submits as by default: an anonymous client at 10.0.0.5 owns its ids under its address.
SENDER = "addr/10.0.0.5"


def kinds(messages: list[Message]) -> list[tuple[str, Any]]:
    return [(m["tipo"], m["mensaje"] if m["tipo"] == "error" else m.get("status")) for m in messages]


@pytest.fixture(autouse=True)
def _no_env(isolated_env: None) -> None:
    """No TICKET_* setting from the environment running the tests."""


# ---- 1. a job resent after a restart ----------------------------------------------------------------------------


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
        lambda: _in_state(second, RESENDER, "T1", JobState.WAITING, attempts_over=tried),
        "the job to wait for its printer",
    )
    waiting = await second.store.find(RESENDER, "T1")
    assert waiting is not None
    return second, spool, waiting


def test_a_job_resent_after_a_restart_gets_its_result_once(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, [dead_printer()], spool=SLOW_RETRY)

    async def story() -> None:
        second, _, waiting = await _restarted_with_a_waiting_job(settings)
        try:
            resent = await send(second, ticket("T1"), client_id=RESENDER)
            assert (resent[0]["tipo"], resent[0]["status"]) == ("ack", "duplicate")
            await second.cancel(waiting.seq)  # the job ends after the duplicate's ack
            await eventually(lambda: _has_result(resent), "the result of the resent job")
            told = [m for m in resent if m["tipo"] != "job"]  # "job waiting" notices may come in between
            assert [m["tipo"] for m in told] == ["ack", "result"]
            assert told[1]["mensaje"] == protocol.CANCELLED
        finally:
            await second.stop()

    run(story)


def test_a_job_that_ends_while_its_resend_is_checked_as_a_duplicate_still_answers_that_ack(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, [dead_printer()], spool=SLOW_RETRY)

    async def story() -> None:
        second, spool, waiting = await _restarted_with_a_waiting_job(settings)
        try:
            spool.pause_on_duplicate = True
            resent: list[Message] = []
            resending = asyncio.create_task(
                submit_ticket(
                    second, ticket("T1"), Submitter("10.0.0.5", RESENDER, resent.append, second.rate_limiter)
                )
            )
            await asyncio.wait_for(spool.duplicate_found.wait(), WAIT_S)  # found a duplicate of a waiting job
            await second.cancel(waiting.seq)  # ... which ends right now, before the intake handles the answer
            spool.go_on.set()
            await asyncio.wait_for(resending, WAIT_S)
            await eventually(lambda: _has_result(resent), "the result of the resent job")
            told = [m for m in resent if m["tipo"] != "job"]
            assert [(m["tipo"], m["status"]) for m in told] == [("ack", "duplicate"), ("result", "error")]
            assert told[0]["job_status"] == "cancelled"
            assert told[1]["mensaje"] == protocol.CANCELLED + protocol.NOT_PRINTED_AGAIN
        finally:
            await second.stop()

    run(story)


async def _in_state(
    daemon: Daemon, owner: str, job_id: str, state: JobState, *, attempts_over: int = -1
) -> bool:
    job = await daemon.store.find(owner, job_id)
    return job is not None and job.state is state and job.attempts > attempts_over


async def _has_result(messages: list[Message]) -> bool:
    return any(m["tipo"] == "result" for m in messages)


# ---- 2. the rate limit cannot be dodged with made-up tokens ---------------------------------------------------


def test_changing_the_auth_token_per_message_does_not_dodge_the_rate_limit(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, [dead_printer()], spool=SLOW_RETRY, storage="memory", rate_limit_per_minute=3)

    async def story() -> None:
        daemon = Daemon(settings)
        await daemon.start()
        try:
            replies = [(await send(daemon, ticket(auth_token=f"made-up-{i}")))[0] for i in range(6)]
        finally:
            await daemon.stop()
        assert [r["tipo"] for r in replies] == ["ack"] * 3 + ["error"] * 3
        assert replies[-1]["mensaje"] == protocol.RATE_LIMITED

    run(story)


# ---- 4. jobs of a printer taken out of the configuration --------------------------------------------------------


def test_jobs_of_a_removed_printer_end_with_an_error_at_start(tmp_path: Path) -> None:
    async def story() -> None:
        before = Daemon(settings_for(tmp_path, [dead_printer("kitchen")], spool=SLOW_RETRY))
        await before.start()
        await send(before, ticket("K1"))
        await before.stop()

        after = Daemon(settings_for(tmp_path, [{"name": "bar", "uri": "virtual://bar", "default": True}]))
        await after.start()
        try:
            job = await after.store.find(SENDER, "K1")
            assert job is not None and job.state is JobState.ERROR
            assert job.message == "PRINTER: Printer 'kitchen' is no longer configured"
            assert await after.queue_depth() == 0  # no longer counts against the capacity
            with pytest.raises(TicketError, match="no longer configured"):
                await after.reprint(job.seq)
        finally:
            await after.stop()

    run(story)


# ---- 5. a status check never opens a second connection to a printer in use ------------------------------------


def test_a_status_check_while_the_printer_is_in_use_reports_the_last_known_state(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, [dead_printer()], storage="memory", status_cache_seconds=0)

    async def story() -> None:
        daemon = Daemon(settings)
        worker = daemon.workers["kitchen"]
        worker.line.record(PrinterState.ready)
        async with worker.line.hold():  # a job is talking to the printer
            assert (await daemon.printer_states())["kitchen"] is PrinterState.ready
        assert (await daemon.printer_states())["kitchen"] is PrinterState.offline  # free again: really asked

    run(story)


# ---- 6. a failed write when the printer goes away does not freeze the queue ------------------------------------


class _RefusesOneWaitingWrite(MemoryJobStore):
    """A memory store whose disk is 'full' the first time a job is moved to ``waiting``."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = False

    async def move(self, key: int, target: JobState, **kwargs: Any) -> Any:
        if target is JobState.WAITING and not self.refused:
            self.refused = True
            raise StorageError("disk full")
        return await super().move(key, target, **kwargs)


def test_a_job_still_waits_for_its_printer_after_one_failed_store_write(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, [dead_printer()], spool=SLOW_RETRY)
    store = _RefusesOneWaitingWrite()

    async def story() -> None:
        daemon = Daemon(settings, store=store)
        await daemon.start()
        try:
            got = await send(daemon, ticket("W1"))

            async def waiting() -> bool:
                job = await store.find(SENDER, "W1")
                return job is not None and job.state is JobState.WAITING

            await eventually(waiting, "the job to wait for its printer")
            assert store.refused
            await eventually(lambda: _told_waiting(got), "the client to be told the job waits")
        finally:
            await daemon.stop()

    run(story)


async def _told_waiting(messages: list[Message]) -> bool:
    return any(m["tipo"] == "job" and m["status"] == "waiting" for m in messages)


# ---- 7. a stop during rendering does not ack a job ----------------------------------------------------------------


def test_a_ticket_rendered_while_the_daemon_stops_is_refused_not_acked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path, [dead_printer()], spool=SLOW_RETRY)

    async def story() -> None:
        daemon = Daemon(settings)
        await daemon.start()
        render = daemon.render_pool.render

        async def render_then_stop(*args: Any, **kwargs: Any) -> Any:
            rendered = await render(*args, **kwargs)
            daemon.accepting = False  # the stop began while this document was rendered
            return rendered

        monkeypatch.setattr(daemon.render_pool, "render", render_then_stop)
        try:
            replies = await send(daemon, ticket("S1"))
            assert kinds(replies) == [("error", protocol.SHUTTING_DOWN)]
            assert await daemon.store.find(SENDER, "S1") is None
        finally:
            await daemon.stop()

    run(story)


# ---- 8. a memory-queue stop tells every waiting job, however old ------------------------------------------------


def test_stopping_the_memory_queue_ends_old_waiting_jobs_too(tmp_path: Path) -> None:
    printers = [dead_printer("kitchen"), {"name": "bar", "uri": "virtual://bar", "default": False}]
    settings = settings_for(tmp_path, printers, spool=SLOW_RETRY, storage="memory", queue_capacity=3)

    async def story() -> None:
        daemon = Daemon(settings)
        await daemon.start()
        old = await send(daemon, ticket("old", printer="kitchen"))
        for n in range(6):  # newer jobs, all printed: the old one is far from the most recent
            done = await send(daemon, ticket(f"bar-{n}", printer="bar"))
            await eventually(lambda done=done: _has_result(done), "a bar receipt to print")
        await daemon.stop()
        assert old[-1]["tipo"] == "result" and old[-1]["mensaje"] == protocol.SHUTTING_DOWN

    run(story)


# ---- 9. start-up warning for an open dashboard on the network -------------------------------------------------


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


# ---- 11. a failure after the job is stored still acks it ------------------------------------------------------


class _CannotCount(MemoryJobStore):
    async def count_pending(self) -> int:
        raise RuntimeError("counting failed")


def test_a_stored_job_is_acked_even_if_counting_the_queue_fails(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, [{"name": "bar", "uri": "virtual://bar", "default": True}])

    async def story() -> None:
        daemon = Daemon(settings, store=_CannotCount())
        await daemon.start()
        try:
            got = await send(daemon, ticket("C1"))
            assert got[0]["tipo"] == "ack" and got[0]["status"] == "queued"
            await eventually(lambda: _has_result(got), "the result")
            assert got[-1]["status"] == "success"
            assert not daemon.results.is_routed("C1")  # nothing held for a client that already has its result
        finally:
            await daemon.stop()

    run(story)
