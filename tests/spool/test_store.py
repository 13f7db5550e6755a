"""The durable spool on a real SQLite file: what is acked survives, in order, exactly once."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from blocking_store import BlockingStore
from ticket_daemon.store.database import DuplicateJob, StorageError
from ticket_daemon.store.jobs import InvalidTransition, Job, JobState
from unprivileged import folder_nobody_can_use, is_root, run_as_nobody


def job(job_id: str, printer: str = "caja1", client: str = "pos1") -> Job:
    return Job(
        id=job_id, client_id=client, printer=printer, document="{}", data=b"\x1b@x", created_at=1.0, updated_at=1.0
    )


def key(store: BlockingStore, job_id: str, owner: str = "pos1") -> int:
    """A job's seq (its key in the store), found in its owner's scope."""
    found = store.find(owner, job_id)
    assert found is not None, job_id
    return found.seq


@pytest.fixture
def store(tmp_path: Path) -> BlockingStore:
    return BlockingStore(tmp_path / "spool.db")


def test_accepted_jobs_survive_a_reopen_in_acceptance_order(tmp_path: Path) -> None:
    first = BlockingStore(tmp_path / "spool.db")
    for name in ("a", "b", "c"):
        first.add(job(name), capacity=10)
    first.close()  # as if the process died: nothing is kept in memory
    again = BlockingStore(tmp_path / "spool.db")
    assert [j.id for j in again.recent()][::-1] == ["a", "b", "c"]
    head = again.next_for_printer("caja1")
    assert head is not None and head.id == "a" and head.data == b"\x1b@x"


def test_each_printer_has_its_own_fifo(store: BlockingStore) -> None:
    for name, printer in (("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b")):
        store.add(job(name, printer), capacity=10)
    store.move(key(store, "a1"), JobState.PRINTING, now=2)
    store.move(key(store, "a1"), JobState.SUCCESS, now=3, message="Print completed in 5ms")
    nxt_a, nxt_b = store.next_for_printer("a"), store.next_for_printer("b")
    assert nxt_a is not None and nxt_a.id == "a2"
    assert nxt_b is not None and nxt_b.id == "b1"
    assert sorted(store.pending_printers()) == ["a", "b"]


def test_a_known_id_is_a_duplicate_and_is_not_stored_twice(store: BlockingStore) -> None:
    store.add(job("same"), capacity=10)
    with pytest.raises(DuplicateJob) as info:
        store.add(job("same"), capacity=10)
    assert info.value.existing.id == "same"
    assert store.size() == 1


def test_capacity_counts_pending_jobs_only(store: BlockingStore) -> None:
    store.add(job("1"), capacity=2)
    store.add(job("2"), capacity=2)
    with pytest.raises(OverflowError):
        store.add(job("3"), capacity=2)
    store.move(key(store, "1"), JobState.PRINTING, now=2)
    store.move(key(store, "1"), JobState.SUCCESS, now=3)
    store.add(job("3"), capacity=2)
    assert store.count_pending() == 2


def test_transitions_are_guarded(store: BlockingStore) -> None:
    store.add(job("x"), capacity=10)
    store.move(key(store, "x"), JobState.PRINTING, now=2)
    store.move(key(store, "x"), JobState.SUCCESS, now=3)
    with pytest.raises(InvalidTransition):
        store.move(key(store, "x"), JobState.PRINTING, now=4)
    record = store.find("pos1", "x")
    assert record is not None and record.state is JobState.SUCCESS


def test_a_job_cut_off_mid_send_is_reprinted_after_restart(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    store = BlockingStore(path)
    store.add(job("cut"), capacity=10)
    store.add(job("next"), capacity=10)
    store.move(key(store, "cut"), JobState.PRINTING, now=2, attempts=1)
    store.close()
    again = BlockingStore(path)
    recovery = again.recover(now=5, policy="reprint")
    assert [j.id for j in recovery.interrupted] == ["cut"]
    assert recovery.resumed == 2
    head = again.next_for_printer("caja1")
    assert head is not None and head.id == "cut" and head.state is JobState.QUEUED
    assert "reprinted after an interruption" in head.message


def test_the_fail_policy_ends_an_interrupted_job_with_an_error(store: BlockingStore) -> None:
    store.add(job("cut"), capacity=10)
    store.move(key(store, "cut"), JobState.PRINTING, now=2)
    store.recover(now=5, policy="fail")
    record = store.find("pos1", "cut")
    assert record is not None and record.state is JobState.ERROR
    assert record.message.startswith("PRINTER: ")


def test_results_wait_for_an_offline_client_until_delivered(store: BlockingStore) -> None:
    store.add(job("j1", client="till-1"), capacity=10)
    store.add(job("j2", client="till-2"), capacity=10)
    for name, client in (("j1", "till-1"), ("j2", "till-2")):
        store.move(key(store, name, client), JobState.PRINTING, now=2)
        store.move(key(store, name, client), JobState.SUCCESS, now=3, message="Print completed in 3ms")
    assert [j.id for j in store.undelivered_results("till-1")] == ["j1"]
    store.mark_results_delivered([key(store, "j1", "till-1")])
    assert store.undelivered_results("till-1") == []


def test_prune_keeps_pending_jobs_and_bounds_finished_ones(store: BlockingStore) -> None:
    for i in range(6):
        store.add(job(f"done{i}"), capacity=100)
        store.move(key(store, f"done{i}"), JobState.PRINTING, now=10 + i)
        store.move(key(store, f"done{i}"), JobState.SUCCESS, now=10 + i)
    store.add(job("waiting"), capacity=100)
    assert store.prune(older_than=12, max_rows=100) == 2  # done0, done1 are past retention
    assert store.prune(older_than=0, max_rows=2) == 2  # keep the 2 newest finished rows
    assert {j.id for j in store.recent()} == {"done4", "done5", "waiting"}


def test_a_corrupt_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError) as info:
        BlockingStore(path)
    assert str(info.value).startswith("STORAGE: cannot open the spool database")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_database_refuses_writes_with_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    BlockingStore(path).close()
    path.chmod(0o444)
    with pytest.raises(StorageError):
        BlockingStore(path).add(job("x"), capacity=10)


@pytest.mark.skipif(not is_root(), reason="the test above sees the refusal directly")
def test_a_read_only_database_refuses_writes_with_a_storage_error_for_a_daemon_started_by_root() -> None:
    """As root (CI), the daemon's part runs as the unprivileged user it would run as in production: the database
    file belongs to someone else and is read-only, its folder is open (SQLite may create its side files there)."""
    with folder_nobody_can_use(0o777) as folder:
        path = folder / "spool.db"
        BlockingStore(path).close()
        path.chmod(0o444)

        def add_as_nobody() -> str:
            with pytest.raises(StorageError) as info:
                BlockingStore(path).add(job("x"), capacity=10)
            return str(info.value)

        message = run_as_nobody(add_as_nobody)
        store = BlockingStore(path)
        assert store.find("pos1", "x") is None
        store.close()
    assert message.startswith("STORAGE: ")


def test_a_read_only_connection_refuses_writes_with_a_storage_error(tmp_path: Path) -> None:
    # Works as root too: SQLite's query_only makes every write fail the way a read-only file does.
    store = BlockingStore(tmp_path / "spool.db")
    store._db.execute("PRAGMA query_only = ON")
    with pytest.raises(StorageError) as info:
        store.add(job("x"), capacity=10)
    assert str(info.value).startswith("STORAGE: the spool could not be written")
    store._db.execute("PRAGMA query_only = OFF")
    assert store.find("pos1", "x") is None


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StorageError, match="newer ticket-daemon"):
        BlockingStore(path)


def test_storage_is_crash_safe_by_configuration(store: BlockingStore) -> None:
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_pending_job_queries_use_the_partial_index_not_a_table_scan(store: BlockingStore) -> None:
    # With thousands of finished jobs kept for retention, a table scan per query would slow every ack down.
    from ticket_daemon.store import reads as module

    plans = []
    for sql in (
        f"SELECT COUNT(*) FROM jobs WHERE {module._IS_PENDING}",
        f"SELECT seq FROM jobs WHERE printer = 'a' AND {module._IS_PENDING} ORDER BY seq LIMIT 1",
        f"SELECT MIN(seq) FROM jobs INDEXED BY jobs_pending WHERE {module._IS_PENDING}",
    ):
        plans.append(" ".join(row[3] for row in store._db.execute("EXPLAIN QUERY PLAN " + sql)))
    assert all("jobs_pending" in plan for plan in plans), plans



def test_a_finished_job_does_not_write_the_bytes_it_drops_to_the_log_again(tmp_path: Path) -> None:
    """A final state drops the rendered bytes; the pages they held are freed without being zeroed and written to
    the write-ahead log again (the document they were made from stays in the row)."""
    store = BlockingStore(tmp_path / "spool.db")
    rendered = os.urandom(64 * 1024)  # a receipt with a big logo
    added = store.add(Job(id="r", client_id="pos1", printer="caja1", document="{}", data=rendered), capacity=10)
    store.move(added.seq, JobState.PRINTING, now=2)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the log starts empty
    store.move(added.seq, JobState.SUCCESS, now=3, message="Print completed in 5ms")
    logged = (tmp_path / "spool.db-wal").stat().st_size
    assert logged < len(rendered) // 2
    finished = store.get(added.seq)
    assert finished is not None and finished.data is None and finished.document == "{}"
    store.close()
