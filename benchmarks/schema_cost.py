"""What the spool's table costs SQLite per job, against the durable floor's table, in the same run on the same disk
(a section of ``python -m benchmarks spool``). Both get the same statements: each job inserted, then marked done in the
next commit, in group commits of :data:`JOBS_PER_COMMIT` with ``synchronous=FULL`` in WAL mode. Every index is
written by the commit that acks a job, on the spool thread, so this is the schema's share of the ack path."""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from ticket_daemon.store.schema import MIGRATIONS

JOBS = 2000
JOBS_PER_COMMIT = 5  # a typical group commit with 10 tills sending
ROUNDS = 5
# The durable floor's table (durable_floor.py): the row and the one unique key an idempotent id needs.
FLOOR_TABLE = (
    "CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, client_id TEXT NOT NULL,"
    " printer TEXT NOT NULL, document TEXT NOT NULL, data BLOB, state TEXT NOT NULL, created_at REAL NOT NULL,"
    " updated_at REAL NOT NULL, UNIQUE (client_id, id))"
)
DOCUMENT = '{"version":"1.0","commands":[{"type":"text","data":{"content":{"text":"Hola"}}}]}'
DATA = b"\x1b@Hola\n\x1dV\x00"


def _ours(db: sqlite3.Connection) -> None:
    for migrate in MIGRATIONS:
        migrate(db)


def _floor(db: sqlite3.Connection) -> None:
    db.execute(FLOOR_TABLE)


def _microseconds_per_job(folder: Path, create: str) -> float:
    db = sqlite3.connect(folder / f"{create}-{time.monotonic_ns()}.sqlite3", isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        (_ours if create == "ours" else _floor)(db)
        started = time.perf_counter()
        done: list[int] = []
        for batch in range(JOBS // JOBS_PER_COMMIT):
            db.execute("BEGIN IMMEDIATE")
            for seq in done:
                db.execute("UPDATE jobs SET state = 'success', data = NULL, updated_at = 2.0 WHERE seq = ?", (seq,))
            done = []
            for n in range(JOBS_PER_COMMIT):
                cursor = db.execute(
                    "INSERT INTO jobs (id, client_id, printer, document, data, state, created_at, updated_at)"
                    " VALUES (?, 'till-1', 'caja1', ?, ?, 'queued', 1.0, 1.0)",
                    (f"{batch}-{n}", DOCUMENT, DATA),
                )
                done.append(int(cursor.lastrowid or 0))
            db.execute("COMMIT")
        return (time.perf_counter() - started) / JOBS * 1e6
    finally:
        db.close()


def run() -> None:
    ours: list[float] = []
    floor: list[float] = []
    with tempfile.TemporaryDirectory(prefix="schema-cost-") as folder:
        for _ in range(ROUNDS):  # interleaved, so a slow patch of this shared machine hits both
            ours.append(_microseconds_per_job(Path(folder), "ours"))
            floor.append(_microseconds_per_job(Path(folder), "floor"))
    ratios = sorted(mine / theirs for mine, theirs in zip(ours, floor, strict=True))
    print(
        f"spool table, SQLite time per job (insert, then done; commits of {JOBS_PER_COMMIT}, fsync'ed): ours"
        f" {statistics.median(ours):.0f} us, durable floor's table {statistics.median(floor):.0f} us:"
        f" {statistics.median(ratios):.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})"
    )
