"""Reading the spool: the queries of :class:`~ticket_daemon.store.database.SqliteJobStore`, kept apart from its writes.

Reads run on the spool thread after the writes handed over before them are committed, so a read sees every write
issued before it (what callers rely on: a job moved by one task is seen moved by the next read of another). A second
read connection was measured (a read under 10 adding callers: p50 4.6 → 0.2 ms) but gives that order up: a read
could see a job as it was before a write already handed over, which makes an operator's cancel race the worker."""

from __future__ import annotations

import json
import sqlite3
from typing import cast

from .faults import StorageError
from .interface import JobKey
from .jobs import Job, JobState
from .newjobs import NO_NOTES

# Written out as literals, exactly as in the partial indexes' WHERE clauses: SQLite uses a partial index only when
# the query's condition matches it literally, and bound parameters never do (every call would scan the table).
_IS_PENDING = "state IN ('queued', 'waiting', 'printing')"
_IS_FINAL = "state IN ('success', 'error', 'expired', 'cancelled')"
_COLUMNS = (
    "seq, id, client_id, printer, document, data, state, attempts, created_at, updated_at, message, notes, digest"
)


class JobReads:
    _db: sqlite3.Connection

    # --- reads -----------------------------------------------------------------------------------------------

    def get(self, key: JobKey) -> Job | None:
        """The job with this ``seq``, or None."""
        try:
            return self._resolve(key)
        except sqlite3.Error as error:
            raise StorageError(f"the spool could not be read: {error}") from None

    def find(self, owner: str, job_id: str, *, newer_than: float | None = None) -> Job | None:
        """The newest job ``owner`` sent with ``job_id`` (accepted after ``newer_than``, when given), or None."""
        try:
            job = self._newest(owner, job_id)
        except sqlite3.Error as error:
            raise StorageError(f"the spool could not be read: {error}") from None
        if job is None or (newer_than is not None and job.created_at <= newer_than):
            return None
        return job

    def next_for_printer(self, printer: str) -> Job | None:
        """The oldest pending job of ``printer``: per-printer FIFO by acceptance order."""
        row = self._read(
            f"SELECT {_COLUMNS} FROM jobs WHERE printer = ? AND {_IS_PENDING} ORDER BY seq LIMIT 1",
            (printer,),
        )
        return _job(row[0]) if row else None

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

    def _resolve(self, key: JobKey) -> Job | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE seq = ?", (key,)).fetchone()
        return _job(row) if row else None

    def _newest(self, owner: str, job_id: str) -> Job | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE client_id = ? AND id = ? ORDER BY seq DESC LIMIT 1", (owner, job_id)
        ).fetchone()
        return _job(row) if row else None

    def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        try:
            return list(self._db.execute(sql, params).fetchall())
        except sqlite3.Error as error:
            raise StorageError(f"the spool could not be read: {error}") from None


def _job(row: tuple[object, ...]) -> Job:
    # The columns come back as the schema declares them (SQLite's types), so they are taken as they are: converting
    # each again cost the spool thread several microseconds per row read.
    seq, job_id, client_id, printer, document, data, state, attempts, created, updated, message, notes, digest = row
    return Job(
        cast(str, job_id),
        cast(str, client_id),
        cast(str, printer),
        cast(str, document),
        cast(int, seq),
        data if isinstance(data, bytes) else None,
        JobState(cast(str, state)),
        cast(int, attempts),
        cast(float, created),  # REAL columns read back as float, whole values too
        cast(float, updated),
        cast(str, message),
        () if notes == NO_NOTES else tuple(json.loads(cast(str, notes))),
        cast(str, digest),
    )
