"""The spool's writes in as few SQLite steps as their rules allow, on a real file: a group commit's new jobs are one
insert, numbered in their order; a job the store put in ``printing`` moves on without its row being read back, but
only while the row is still what the store wrote; a claim is one update; delivered marks are one update. Every
answer is the one the job-by-job way gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from blocking_store import BlockingStore
from ticket_daemon.store.jobs import DuplicateJob, IdConflict, Job, JobState
from ticket_daemon.store.newjobs import NewJob


def job(job_id: str, client: str = "pos1", *, printer: str = "caja1", digest: str = "d1", at: float = 1.0) -> Job:
    return Job(
        id=job_id, client_id=client, printer=printer, document=f'{{"n":"{job_id}"}}', data=f"<{job_id}>".encode(),
        created_at=at, updated_at=at, digest=digest, notes=("a note",),
    )  # fmt: skip


def traced(store: BlockingStore) -> list[str]:
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    return statements


def work(statements: list[str]) -> list[str]:
    return [s.split()[0].upper() for s in statements if s.split()[0].upper() not in ("BEGIN", "COMMIT")]


def test_the_new_jobs_of_a_batch_are_one_insert_numbered_in_their_order_and_stored_as_sent(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path / "spool.sqlite3")
    store.add(job("before"), capacity=1000)
    statements = traced(store)
    sent = [job(f"j{n}", client=f"pos{n % 3}", printer=f"caja{n % 2}", at=1.0 + n) for n in range(300)]
    outcomes = store.write_batch([NewJob(store, one, 1000, 600.0, None) for one in sent])
    assert work(statements) == ["INSERT", "INSERT"]  # 256 rows per statement at most
    stored = [value for ok, value in outcomes if ok]
    assert len(stored) == 300
    assert [one.seq for one in stored] == list(range(stored[0].seq, stored[0].seq + 300))
    for one, original in zip(stored, sent, strict=True):
        assert store.get(one.seq) == one
        assert (one.id, one.client_id, one.printer, one.data, one.notes) == (
            original.id,
            original.client_id,
            original.printer,
            original.data,
            original.notes,
        )
    assert store.count_pending() == 301
    assert {name: len(store.pending_for_printer(name)) for name in ("caja0", "caja1")} == {"caja0": 150, "caja1": 151}
    store.close()


def test_a_batch_with_a_resent_id_answers_each_job_as_one_by_one(tmp_path: Path) -> None:
    """One resent id among new ones: the batch is stored job by job, and each gets the answer it would alone."""
    store = BlockingStore(tmp_path / "spool.sqlite3")
    first = store.add(job("x"), capacity=10)
    outcomes = store.write_batch(
        [
            NewJob(store, job("a"), 10, 600.0, None),
            NewJob(store, job("x"), 10, 600.0, None),
            NewJob(store, job("x", digest="d2"), 10, 600.0, None),
            NewJob(store, job("b"), 10, 600.0, None),
        ]
    )
    assert [ok for ok, _ in outcomes] == [True, False, False, True]
    assert isinstance(outcomes[1][1], DuplicateJob) and outcomes[1][1].existing == first
    assert isinstance(outcomes[2][1], IdConflict)
    assert [one.id for one in store.pending_for_printer("caja1")] == ["x", "a", "b"]
    store.close()


def test_two_new_jobs_with_one_id_in_one_batch_are_a_job_and_its_duplicate(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path / "spool.sqlite3")
    outcomes = store.write_batch([NewJob(store, job("x"), 10, 600.0, None), NewJob(store, job("x"), 10, 600.0, None)])
    assert outcomes[0][0] and not outcomes[1][0]
    assert isinstance(outcomes[1][1], DuplicateJob) and outcomes[1][1].existing == outcomes[0][1]
    # An anonymous client (no window) may use an id twice: both are printed.
    again = store.write_batch([NewJob(store, job("y"), 10, 0.0, None), NewJob(store, job("y"), 10, 0.0, None)])
    assert [ok for ok, _ in again] == [True, True]
    assert store.count_pending() == 3
    store.close()


def test_new_jobs_beyond_the_queue_capacity_are_refused_alone(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path / "spool.sqlite3")
    store.add(job("x"), capacity=3)
    outcomes = store.write_batch([NewJob(store, job(name), 3, 600.0, None) for name in "abc"])
    assert [ok for ok, _ in outcomes] == [True, True, False]
    assert isinstance(outcomes[2][1], OverflowError)
    assert store.count_pending() == 3
    store.close()


def test_new_jobs_go_first_so_a_claim_in_the_same_batch_takes_them(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path / "spool.sqlite3")
    printing = store.move(store.add(job("p"), capacity=10).seq, JobState.PRINTING, now=2.0, attempts=1)
    outcomes = store.write_batch(
        [
            lambda: store.do_finish_and_claim(printing.seq, JobState.SUCCESS, 3.0, "done", 64, 1 << 20),
            NewJob(store, job("a"), 10, 600.0, None),
            NewJob(store, job("b"), 10, 600.0, None),
        ]
    )
    finished, claimed = outcomes[0][1]
    assert finished.state is JobState.SUCCESS
    assert [(one.id, one.state, one.attempts) for one in claimed] == [
        ("a", JobState.PRINTING, 1),
        ("b", JobState.PRINTING, 1),
    ]
    assert [store.get(one.seq) for one in claimed] == claimed
    store.close()


def test_a_claim_is_one_update_and_a_claimed_job_finishes_with_one_more(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path / "spool.sqlite3")
    first = store.move(store.add(job("p"), capacity=10).seq, JobState.PRINTING, now=2.0, attempts=1)
    for name in "abc":
        store.add(job(name), capacity=10)
    statements = traced(store)
    _, claimed = store.finish_and_claim(first.seq, JobState.SUCCESS, now=3.0, message="done", limit=64)
    assert work(statements) == ["UPDATE", "SELECT", "UPDATE"]
    assert [store.get(one.seq) for one in claimed] == claimed
    assert [(one.data, one.notes, one.message, one.updated_at) for one in claimed] == [
        (f"<{name}>".encode(), ("a note",), "", 3.0) for name in "abc"
    ]
    statements.clear()
    done = store.move(claimed[0].seq, JobState.SUCCESS, now=4.0, message="Print completed in 5ms")
    assert work(statements) == ["UPDATE"]
    assert done == store.get(claimed[0].seq)
    assert (done.state, done.data, done.attempts, done.message) == (JobState.SUCCESS, None, 1, "Print completed in 5ms")
    assert store.count_pending() == 2
    store.close()


def test_a_record_gone_stale_is_never_trusted(tmp_path: Path) -> None:
    """Another writer moved the job after the store put it in printing: the move checks the row, finds it changed,
    and takes the general way, which reads the row and answers from it."""
    path = tmp_path / "spool.sqlite3"
    store = BlockingStore(path)
    printing = store.move(store.add(job("x"), capacity=10).seq, JobState.PRINTING, now=2.0, attempts=1)
    changed = "UPDATE jobs SET attempts = 5, message = 'changed behind its back' WHERE seq = ?"
    store._db.execute(changed, (printing.seq,))
    done = store.move(printing.seq, JobState.ERROR, now=3.0)
    assert (done.attempts, done.message) == (5, "changed behind its back")
    assert done == store.get(printing.seq)
    store._db.execute("UPDATE jobs SET state = 'queued' WHERE seq = ?", (done.seq,))  # as a rolled-back batch left it
    again = store.move(store.move(done.seq, JobState.PRINTING, now=4.0, attempts=6).seq, JobState.QUEUED, now=5.0)
    assert again == store.get(done.seq) and again.state is JobState.QUEUED
    store.close()


def test_a_batch_rolled_back_leaves_no_record_the_next_move_trusts(tmp_path: Path) -> None:
    store = BlockingStore(tmp_path / "spool.sqlite3")
    added = store.add(job("x"), capacity=10)

    def printing_then_refused() -> None:
        store.do_move(added.seq, JobState.PRINTING, 2.0, None, 1)
        raise ValueError("refused after its write")

    [(ok, _)] = store.write_batch([printing_then_refused])
    assert not ok and store.get(added.seq) == added
    with pytest.raises(Exception, match="queued"):
        store.move(added.seq, JobState.SUCCESS, now=3.0)
    assert store.get(added.seq) == added
    store.close()


def test_delivered_marks_are_one_update(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    store = BlockingStore(path)
    seqs = []
    for name in "abc":
        added = store.add(job(name), capacity=10)
        seqs.append(store.move(added.seq, JobState.CANCELLED, now=2.0).seq)
    statements = traced(store)
    store.mark_results_delivered([*seqs, 999])
    assert work(statements) == ["UPDATE"]
    assert store.undelivered_results("pos1") == []
    store.close()
