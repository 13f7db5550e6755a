"""The job queue: a global capacity, per-printer FIFO in acceptance order, duplicate ids refused, and — seen from a
POS client — "Queue full" at once when the printers cannot keep up."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from server.harness import DaemonLauncher, PrinterFarm, ticket
from ticket_daemon.store.interface import JobStore
from ticket_daemon.store.jobs import DuplicateJob, Job, JobState
from ticket_daemon.store.memory import MemoryJobStore

QUEUE_FULL = "Queue full, please retry in a few seconds"


def job(job_id: str, printer: str = "front") -> Job:
    return Job(id=job_id, client_id="till-1", printer=printer, document="{}", data=b"\x1b@")


async def key(store: JobStore, job_id: str, owner: str = "till-1") -> int:
    """A job's seq (its key in the store), found in its owner's scope."""
    found = await store.find(owner, job_id)
    assert found is not None, job_id
    return found.seq


async def next_id(store: JobStore, printer: str) -> str | None:
    """The id of the job ``printer`` prints next, if any."""
    job = await store.next_for_printer(printer)
    return job.id if job is not None else None


def test_each_printer_gets_its_own_jobs_oldest_first() -> None:
    async def story() -> None:
        store = MemoryJobStore()
        for job_id, printer in [("f1", "front"), ("b1", "back"), ("f2", "front"), ("b2", "back")]:
            await store.add(job(job_id, printer), capacity=10)

        assert await next_id(store, "front") == "f1"
        assert await next_id(store, "back") == "b1"
        await store.move(await key(store, "f1"), JobState.PRINTING, now=1.0)
        await store.move(await key(store, "f1"), JobState.SUCCESS, now=2.0, message="Print completed in 5ms")
        assert await next_id(store, "front") == "f2"
        assert await store.next_for_printer("garage") is None
        assert [j.id for j in await store.recent(10)] == ["b2", "f2", "b1", "f1"]

    asyncio.run(story())


def test_capacity_counts_every_job_not_yet_finished() -> None:
    async def story() -> None:
        store = MemoryJobStore()
        await store.add(job("a"), capacity=2)
        await store.add(job("b"), capacity=2)
        await store.move(await key(store, "a"), JobState.PRINTING, now=1.0)
        with pytest.raises(OverflowError):
            await store.add(job("c"), capacity=2)
        assert await store.count_pending() == 2

        await store.move(await key(store, "a"), JobState.ERROR, now=2.0, message="PRINTER: Paper out")
        await store.add(job("c"), capacity=2)
        assert await store.count_pending() == 2

    asyncio.run(story())


def test_an_accepted_id_is_never_queued_again_while_remembered() -> None:
    async def story() -> None:
        store = MemoryJobStore(history=1)
        await store.add(job("once"), capacity=5)
        with pytest.raises(DuplicateJob) as pending:
            await store.add(job("once"), capacity=5)
        assert pending.value.existing.state is JobState.QUEUED

        for job_id in ("once", "later"):
            if job_id != "once":
                await store.add(job(job_id), capacity=5)
            await store.move(await key(store, job_id), JobState.PRINTING, now=1.0)
            await store.move(await key(store, job_id), JobState.SUCCESS, now=2.0)
        # history=1: only the newest finished job is remembered, and without its bytes.
        assert await store.find("till-1", "once") is None
        remembered = await store.find("till-1", "later")
        assert remembered is not None and remembered.state is JobState.SUCCESS and remembered.data is None
        with pytest.raises(DuplicateJob):
            await store.add(job("later"), capacity=5)

    asyncio.run(story())


def test_a_full_queue_refuses_at_once_and_the_socket_stays_responsive(
    daemons: DaemonLauncher, printer_farm: PrinterFarm
) -> None:
    uri, _ = printer_farm.start("slow", bytes_per_second=20)
    running = daemons.start(printers=[{"name": "slow", "uri": uri}], queue_capacity=2, shutdown_grace_seconds=0.5)
    client = running.connect()

    first = client.request(ticket("q1", "A RECEIPT THAT TAKES A WHILE"))
    second = client.request(ticket("q2"))
    third = client.request(ticket("q3"))

    assert (first["status"], first["current"], first["capacity"]) == ("queued", 1, 2)
    assert (second["status"], second["current"], second["capacity"]) == ("queued", 2, 2)
    assert third == {"tipo": "error", "id": "q3", "status": "error", "mensaje": QUEUE_FULL}
    assert client.request({"tipo": "status"}) == {
        "tipo": "status",
        "status": "ok",
        "current": 2,
        "capacity": 2,
        "mensaje": "Queue: 2/2",
    }
    health = httpx.get(f"{running.http_url}/health", timeout=10).json()
    assert health["queue"] == {"current": 2, "capacity": 2, "utilization": 100.0}


def test_a_job_refused_for_a_full_queue_can_be_sent_again_later(daemons: DaemonLauncher) -> None:
    running = daemons.start(queue_capacity=1)
    client = running.connect()
    client.print_job(ticket("r1"))
    _, result = client.print_job(ticket("r2", "SENT AGAIN"))
    assert result["status"] == "success"
    assert len(running.virtual_jobs("default")) == 2
