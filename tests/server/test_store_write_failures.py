"""A failed store write never freezes a queue, and a failure after a job is stored still acks it.

Driven on an in-process daemon (see ``daemon_story``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.daemon_story import (
    SENDER,
    SLOW_RETRY,
    dead_printer,
    eventually,
    has_result,
    run,
    send,
    settings_for,
    ticket,
    told_waiting,
)
from ticket_daemon.server.daemon import Daemon
from ticket_daemon.store.database import StorageError
from ticket_daemon.store.jobs import JobState
from ticket_daemon.store.memory import MemoryJobStore

pytestmark = pytest.mark.usefixtures("isolated_env")  # no TICKET_* setting from the environment running the tests


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
            await eventually(lambda: told_waiting(got), "the client to be told the job waits")
        finally:
            await daemon.stop()

    run(story)


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
            await eventually(lambda: has_result(got), "the result")
            assert got[-1]["status"] == "success"
            stored = await daemon.spool.store.find(SENDER, "C1")
            assert stored is not None
            # Nothing held for a client that already has its result.
            assert not daemon.spool.results.is_routed(stored.seq)
        finally:
            await daemon.stop()

    run(story)
