"""Group commit on a real SQLite file: every write waiting for the spool thread is committed in one transaction
(one fsync); each caller hears back only after that commit; one refused write does not take the others with it;
the pending counts kept in memory always equal what the file says."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from blocking_store import BlockingStore
from ticket_daemon.store.jobs import DuplicateJob, IdConflict, InvalidTransition, Job, JobState
from ticket_daemon.store.sqlite import SqliteSpool


def job(job_id: str, printer: str = "caja1", *, digest: str = "d1") -> Job:
    return Job(
        id=job_id, client_id="pos1", printer=printer, document="{}", data=b"\x1b@x", created_at=1.0, updated_at=1.0,
        digest=digest,
    )  # fmt: skip


def committed_rows(path: Path) -> set[str]:
    """What another connection (another process, after a crash) sees: committed rows only."""
    db = sqlite3.connect(path)
    try:
        return {str(row[0]) for row in db.execute("SELECT id FROM jobs")}
    finally:
        db.close()


class CommitCounter:
    def __init__(self) -> None:
        self.commits = 0

    def __call__(self, statement: str) -> None:
        if statement.strip().upper() == "COMMIT":
            self.commits += 1


async def opened(path: Path, *, ride_along_seconds: float = 0.1) -> tuple[SqliteSpool, CommitCounter]:
    spool = SqliteSpool(path, ride_along_seconds=ride_along_seconds)
    await spool.open(now=0.0, interrupted_policy="reprint")
    counter = CommitCounter()
    store = spool._store
    assert store is not None
    await spool._runner.call(lambda: store._db.set_trace_callback(counter))
    return spool, counter


def test_concurrent_adds_share_commits_and_each_returns_only_once_committed(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"

    async def story() -> None:
        spool, counter = await opened(path)
        seen_at_return: list[bool] = []

        async def add(n: int) -> None:
            stored = await spool.add(job(f"j{n}"), capacity=1000)
            seen_at_return.append(stored.id in committed_rows(path))

        await asyncio.gather(*(add(n) for n in range(60)))
        assert all(seen_at_return) and len(seen_at_return) == 60
        assert counter.commits < 20, counter.commits  # one per batch, not one per job
        assert await spool.count_pending() == 60
        await spool.close()

    asyncio.run(asyncio.wait_for(story(), timeout=60))
    assert len(committed_rows(path)) == 60


def test_one_refused_request_in_a_batch_rolls_back_alone(tmp_path: Path) -> None:
    async def story() -> None:
        spool, counter = await opened(tmp_path / "spool.sqlite3")
        first = await spool.add(job("a"), capacity=3)
        done = await spool.add(job("done"), capacity=3)
        await spool.move(done.seq, JobState.PRINTING, now=2.0)
        await spool.move(done.seq, JobState.SUCCESS, now=3.0)
        counter.commits = 0
        gate = threading.Event()
        spool._runner.submit(gate.wait)  # the spool thread is busy: everything below waits for it together
        requests = [
            spool.add(job("a"), capacity=3),  # a retry
            spool.add(job("a", digest="d2"), capacity=3),  # the id reused for another document
            spool.add(job("b"), capacity=3),
            spool.move(done.seq, JobState.PRINTING, now=4.0),  # a finished job has no way out
            spool.add(job("c"), capacity=3),
            spool.add(job("d"), capacity=3),  # over capacity: a, b, c pending
            spool.move(first.seq, JobState.PRINTING, now=4.0, attempts=1),
            spool.mark_results_delivered([done.seq]),
        ]
        tasks = [asyncio.ensure_future(request) for request in requests]
        await asyncio.sleep(0.05)
        gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        kinds = [type(result).__name__ for result in results]
        assert kinds == ["DuplicateJob", "IdConflict", "Job", "InvalidTransition", "Job", "OverflowError", "Job",
                         "NoneType"]  # fmt: skip
        assert isinstance(results[0], DuplicateJob) and isinstance(results[1], IdConflict)
        assert isinstance(results[3], InvalidTransition)
        assert counter.commits == 1
        assert sorted(j.id for j in await spool.recent(10)) == ["a", "b", "c", "done"]
        printing = await spool.get(first.seq)
        assert printing is not None and (printing.state, printing.attempts) == (JobState.PRINTING, 1)
        assert await spool.undelivered_results("pos1") == []
        await spool.close()

    asyncio.run(asyncio.wait_for(story(), timeout=60))


def test_pending_counts_kept_in_memory_match_the_file_and_are_rebuilt_at_open(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"

    def counted(store: BlockingStore) -> tuple[int, list[str]]:
        rows = store._db.execute(
            "SELECT printer, COUNT(*) FROM jobs WHERE state IN ('queued','waiting','printing') GROUP BY printer"
        ).fetchall()
        return sum(int(n) for _, n in rows), sorted(str(p) for p, _ in rows)

    store = BlockingStore(path)
    seqs = [store.add(job(f"j{n}", printer=("a", "b")[n % 2]), capacity=100).seq for n in range(6)]
    store.move(seqs[0], JobState.PRINTING, now=2.0)
    store.move(seqs[0], JobState.SUCCESS, now=3.0)
    store.move(seqs[1], JobState.WAITING, now=3.0)
    store.move(seqs[3], JobState.CANCELLED, now=3.0)
    with pytest.raises(InvalidTransition):
        store.move(seqs[3], JobState.PRINTING, now=4.0)
    assert (store.count_pending(), sorted(store.pending_printers())) == counted(store) == (4, ["a", "b"])
    store.move(seqs[1], JobState.EXPIRED, now=5.0)
    store.move(seqs[5], JobState.ERROR, now=5.0)
    assert (store.count_pending(), store.pending_printers()) == counted(store) == (2, ["a"])
    store.close()
    again = BlockingStore(path)
    assert (again.count_pending(), again.pending_printers()) == (2, ["a"])
    again.close()


def test_a_batch_that_cannot_be_written_changes_nothing_not_even_the_counts(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path / "spool.sqlite3")
    store.add(job("kept"), capacity=10)
    store._db.execute("PRAGMA query_only = ON")  # every write fails, as on a read-only file
    outcomes = store.write_batch(
        [lambda: store.do_add(job("x"), 10, 600.0, None), lambda: store.do_add(job("y"), 10, 600.0, None)]
    )
    assert [ok for ok, _ in outcomes] == [False, False]
    assert all(str(error).startswith("STORAGE: the spool could not be written") for _, error in outcomes)
    assert store.count_pending() == 1 and store.health.status == "degraded"
    store._db.execute("PRAGMA query_only = OFF")
    store.add(job("y"), capacity=10)
    assert store.count_pending() == 2 and store.health.ok
    store.close()


def test_a_batch_that_refuses_nothing_needs_no_savepoints(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path / "spool.sqlite3")
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    outcomes = store.write_batch(
        [lambda: store.do_add(job("x"), 10, 600.0, None), lambda: store.do_add(job("y"), 10, 600.0, None)]
    )
    assert [ok for ok, _ in outcomes] == [True, True]
    assert not [s for s in statements if "SAVEPOINT" in s.upper() or s.upper().startswith("ROLLBACK")]
    assert [s for s in statements if s.strip().upper() == "COMMIT"] == ["COMMIT"]
    assert committed_rows(tmp_path / "spool.sqlite3") == {"x", "y"}
    store.close()


def test_a_request_refused_after_it_wrote_leaves_nothing_behind_and_the_others_commit(tmp_path: Path) -> None:
    """A request that fails half-way (its row written, then an error) is undone by itself: the batch runs again
    request by request, and the pending counts are those of what was committed."""
    path = tmp_path / "spool.sqlite3"
    store = BlockingStore(path)

    def written_then_refused() -> None:
        store.do_add(job("half"), 10, 600.0, None)
        raise ValueError("refused after its write")

    outcomes = store.write_batch(
        [
            lambda: store.do_add(job("a"), 10, 600.0, None),
            written_then_refused,
            lambda: store.do_add(job("b"), 10, 600.0, None),
        ]
    )
    assert [ok for ok, _ in outcomes] == [True, False, True]
    assert isinstance(outcomes[1][1], ValueError)
    assert committed_rows(path) == {"a", "b"}
    assert store.count_pending() == 2
    store.close()
    again = BlockingStore(path)
    assert again.count_pending() == 2
    again.close()


def test_a_new_id_and_each_move_cost_one_statement_and_what_they_return_is_what_was_written(tmp_path: Path) -> None:
    """Each statement hands the interpreter lock away and takes it back on the spool thread: a new job is one
    insert (its id looked up by the insert itself), a move one update that returns the row it wrote."""
    store = BlockingStore(tmp_path / "spool.sqlite3")
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    [(added_ok, added)] = store.write_batch([lambda: store.do_add(job("x"), 10, 600.0, None)])
    [(printing_ok, printing)] = store.write_batch([lambda: store.do_move(added.seq, JobState.PRINTING, 2.0, None, 1)])
    [(done_ok, done)] = store.write_batch(
        [lambda: store.do_move(added.seq, JobState.SUCCESS, 3.0, "Print completed in 5ms", None)]
    )
    assert (added_ok, printing_ok, done_ok) == (True, True, True)
    work = [s.split()[0].upper() for s in statements if s.split()[0].upper() not in ("BEGIN", "COMMIT")]
    assert work == ["INSERT", "UPDATE", "UPDATE"]
    assert (printing.state, printing.attempts, printing.data, printing.updated_at) == (
        JobState.PRINTING,
        1,
        b"\x1b@x",
        2.0,
    )
    assert (done.state, done.attempts, done.data, done.message) == (JobState.SUCCESS, 1, None, "Print completed in 5ms")
    assert done == store.get(added.seq)
    assert store.count_pending() == 0
    store.close()


def test_a_move_of_a_job_not_in_a_state_the_edge_leaves_from_changes_nothing(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path / "spool.sqlite3")
    added = store.add(job("x"), capacity=10)
    with pytest.raises(InvalidTransition):
        store.move(added.seq, JobState.SUCCESS, now=2.0, message="too early")
    with pytest.raises(KeyError):
        store.move(added.seq + 1, JobState.PRINTING, now=2.0)
    assert store.get(added.seq) == added
    assert store.count_pending() == 1
    store.close()


def test_a_resent_id_is_answered_from_the_store_while_new_jobs_are_refused(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path / "spool.sqlite3")
    first = store.add(job("x"), capacity=1)
    with pytest.raises(DuplicateJob) as retry:  # the queue is full, yet the retry gets its duplicate ack
        store.add(job("x"), capacity=1)
    assert retry.value.existing == first
    with pytest.raises(IdConflict):
        store.add(job("x", digest="d2"), capacity=1)
    with pytest.raises(OverflowError):
        store.add(job("y"), capacity=1)
    store.close()


def delivered_rows(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {str(row[0]) for row in db.execute("SELECT id FROM jobs WHERE delivered = 1")}
    finally:
        db.close()


def test_a_delivered_result_is_recorded_with_the_next_write_not_in_a_commit_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"

    async def story() -> None:
        spool, counter = await opened(path, ride_along_seconds=60.0)  # only another write can carry the record
        printed = await spool.add(job("printed"), capacity=10)
        await spool.move(printed.seq, JobState.PRINTING, now=2.0)
        await spool.move(printed.seq, JobState.SUCCESS, now=3.0, message="Print completed in 5ms")
        before = counter.commits
        recorded = asyncio.ensure_future(spool.mark_results_delivered([printed.seq]))
        await asyncio.sleep(0.2)  # ample for a commit of its own: there is none, the record waits for a batch
        assert not recorded.done() and counter.commits == before
        await spool.add(job("next"), capacity=10)
        await recorded
        assert counter.commits == before + 1  # the next job's commit carried the record
        assert delivered_rows(path) == {"printed"}
        await spool.close()

    asyncio.run(asyncio.wait_for(story(), timeout=30))


def test_a_delivered_result_is_recorded_by_itself_when_no_write_comes_and_before_a_stop(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"

    async def story() -> None:
        spool, _ = await opened(path)
        done = []
        for name in ("a", "b"):
            stored = await spool.add(job(name), capacity=10)
            await spool.move(stored.seq, JobState.PRINTING, now=2.0)
            done.append(await spool.move(stored.seq, JobState.SUCCESS, now=3.0, message="Print completed in 5ms"))
        await spool.mark_results_delivered([done[0].seq])  # returns: committed on its own, a moment later
        assert delivered_rows(path) == {"a"}
        last = asyncio.ensure_future(spool.mark_results_delivered([done[1].seq]))
        await asyncio.sleep(0)
        await spool.close()  # a stop commits what rides along before the store closes
        await last
        assert delivered_rows(path) == {"a", "b"}

    asyncio.run(asyncio.wait_for(story(), timeout=30))
