"""The spool file's schema and its migrations: each takes the database from version N-1 to N, in one transaction,
on start-up (``PRAGMA user_version`` holds the version)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 3

_VERSION_1 = """
    CREATE TABLE jobs (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- acceptance order
        id              TEXT NOT NULL UNIQUE,               -- the client's id: idempotency key
        client_id       TEXT NOT NULL,
        printer         TEXT NOT NULL,
        document        TEXT NOT NULL,
        data            BLOB,
        state           TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        created_at      REAL NOT NULL,
        updated_at      REAL NOT NULL,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        message         TEXT NOT NULL DEFAULT '',
        notes           TEXT NOT NULL DEFAULT '[]',
        delivered       INTEGER NOT NULL DEFAULT 0           -- the final result reached the client
    );
    CREATE INDEX jobs_pending ON jobs (printer, seq) WHERE state IN ('queued', 'waiting', 'printing');
    CREATE INDEX jobs_undelivered ON jobs (client_id, seq) WHERE delivered = 0;
    CREATE INDEX jobs_finished ON jobs (updated_at) WHERE state IN ('success', 'error', 'expired', 'cancelled')
"""

# Version 2: ids are unique per owner (client_id) within a time window, not globally, so the UNIQUE constraint on
# ``id`` goes (SQLite cannot drop a constraint: the table is rebuilt); ``digest`` tells a retry from a reused id;
# finished jobs drop their rendered bytes (the document stays for a reprint).
_VERSION_2_TABLE = """
    CREATE TABLE jobs_v2 (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- acceptance order; the job's key
        id              TEXT NOT NULL,                      -- the client's id, unique per owner within the window
        client_id       TEXT NOT NULL,                      -- the owner scope of the id
        printer         TEXT NOT NULL,
        document        TEXT NOT NULL,
        data            BLOB,                               -- rendered bytes; NULL once the job is finished
        state           TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        created_at      REAL NOT NULL,
        updated_at      REAL NOT NULL,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        message         TEXT NOT NULL DEFAULT '',
        notes           TEXT NOT NULL DEFAULT '[]',
        delivered       INTEGER NOT NULL DEFAULT 0,          -- the final result reached the client
        digest          TEXT NOT NULL DEFAULT ''             -- SHA-256 of the client's canonical document
    )
"""
_V1_COLUMNS = (
    "seq, id, client_id, printer, document, data, state, attempts, created_at, updated_at, next_attempt_at,"
    " message, notes, delivered"
)
_VERSION_2_INDEXES = (
    "CREATE INDEX jobs_pending ON jobs (printer, seq) WHERE state IN ('queued', 'waiting', 'printing')",
    "CREATE INDEX jobs_undelivered ON jobs (client_id, seq) WHERE delivered = 0",
    "CREATE INDEX jobs_finished ON jobs (updated_at) WHERE state IN ('success', 'error', 'expired', 'cancelled')",
    "CREATE INDEX jobs_owner_id ON jobs (client_id, id, seq)",
    "CREATE INDEX jobs_id ON jobs (id, seq)",
)


def _to_version_1(db: sqlite3.Connection) -> None:
    for statement in _VERSION_1.split(";"):
        if statement.strip():
            db.execute(statement)


def _to_version_2(db: sqlite3.Connection) -> None:
    db.execute(_VERSION_2_TABLE)
    db.execute(f"INSERT INTO jobs_v2 ({_V1_COLUMNS}) SELECT {_V1_COLUMNS} FROM jobs")
    # Keep the sequence where it was: a seq is a job's key and must never name a pruned job's successor.
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'jobs'").fetchone()
    if row is not None:
        db.execute("DELETE FROM sqlite_sequence WHERE name = 'jobs_v2'")
        db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('jobs_v2', ?)", (row[0],))
    db.execute("DROP TABLE jobs")
    db.execute("ALTER TABLE jobs_v2 RENAME TO jobs")
    for statement in _VERSION_2_INDEXES:
        db.execute(statement)
    db.execute("UPDATE jobs SET data = NULL WHERE state IN ('success', 'error', 'expired', 'cancelled')")


def _to_version_3(db: sqlite3.Connection) -> None:
    # Every index is written by the commit that acks a job, on the spool thread; these two served no hot query:
    # nothing looks a job up by id alone (ids are scoped per owner: jobs_owner_id), and the prune, the only reader
    # of jobs_finished, runs every few minutes and walks the table anyway to keep at most max_rows.
    db.execute("DROP INDEX IF EXISTS jobs_id")
    db.execute("DROP INDEX IF EXISTS jobs_finished")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_to_version_1, _to_version_2, _to_version_3)
