"""The async spool the daemon uses (SQLite behind one thread), and the retry/recovery policies, on real files."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ticket_daemon.spool.worker import RetryPolicy
from ticket_daemon.store.database import StorageError
from ticket_daemon.store.faults import HEALTHY
from ticket_daemon.store.interface import JobStore, SpoolFigures
from ticket_daemon.store.jobs import Job, JobState
from ticket_daemon.store.memory import MemoryJobStore
from ticket_daemon.store.sqlite import SqliteSpool


def job(job_id: str, printer: str = "caja1", client: str = "pos1") -> Job:
    return Job(
        id=job_id, client_id=client, printer=printer, document="{}", data=b"\x1b@x", created_at=1.0, updated_at=1.0
    )


async def key(store: JobStore, job_id: str, owner: str = "pos1") -> int:
    """A job's seq (its key in the store), found in its owner's scope."""
    found = await store.find(owner, job_id)
    assert found is not None, job_id
    return found.seq


def test_backoff_doubles_from_the_first_wait_up_to_the_maximum() -> None:
    policy = RetryPolicy(initial_seconds=1.0, max_seconds=30.0)
    assert [policy.delay(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_the_async_spool_keeps_order_results_owed_and_recovers_an_interrupted_job(tmp_path: Path) -> None:
    async def story() -> None:
        spool = SqliteSpool(tmp_path / "spool.sqlite3")
        assert await spool.open(now=1.0, interrupted_policy="reprint") == []
        for name in ("a", "b", "c"):
            await spool.add(job(name), capacity=10)
        await spool.move(await key(spool, "a"), JobState.PRINTING, now=2.0, attempts=1)
        await spool.move(await key(spool, "a"), JobState.SUCCESS, now=3.0, message="Print completed in 5ms")
        await spool.move(await key(spool, "b"), JobState.PRINTING, now=4.0, attempts=1)
        assert [j.id for j in await spool.pending_for_printer("caja1")] == ["b", "c"]
        assert [j.id for j in await spool.undelivered_results("pos1")] == ["a"]
        await spool.mark_results_delivered([await key(spool, "a")])
        assert await spool.undelivered_results("pos1") == []
        await spool.close()  # the process "dies" with b mid-send

        again = SqliteSpool(tmp_path / "spool.sqlite3")
        interrupted = await again.open(now=5.0, interrupted_policy="reprint")
        assert [j.id for j in interrupted] == ["b"]
        resumed = await again.next_for_printer("caja1")
        assert resumed is not None and (resumed.id, resumed.state) == ("b", JobState.QUEUED)
        assert (await again.size(), await again.count_pending()) == (3, 2)
        oldest = await again.oldest_pending()
        assert oldest is not None and oldest.id == "b"
        await again.close()

    asyncio.run(story())


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_the_spool_report_holds_what_the_separate_reads_return(kind: str, tmp_path: Path) -> None:
    async def story() -> None:
        store: JobStore = MemoryJobStore() if kind == "memory" else SqliteSpool(tmp_path / "spool.sqlite3")
        await store.open(now=1.0, interrupted_policy="reprint")
        for name in ("done", "next", "later"):
            await store.add(job(name), capacity=10)
        await store.move(await key(store, "done"), JobState.PRINTING, now=2.0, attempts=1)
        await store.move(await key(store, "done"), JobState.SUCCESS, now=3.0, message="Print completed in 5ms")

        figures = await store.report()
        separate = (await store.size(), await store.count_pending(), await store.oldest_pending())
        assert figures == SpoolFigures(*separate, await store.refresh_health())
        assert (figures.size, figures.pending, figures.health) == (3, 2, HEALTHY)
        assert figures.oldest_pending is not None and figures.oldest_pending.id == "next"
        await store.close()

    asyncio.run(asyncio.wait_for(story(), timeout=30))


def test_the_async_spool_reads_its_report_in_one_trip_to_the_spool_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: list[str] = []

    def counted(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def handed_over(*args: Any, **kwargs: Any) -> Any:
            trips.append(name)
            return method(*args, **kwargs)

        return handed_over

    async def story() -> None:
        spool = SqliteSpool(tmp_path / "spool.sqlite3")
        await spool.open(now=1.0, interrupted_policy="reprint")
        await spool.add(job("a"), capacity=10)
        runner = spool._runner
        for name in ("call", "submit", "read", "write", "write_along"):  # every way onto the spool thread
            monkeypatch.setattr(runner, name, counted(name, getattr(runner, name)))

        figures = await spool.report()
        assert trips == ["read"]
        assert (figures.size, figures.pending, figures.health) == (1, 1, HEALTHY)
        trips.clear()
        for read in (spool.size, spool.oldest_pending, spool.refresh_health):
            await read()
        assert trips == ["read"] * 3  # what the same figures cost read one by one
        monkeypatch.undo()
        await spool.close()

    asyncio.run(asyncio.wait_for(story(), timeout=30))


def test_the_fail_policy_ends_an_interrupted_job_with_an_error_owed_to_its_client(tmp_path: Path) -> None:
    async def story() -> None:
        spool = SqliteSpool(tmp_path / "spool.sqlite3")
        await spool.open(now=1.0, interrupted_policy="fail")
        await spool.add(job("cut"), capacity=10)
        await spool.move(await key(spool, "cut"), JobState.PRINTING, now=2.0, attempts=1)
        await spool.close()

        again = SqliteSpool(tmp_path / "spool.sqlite3")
        await again.open(now=3.0, interrupted_policy="fail")
        owed = await again.undelivered_results("pos1")
        assert [(j.id, j.state) for j in owed] == [("cut", JobState.ERROR)]
        assert owed[0].message.startswith("PRINTER: Interrupted")
        await again.close()

    asyncio.run(story())


def test_a_spool_that_is_not_open_answers_with_a_storage_error(tmp_path: Path) -> None:
    async def story() -> None:
        (tmp_path / "spool.sqlite3").write_bytes(b"garbage" * 1000)
        spool = SqliteSpool(tmp_path / "spool.sqlite3")
        with pytest.raises(StorageError) as opened:
            await spool.open(now=1.0, interrupted_policy="reprint")
        with pytest.raises(StorageError) as added:
            await spool.add(job("x"), capacity=10)
        assert str(opened.value).startswith("STORAGE: ") and str(added.value).startswith("STORAGE: ")
        await spool.close()

    asyncio.run(story())


def test_pruning_keeps_pending_jobs_and_bounds_finished_ones(tmp_path: Path) -> None:
    async def story() -> None:
        spool = SqliteSpool(tmp_path / "spool.sqlite3")
        await spool.open(now=1.0, interrupted_policy="reprint")
        for n in range(5):
            await spool.add(job(f"j{n}"), capacity=10)
        for n in range(4):
            await spool.move(await key(spool, f"j{n}"), JobState.PRINTING, now=float(n))
            await spool.move(await key(spool, f"j{n}"), JobState.SUCCESS, now=float(n))
        assert await spool.prune(older_than=1.5, max_rows=10) == 2  # j0 and j1 are past the retention
        assert await spool.prune(older_than=0.0, max_rows=1) == 1  # j2 goes: one finished row is kept
        assert [j.id for j in await spool.recent(10)] == ["j4", "j3"]
        await spool.close()

    asyncio.run(story())


def test_the_memory_queue_owes_results_too_and_forgets_old_ones() -> None:
    async def story() -> None:
        store = MemoryJobStore()
        await store.add(job("m1"), capacity=5)
        await store.move(await key(store, "m1"), JobState.PRINTING, now=1.0)
        await store.move(await key(store, "m1"), JobState.SUCCESS, now=2.0)
        assert [j.id for j in await store.undelivered_results("pos1")] == ["m1"]
        await store.mark_results_delivered([await key(store, "m1")])
        assert await store.undelivered_results("pos1") == []
        assert await store.prune(older_than=3.0, max_rows=10) == 1
        assert await store.find("pos1", "m1") is None

    asyncio.run(story())
