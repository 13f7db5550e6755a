"""The durable job store: one SQLite file (stdlib ``sqlite3``) in WAL mode.

What ``ack`` guarantees: :meth:`SqliteJobStore.add` returns only after the job's row is committed with
``synchronous=FULL``, i.e. the write-ahead log is fsync'ed. A job that was acked survives a crash of the process
*and* a power cut; the price is one fsync per accepted job (see ``make bench`` for the figure).

The store is synchronous and not thread-safe by design: the daemon owns it from one dedicated thread
(:class:`~ticket_daemon.spool.runner.StoreRunner`), so the event loop never waits on disk I/O and SQLite never sees
concurrent writers. Every state change is one transaction checked against the job life-cycle (``spool/jobs.py``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path

from ..document.errors import Category, TicketError
from .jobs import FINAL_STATES, DuplicateJob, Job, JobState, check_transition

__all__ = ["DuplicateJob", "Recovery", "SqliteJobStore", "StorageError"]

SCHEMA_VERSION = 1

# Each migration takes the database from version N-1 to N; they run in order on start-up.
MIGRATIONS: tuple[str, ...] = (
    """
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
    CREATE INDEX jobs_finished ON jobs (updated_at) WHERE state IN ('success', 'error', 'expired', 'cancelled');
    """,
)

PENDING = (JobState.QUEUED.value, JobState.WAITING.value, JobState.PRINTING.value)
_FINAL = tuple(state.value for state in FINAL_STATES)
# Written out as literals, exactly as in the partial indexes' WHERE clauses: SQLite uses a partial index only when
# the query's condition matches it literally, and bound parameters never do (every call would scan the table).
_IS_PENDING = "state IN ('queued', 'waiting', 'printing')"
_IS_FINAL = "state IN ('success', 'error', 'expired', 'cancelled')"
_COLUMNS = "seq, id, client_id, printer, document, data, state, attempts, created_at, updated_at, message, notes"


class StorageError(TicketError):
    """The spool could not read or write its file: disk full, read-only, corrupt. Reported, never an ack."""

    category = Category.STORAGE
    retryable = True


@dataclass(frozen=True, slots=True)
class Recovery:
    """What start-up found: jobs resumed, and jobs that were cut off mid-send."""

    resumed: int
    interrupted: tuple[Job, ...]


class SqliteJobStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsync'ed at every commit, so an acked job survives power loss, not just a crash.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise StorageError(f"cannot open the spool database {path}: {error}") from None

    # --- life-cycle ------------------------------------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StorageError(f"the spool database {self.path} was written by a newer ticket-daemon")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction():
                for statement in MIGRATIONS[target - 1].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                # SQLite may already have rolled back by itself (SQLITE_FULL, I/O errors): a second ROLLBACK would
                # fail and hide the real error.
                if self._db.in_transaction:
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise StorageError(f"the spool could not be written: {error}") from None

    # --- writes ----------------------------------------------------------------------------------------------

    def add(self, job: Job, *, capacity: int) -> Job:
        """Commit a new job and return it with its acceptance ``seq``.

        Raises :class:`DuplicateJob` when the id is known, ``OverflowError`` when ``capacity`` jobs are already
        pending, :class:`StorageError` when the disk refuses. Only a normal return may be acked.
        """
        with self._transaction() as db:
            existing = self._get(job.id)
            if existing is not None:
                raise DuplicateJob(existing)
            if self._count_pending() >= capacity:
                raise OverflowError("queue full")
            cursor = db.execute(
                "INSERT INTO jobs (id, client_id, printer, document, data, state, attempts, created_at, updated_at,"
                " message, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.id,
                    job.client_id,
                    job.printer,
                    job.document,
                    job.data,
                    job.state.value,
                    job.attempts,
                    job.created_at,
                    job.updated_at,
                    job.message,
                    json.dumps(list(job.notes)),
                ),
            )
            seq = int(cursor.lastrowid or 0)
        return replace(job, seq=seq)

    def move(
        self,
        job_id: str,
        target: JobState,
        *,
        now: float,
        message: str | None = None,
        attempts: int | None = None,
        next_attempt_at: float = 0.0,
    ) -> Job:
        """Move a job along one edge of its life-cycle, atomically; returns the new record."""
        with self._transaction() as db:
            current = self._get(job_id)
            if current is None:
                raise KeyError(job_id)
            check_transition(current.state, target)
            moved = current.moved(target, now=now, message=message, attempts=attempts)
            db.execute(
                "UPDATE jobs SET state = ?, message = ?, attempts = ?, updated_at = ?, next_attempt_at = ?,"
                " delivered = 0 WHERE id = ?",
                (moved.state.value, moved.message, moved.attempts, now, next_attempt_at, job_id),
            )
        return moved

    def mark_delivered(self, job_id: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE jobs SET delivered = 1 WHERE id = ?", (job_id,))

    def recover(self, *, now: float, policy: str) -> Recovery:
        """Start-up: a job found ``printing`` was cut off mid-send (the process died).

        ``reprint`` queues it again from the start (a partial receipt is useless) and notes that in its message;
        ``fail`` ends it with an error. Queued and waiting jobs simply resume in order.
        """
        with self._transaction() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE state = 'printing' ORDER BY seq").fetchall()
            interrupted = tuple(_job(row) for row in rows)
            for job in interrupted:
                if policy == "fail":
                    state, message = JobState.ERROR, "PRINTER: Interrupted while printing (daemon restarted)"
                else:
                    state, message = JobState.QUEUED, "reprinted after an interruption"
                db.execute(
                    "UPDATE jobs SET state = ?, message = ?, updated_at = ?, next_attempt_at = 0 WHERE id = ?",
                    (state.value, message, now, job.id),
                )
            resumed = int(db.execute("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'waiting')").fetchone()[0])
        return Recovery(resumed=resumed, interrupted=interrupted)

    def prune(self, *, older_than: float, max_rows: int) -> int:
        """Forget finished jobs older than ``older_than`` and keep at most ``max_rows`` finished rows."""
        with self._transaction() as db:
            removed = db.execute(f"DELETE FROM jobs WHERE {_IS_FINAL} AND updated_at < ?", (older_than,)).rowcount
            removed += db.execute(
                f"DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs WHERE {_IS_FINAL}"
                " ORDER BY seq DESC LIMIT -1 OFFSET ?)",
                (max_rows,),
            ).rowcount
        return int(removed)

    # --- reads -----------------------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        try:
            return self._get(job_id)
        except sqlite3.Error as error:
            raise StorageError(f"the spool could not be read: {error}") from None

    def next_for_printer(self, printer: str) -> Job | None:
        """The oldest pending job of ``printer``: per-printer FIFO by acceptance order."""
        row = self._read(
            f"SELECT {_COLUMNS} FROM jobs WHERE printer = ? AND {_IS_PENDING} ORDER BY seq LIMIT 1",
            (printer,),
        )
        return _job(row[0]) if row else None

    def next_attempt_at(self, job_id: str) -> float:
        row = self._read("SELECT next_attempt_at FROM jobs WHERE id = ?", (job_id,))
        return float(str(row[0][0])) if row else 0.0

    def count_pending(self) -> int:
        try:
            return self._count_pending()
        except sqlite3.Error as error:
            raise StorageError(f"the spool could not be read: {error}") from None

    def oldest_pending(self) -> Job | None:
        # INDEXED BY: otherwise SQLite walks the rowid order through every finished job to reach a pending one.
        first = f"SELECT MIN(seq) FROM jobs INDEXED BY jobs_pending WHERE {_IS_PENDING}"
        row = self._read(f"SELECT {_COLUMNS} FROM jobs WHERE seq = ({first})", ())
        return _job(row[0]) if row else None

    def pending_for_printer(self, printer: str) -> list[Job]:
        """Every pending job of ``printer``, oldest first."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM jobs WHERE printer = ? AND {_IS_PENDING} ORDER BY seq",
            (printer,),
        )
        return [_job(row) for row in rows]

    def pending_printers(self) -> list[str]:
        rows = self._read(f"SELECT DISTINCT printer FROM jobs WHERE {_IS_PENDING}", ())
        return [str(row[0]) for row in rows]

    def undelivered_results(self, client_id: str) -> list[Job]:
        """Finished jobs of ``client_id`` whose result has not reached it yet, in acceptance order."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM jobs WHERE client_id = ? AND delivered = 0 AND {_IS_FINAL} ORDER BY seq",
            (client_id,),
        )
        return [_job(row) for row in rows]

    def recent(self, limit: int = 50) -> list[Job]:
        rows = self._read(f"SELECT {_COLUMNS} FROM jobs ORDER BY seq DESC LIMIT ?", (limit,))
        return [_job(row) for row in rows]

    def size(self) -> int:
        return int(str(self._read("SELECT COUNT(*) FROM jobs", ())[0][0]))

    # --- internals -------------------------------------------------------------------------------------------

    def _get(self, job_id: str) -> Job | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def _count_pending(self) -> int:
        return int(self._db.execute(f"SELECT COUNT(*) FROM jobs WHERE {_IS_PENDING}").fetchone()[0])

    def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        try:
            return list(self._db.execute(sql, params).fetchall())
        except sqlite3.Error as error:
            raise StorageError(f"the spool could not be read: {error}") from None


def _job(row: tuple[object, ...]) -> Job:
    seq, job_id, client_id, printer, document, data, state, attempts, created, updated, message, notes = row
    return Job(
        id=str(job_id),
        client_id=str(client_id),
        printer=str(printer),
        document=str(document),
        seq=int(str(seq)),
        data=bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else None,
        state=JobState(str(state)),
        attempts=int(str(attempts)),
        created_at=float(str(created)),
        updated_at=float(str(updated)),
        message=str(message),
        notes=tuple(json.loads(str(notes))),
    )
