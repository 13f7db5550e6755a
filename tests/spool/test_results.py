"""The result router's one rule, driven directly: whatever order the printer and the front door act in, a job's
``ack`` reaches its connection before its ``result`` or any "waiting" notice."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spool.outbox import Outbox
from ticket_daemon.protocol import messages
from ticket_daemon.spool.results import ResultRouter
from ticket_daemon.store.jobs import Job, JobState
from ticket_daemon.store.memory import MemoryJobStore
from ticket_daemon.store.sqlite import SqliteSpool

Message = dict[str, Any]


def finished(job_id: str, state: JobState = JobState.SUCCESS, client_id: str = "till-1") -> Job:
    return Job(
        id=job_id, client_id=client_id, printer="bar", document="{}", state=state, message="done", seq=seq_of(job_id)
    )


def seq_of(job_id: str) -> int:
    """Routes are keyed by seq: J1 is job 1, J2 job 2, …"""
    return int(job_id.removeprefix("J"))


def ack(job_id: str) -> Message:
    return messages.ack(job_id, current=1, capacity=100)


def kinds(messages: list[Message]) -> list[str]:
    return [m["tipo"] for m in messages]


def test_a_result_that_comes_before_the_ack_is_held_until_the_ack_is_sent() -> None:
    router = ResultRouter(MemoryJobStore())
    outbox = Outbox()
    router.expect(1, outbox)
    router.finished(finished("J1"))  # a fast printer: done before the front door sent the ack
    router.waiting(finished("J1", JobState.WAITING))
    assert outbox == []
    router.acknowledge(1, ack("J1"), outbox)
    assert kinds(outbox) == ["ack", "result"]
    assert outbox[1]["id"] == "J1" and outbox[1]["status"] == "success"
    assert not router.is_routed(1)


def test_after_the_ack_results_and_notices_go_out_at_once() -> None:
    router = ResultRouter(MemoryJobStore())
    outbox = Outbox()
    router.expect(2, outbox)
    router.acknowledge(2, ack("J2"), outbox)
    router.waiting(Job(id="J2", client_id="till-1", printer="bar", document="{}", message="PRINTER: Paper out", seq=2))
    router.finished(finished("J2"))
    assert kinds(outbox) == ["ack", "job", "result"]


def test_an_ack_sent_to_another_connection_does_not_release_a_redirected_result() -> None:
    router = ResultRouter(MemoryJobStore())
    first = Outbox()
    second = Outbox()
    router.expect(3, first)
    router.redirect(3, second)  # the client resent the job from a new connection
    router.acknowledge(3, ack("J3"), first)  # the first request's ack goes out late
    router.finished(finished("J3"))
    assert kinds(first) == ["ack"] and second == []  # held: the second connection has no ack yet
    router.acknowledge(3, messages.ack_duplicate("J3", state="queued", current=1, capacity=100), second)
    assert kinds(second) == ["ack", "result"] and kinds(first) == ["ack"]


def test_two_clients_jobs_with_the_same_id_keep_their_own_routes() -> None:
    router = ResultRouter(MemoryJobStore())
    first = Outbox()
    second = Outbox()
    router.expect(41, first)
    router.expect(42, second)  # another client, the same id "J4": another job, another seq
    router.acknowledge(41, ack("J4"), first)
    router.acknowledge(42, ack("J4"), second)
    router.finished(Job(id="J4", client_id="till-2", printer="bar", document="{}", state=JobState.SUCCESS, seq=42))
    assert kinds(first) == ["ack"] and kinds(second) == ["ack", "result"]
    assert router.is_routed(41) and not router.is_routed(42)


def test_a_finished_duplicate_gets_its_ack_then_its_result_again() -> None:
    router = ResultRouter(MemoryJobStore())
    outbox = Outbox()
    job = finished("J5", JobState.ERROR)
    router.acknowledge_finished(outbox, messages.ack_duplicate("J5", state="error", current=0, capacity=1), job)
    assert kinds(outbox) == ["ack", "result"] and outbox[1]["status"] == "error"
    assert outbox[1]["mensaje"] == "done (duplicate id: not printed again)"


def test_without_a_route_a_result_goes_to_the_clients_live_connection() -> None:
    async def story() -> None:
        router = ResultRouter(MemoryJobStore())
        live = Outbox()
        await router.attach("till-1", live)
        router.finished(finished("J6"))  # its connection is gone (e.g. the daemon restarted)
        router.waiting(
            Job(id="J7", client_id="till-1", printer="bar", document="{}", message="PRINTER: Paper out", seq=7)
        )
        router.detach("till-1", live)
        router.finished(finished("J8"))
        assert [(m["tipo"], m["id"]) for m in live] == [("result", "J6"), ("job", "J7")]
        await router.close()

    asyncio.run(asyncio.wait_for(story(), timeout=10))


def test_results_written_together_are_recorded_delivered_in_one_write(tmp_path: Path) -> None:
    writes: list[list[int]] = []

    class CountingSpool(SqliteSpool):
        async def mark_results_delivered(self, seqs: Sequence[int]) -> None:
            writes.append(list(seqs))
            await super().mark_results_delivered(seqs)

    async def story() -> tuple[list[Job], list[int]]:
        spool = CountingSpool(tmp_path / "spool.sqlite3")
        await spool.open(now=1.0, interrupted_policy="reprint")
        router = ResultRouter(spool)
        live = Outbox()
        await router.attach("till-1", live)
        seqs = []
        for name in ("J1", "J2", "J3"):
            stored = await spool.add(Job(id=name, client_id="till-1", printer="bar", document="{}"), capacity=10)
            await spool.move(stored.seq, JobState.PRINTING, now=2.0, attempts=1)
            router.finished(await spool.move(stored.seq, JobState.SUCCESS, now=3.0, message="done"))
            seqs.append(stored.seq)
        for name in ("J1", "J2", "J3"):  # three results leave in the same turn of the event loop
            router.written("till-1", name)
        await router.close()
        j1 = await spool.get(seqs[0])
        assert j1 is not None
        duplicate_ack = messages.ack_duplicate("J1", state="success", current=0, capacity=10)
        router.acknowledge_finished(live, duplicate_ack, j1)  # J1 resent: its result again
        router.written("till-1", "J1")  # written again later (a duplicate's result): a write of its own
        await router.close()
        owed = await spool.undelivered_results("till-1")
        await spool.close()
        return owed, seqs

    owed, seqs = asyncio.run(asyncio.wait_for(story(), timeout=30))
    assert owed == []
    assert writes == [seqs, seqs[:1]]


def test_a_written_result_records_the_job_it_was_when_an_id_is_reused(tmp_path: Path) -> None:
    # An anonymous client may reuse an id (docs/protocol.md "Idempotent ids"): of two finished jobs named
    # ("addr/10.0.0.7", "7"), the one whose result was written is recorded, the other stays owed.
    async def story() -> tuple[list[int], list[int]]:
        spool = SqliteSpool(tmp_path / "spool.sqlite3")
        await spool.open(now=1.0, interrupted_policy="reprint")
        router = ResultRouter(spool)
        owner, sent = "addr/10.0.0.7", []
        for _ in range(2):
            job = Job(id="7", client_id=owner, printer="bar", document="{}", created_at=1.0)
            stored = await spool.add(job, capacity=10, window_seconds=0.0)
            await spool.move(stored.seq, JobState.PRINTING, now=2.0, attempts=1)
            sent.append(stored.seq)
        first = Outbox()
        router.expect(sent[0], first)
        router.acknowledge(sent[0], messages.ack("7", current=1, capacity=10), first)
        router.finished(await spool.move(sent[0], JobState.SUCCESS, now=3.0, message="done"))
        await spool.move(sent[1], JobState.SUCCESS, now=3.0, message="done")  # its connection is gone
        router.written(owner, "7")
        await router.close()
        owed = [job.seq for job in await spool.undelivered_results(owner)]
        await spool.close()
        assert [m["tipo"] for m in first] == ["ack", "result"]
        return owed, sent

    owed, sent = asyncio.run(asyncio.wait_for(story(), timeout=30))
    assert owed == [sent[1]]


def test_a_result_written_but_not_yet_recorded_is_not_sent_again_to_a_reconnecting_client(tmp_path: Path) -> None:
    # The till read J1's result and reconnected before its delivery record reached the disk: J1 is not owed any
    # more; J2, which finished while it was away, is.
    release = asyncio.Event()

    class SlowRecords(SqliteSpool):
        async def mark_results_delivered(self, seqs: Sequence[int]) -> None:
            await release.wait()
            await super().mark_results_delivered(seqs)

    async def story() -> list[Message]:
        spool = SlowRecords(tmp_path / "spool.sqlite3")
        await spool.open(now=1.0, interrupted_policy="reprint")
        router = ResultRouter(spool)
        before = Outbox()
        await router.attach("till-1", before)  # the till's first connection
        for name in ("J1", "J2"):
            stored = await spool.add(Job(id=name, client_id="till-1", printer="bar", document="{}"), capacity=10)
            await spool.move(stored.seq, JobState.PRINTING, now=2.0, attempts=1)
            done = await spool.move(stored.seq, JobState.SUCCESS, now=3.0, message="done")
            if name == "J1":
                router.finished(done)  # handed to that connection
                router.detach("till-1", before)  # ... which goes away; J2 finishes meanwhile
        router.written("till-1", "J1")
        await asyncio.sleep(0.05)  # its record is on its way to the disk
        reconnected = Outbox()
        await router.attach("till-1", reconnected)
        release.set()
        await router.close()
        assert [job.id for job in await spool.undelivered_results("till-1")] == ["J2"]
        await spool.close()
        return reconnected

    sent = asyncio.run(asyncio.wait_for(story(), timeout=30))
    assert [(m["tipo"], m["id"]) for m in sent] == [("result", "J2")]
