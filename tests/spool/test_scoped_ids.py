"""docs/protocol.md "Ids", as both stores keep it (the same contract, run on each): an id
belongs to its owner, a resent id within the window is a retry or a conflict, after it the id prints again; a job's
key is its ``seq``; finished jobs keep their document and drop their bytes."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from ticket_daemon.render.job import render_document
from ticket_daemon.store.interface import JobStore
from ticket_daemon.store.jobs import (
    DuplicateJob,
    IdConflict,
    InvalidTransition,
    Job,
    JobState,
    canonical_json,
    document_digest,
    stored_document,
    stored_document_and_digest,
)
from ticket_daemon.store.memory import MemoryJobStore
from ticket_daemon.store.sqlite import SqliteSpool

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WINDOW = 600.0


def job(job_id: str, owner: str = "till-1", *, text: str = "hello", at: float = 1000.0) -> Job:
    document = {"version": "1.0", "commands": [{"type": "text", "data": {"content": {"text": text}}}]}
    return Job(
        id=job_id,
        client_id=owner,
        printer="caja1",
        document=json.dumps(document),
        data=b"\x1b@" + text.encode(),
        created_at=at,
        updated_at=at,
        digest=document_digest(document),
    )


Story = Callable[[JobStore], Awaitable[None]]


@pytest.fixture(params=["memory", "sqlite"])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Story], None]:
    def runner(story: Story) -> None:
        async def main() -> None:
            async with _store(request.param, tmp_path) as store:
                await story(store)

        asyncio.run(asyncio.wait_for(main(), timeout=30))

    return runner


class _store:
    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.store: JobStore = MemoryJobStore() if kind == "memory" else SqliteSpool(tmp_path / "spool.sqlite3")

    async def __aenter__(self) -> JobStore:
        await self.store.open(now=0.0, interrupted_policy="reprint")
        return self.store

    async def __aexit__(self, *exc: object) -> None:
        await self.store.close()


def test_the_same_id_and_document_within_the_window_is_a_retry(run: Callable[[Story], None]) -> None:
    async def story(store: JobStore) -> None:
        first = await store.add(job("order-1"), capacity=10)
        with pytest.raises(DuplicateJob) as retry:
            await store.add(job("order-1", at=1000.0 + WINDOW - 1), capacity=10, window_seconds=WINDOW)
        assert retry.value.existing.seq == first.seq
        assert (await store.size(), await store.count_pending()) == (1, 1)

    run(story)


def test_the_same_id_with_another_document_is_refused_with_the_protocol_sentence(
    run: Callable[[Story], None],
) -> None:
    async def story(store: JobStore) -> None:
        await store.add(job("order-1"), capacity=10)
        with pytest.raises(IdConflict) as conflict:
            await store.add(job("order-1", text="other", at=1100.0), capacity=10)
        assert str(conflict.value) == (
            "VALIDATION: id 'order-1' was already used for a different document; use a new id to print it"
        )
        assert await store.size() == 1

    run(story)


def test_after_the_window_the_id_prints_again_and_the_old_job_stays_as_history(run: Callable[[Story], None]) -> None:
    async def story(store: JobStore) -> None:
        old = await store.add(job("order-1"), capacity=10)
        await store.move(old.seq, JobState.PRINTING, now=1001.0)
        await store.move(old.seq, JobState.SUCCESS, now=1002.0, message="Print completed in 5ms")
        later = job("order-1", text="other", at=1000.0 + WINDOW)
        new = await store.add(later, capacity=10, window_seconds=WINDOW, now=later.created_at)
        assert new.seq != old.seq and new.state is JobState.QUEUED
        kept = await store.get(old.seq)
        assert kept is not None and kept.state is JobState.SUCCESS
        found = await store.find("till-1", "order-1")
        assert found is not None and found.seq == new.seq
        assert await store.find("till-1", "order-1", newer_than=1000.0 + WINDOW) is None
        head = await store.next_for_printer("caja1")
        assert head is not None and head.seq == new.seq

    run(story)


def test_another_owners_id_never_collides_and_transitions_follow_the_seq(run: Callable[[Story], None]) -> None:
    async def story(store: JobStore) -> None:
        mine = await store.add(job("1", owner="till-1"), capacity=10)
        theirs = await store.add(job("1", owner="addr/10.0.0.7", text="other"), capacity=10)
        assert mine.seq != theirs.seq
        await store.move(theirs.seq, JobState.PRINTING, now=1001.0)
        await store.move(theirs.seq, JobState.SUCCESS, now=1002.0)
        still_mine = await store.get(mine.seq)
        assert still_mine is not None and still_mine.state is JobState.QUEUED
        assert [j.seq for j in await store.undelivered_results("addr/10.0.0.7")] == [theirs.seq]
        assert await store.undelivered_results("till-1") == []
        await store.mark_results_delivered([theirs.seq])
        assert await store.undelivered_results("addr/10.0.0.7") == []
        with pytest.raises(InvalidTransition):
            await store.move(theirs.seq, JobState.PRINTING, now=1003.0)
        with pytest.raises(KeyError):
            await store.move(999_999, JobState.PRINTING, now=1003.0)

    run(story)


def test_a_finished_job_keeps_its_document_for_a_reprint_and_drops_its_bytes(run: Callable[[Story], None]) -> None:
    async def story(store: JobStore) -> None:
        stored = await store.add(job("r"), capacity=10)
        assert stored.has_bytes
        printing = await store.move(stored.seq, JobState.PRINTING, now=1001.0)
        assert printing.data == stored.data  # the worker still needs them
        done = await store.move(stored.seq, JobState.SUCCESS, now=1002.0)
        for record in (done, await store.get(stored.seq)):
            assert record is not None and record.data is None and not record.has_bytes
            assert record.document == stored.document and record.digest == stored.digest

    run(story)


def test_a_receipts_finished_row_is_at_most_5_kb(tmp_path: Path) -> None:
    rendered = render_document(json.loads((EXAMPLES / "receipt.json").read_text()), raw_policy="allow")
    assert len(rendered.data) > 5000  # the bytes are what made the row big

    async def story() -> None:
        spool = SqliteSpool(tmp_path / "spool.sqlite3")
        await spool.open(now=0.0, interrupted_policy="reprint")
        receipt = Job(
            id="receipt",
            client_id="till-1",
            printer="caja1",
            document=rendered.document_json,
            data=rendered.data,
            notes=rendered.notes,
            digest=document_digest(json.loads(rendered.document_json)),
        )
        stored = await spool.add(receipt, capacity=10)
        await spool.move(stored.seq, JobState.PRINTING, now=1.0)
        await spool.move(stored.seq, JobState.SUCCESS, now=2.0, message="Print completed in 245ms")
        await spool.close()

    asyncio.run(asyncio.wait_for(story(), timeout=30))
    import sqlite3

    db = sqlite3.connect(tmp_path / "spool.sqlite3")
    (row_bytes,) = db.execute(
        "SELECT length(id) + length(client_id) + length(printer) + length(document) + ifnull(length(data), 0)"
        " + length(state) + length(message) + length(notes) + length(digest) + 64 FROM jobs"
    ).fetchone()
    db.close()
    assert row_bytes <= 5 * 1024, row_bytes


def test_a_memory_store_without_history_keeps_no_trace_of_finished_jobs() -> None:
    async def story() -> None:
        store = MemoryJobStore(history=0)
        done = await store.add(job("once"), capacity=10)
        await store.move(done.seq, JobState.PRINTING, now=1001.0)
        await store.move(done.seq, JobState.SUCCESS, now=1002.0)
        assert await store.get(done.seq) is None and await store.find("till-1", "once") is None
        assert store._newest == {}  # nothing left to grow without bound (ids are indexed only with their owner)
        again = await store.add(job("once"), capacity=10)  # forgotten: no longer a duplicate
        assert again.seq != done.seq

    asyncio.run(asyncio.wait_for(story(), timeout=30))


@pytest.mark.parametrize(
    "document",
    [
        {"version": "1.0", "b": [1, 2.5, None, True], "a": {"z": "ñandú €", "y": ""}},
        {"text": "cut inside an emoji \ud83d", "n": 1},  # a lone surrogate: stored ASCII-escaped
    ],
)
def test_the_stored_document_and_its_digest_are_made_together_as_each_alone(document: dict[str, object]) -> None:
    assert stored_document_and_digest(document) == (stored_document(document), document_digest(document))


def test_the_digest_of_a_document_is_the_one_spools_written_before_recorded() -> None:
    """A job stored by an earlier version keeps matching its resent id: the canonical text and its digest are
    pinned (keys sorted, no spaces, UTF-8 as it is, floats as Python writes them)."""
    document = {"version": "1.0", "b": [1, 2.5, 1e16, None, True], "a": {"z": "ñandú €", "y": "\n\t\u2028"}}
    assert (
        canonical_json(document)
        == '{"a":{"y":"\\n\\t\u2028","z":"ñandú €"},"b":[1,2.5,1e+16,null,true],"version":"1.0"}'
    )
    assert document_digest(document) == hashlib.sha256(canonical_json(document).encode()).hexdigest()
