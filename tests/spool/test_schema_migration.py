"""A spool written by an earlier version opens as the current schema with every job kept: schema 1 (ids unique over
all clients, bytes kept forever) gets finished jobs without their bytes, ids scoped per owner and no seq ever
reused; schema 2 loses the two indexes no hot query reads (by id alone, and finished jobs by age)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from blocking_store import BlockingStore
from ticket_daemon.store.jobs import Job, JobState
from ticket_daemon.store.schema import MIGRATIONS, SCHEMA_VERSION

V1_INSERT = (
    "INSERT INTO jobs (seq, id, client_id, printer, document, data, state, created_at, updated_at, message)"
    " VALUES (?, ?, ?, 'caja1', '{\"commands\":[]}', ?, ?, 1.0, 2.0, ?)"
)


CURRENT_INDEXES = {"jobs_pending", "jobs_undelivered", "jobs_owner_id"}


def indexes_of(store: BlockingStore) -> set[str]:
    return {
        str(row[1]) for row in store._db.execute("PRAGMA index_list(jobs)") if not str(row[1]).startswith("sqlite_")
    }


def version_1_spool(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.execute(V1_INSERT, (1, "done", "till-1", b"\x1b@done", "success", "Print completed in 5ms"))
    db.execute(V1_INSERT, (2, "queued", "till-1", b"\x1b@queued", "queued", ""))
    db.execute(V1_INSERT, (3, "pruned-later", "till-1", b"x", "error", "PRINTER: Paper out"))
    db.execute("DELETE FROM jobs WHERE seq = 3")  # pruned: its seq must never name another job
    db.close()


def test_a_version_1_spool_is_migrated_without_losing_a_job(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    version_1_spool(path)
    store = BlockingStore(path)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    done, queued = store.get(1), store.get(2)
    assert done is not None and (done.id, done.state, done.data) == ("done", JobState.SUCCESS, None)
    assert done.document == '{"commands":[]}' and done.message == "Print completed in 5ms"
    assert queued is not None and queued.data == b"\x1b@queued" and store.count_pending() == 1
    # Another owner may now use the same id; the new job's seq comes after every seq ever given.
    other = store.add(
        Job(id="queued", client_id="till-2", printer="caja1", document="{}", data=b"y", created_at=3.0),
        capacity=10,
    )
    assert other.seq == 4
    assert indexes_of(store) == CURRENT_INDEXES
    store.close()


def test_a_version_2_spool_drops_the_two_unread_indexes_and_keeps_every_job_and_its_rules(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    version_1_spool(path)
    db = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[1](db)
    db.execute("PRAGMA user_version = 2")
    db.close()
    store = BlockingStore(path)

    assert store._db.execute("PRAGMA user_version").fetchone()[0] == 3
    assert indexes_of(store) == CURRENT_INDEXES
    queued = store.get(2)
    assert queued is not None and queued.data == b"\x1b@queued" and store.count_pending() == 1
    # The prune still finds finished jobs by age.
    assert store.prune(older_than=10.0, max_rows=100) == 1
    assert store.get(1) is None and store.get(2) is not None
    store.close()
