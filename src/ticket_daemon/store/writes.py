"""Writing the spool: the operations of :class:`~ticket_daemon.store.database.SqliteJobStore` that run inside a
group commit's transaction, kept apart from its connection, health and batching (``database.py``) and its queries
(``reads.py``).

On the spool thread every SQLite step (a statement, and each further row it returns) hands the interpreter lock to
the event loop and takes it back, which waits while the loop runs. So each operation is as few steps as its rules
allow: a batch's new jobs are one insert that checks their ids itself (``newjobs.py``); a move is one update, which
returns the row it wrote unless the store put the job in ``printing`` itself and the row is still what it wrote; a
claim is one read and one update, and delivered marks one update. The pending counts per printer are kept in
``_pending``, changed here and rolled back by the batch with the rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from .faults import StorageError
from .interface import JobKey, claimable
from .jobs import TRANSITIONS, Job, JobState, check_reuse
from .newjobs import JOB_COLUMNS, NewJob, insert_new_jobs, row_values
from .reads import _COLUMNS, _IS_FINAL, _IS_PENDING, JobReads, _job

DISK_FULL = "the disk is full: new jobs are refused until space is freed"

_INSERT_JOB = f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# The same insert, made only when the owner did not use the id within the window (jobs_owner_id index).
_INSERT_JOB_UNLESS_USED = (
    f"INSERT INTO jobs ({JOB_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
    " WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE client_id = ? AND id = ? AND ? - created_at < ?)"
)


def _move_returning(target: JobState) -> str:
    """The update that moves a job to ``target`` from any state with that edge (``Job.moved``'s rules: a message or
    attempts left None are kept, a final state drops the rendered bytes), returning the row as it is now."""
    sources = ", ".join(f"'{state.value}'" for state in JobState if target in TRANSITIONS[state])
    return (
        "UPDATE jobs SET state = ?, message = COALESCE(?, message), attempts = COALESCE(?, attempts),"
        " updated_at = ?, delivered = 0, data = CASE WHEN ? THEN NULL ELSE data END"
        f" WHERE seq = ? AND state IN ({sources}) RETURNING {_COLUMNS}"
    )


_MOVE_RETURNING = {target: _move_returning(target) for target in JobState}
# A final write's claim: the printer's next queued jobs (seqs as a JSON array) move to printing with one more attempt.
_CLAIM = (
    "UPDATE jobs SET state = 'printing', attempts = attempts + 1, updated_at = ?, delivered = 0"
    " WHERE seq IN (SELECT value FROM json_each(?)) AND state = 'queued'"
)
# A move out of printing, applied only while the row is still the record this store wrote (_move_known).
_MOVE_PRINTING = (
    "UPDATE jobs SET state = ?, message = ?, attempts = ?, updated_at = ?, delivered = 0,"
    " data = CASE WHEN ? THEN NULL ELSE data END"
    " WHERE seq = ? AND state = 'printing' AND attempts = ? AND updated_at = ?"
)


@dataclass(frozen=True, slots=True)
class Recovery:
    """What start-up found: jobs resumed, and jobs that were cut off mid-send."""

    resumed: int
    interrupted: tuple[Job, ...]


class JobWrites(JobReads):
    _db: sqlite3.Connection
    _pending: dict[str, int]  # printer → pending jobs
    _damage: str | None  # a write found the file damaged: nothing it holds can be trusted
    _file_problem: str | None  # the file at the path is not the one open
    _disk_full: bool
    _printing: dict[int, Job]  # seq → the record of a job this store put in printing, as it wrote it

    def do_add(self, job: Job, capacity: int, window_seconds: float, now: float | None) -> Job:
        """Store a new job and return it with its ``seq``.

        Raises :class:`DuplicateJob` / :class:`~ticket_daemon.store.jobs.IdConflict` when its owner used the id
        within ``window_seconds`` before ``now`` (default ``job.created_at``) for the same / another document,
        ``OverflowError`` when ``capacity`` jobs are pending, :class:`StorageError` when the disk refuses. Only a
        committed add may be acked.

        A new id, the usual case, costs one statement: the insert is made unless the owner used the id within the
        window, and only an id found used is read (the newest job of that id decides, by :func:`check_reuse`)."""
        if job.state is not JobState.QUEUED:
            raise ValueError(f"a new job must be queued, not {job.state.value}")
        if self._damage is not None:  # nothing it holds can be read with trust, resent ids included
            raise StorageError(self._damage)
        now = job.created_at if now is None else now
        seq: int | None = None
        if window_seconds > 0:  # an anonymous client's ids (no window) are never looked up
            if self._new_job_refusal(capacity) is None:
                seq = self._insert(job, unless_used_within=(window_seconds, now))
            if seq is None:
                # A resent id is answered from what is stored even while new jobs are refused (a full disk).
                check_reuse(self._newest(job.client_id, job.id), job, window_seconds=window_seconds, now=now)
        if seq is None:
            refusal = self._new_job_refusal(capacity)
            if refusal is not None:
                raise refusal
            seq = self._insert(job)
        assert seq is not None
        self._pending[job.printer] = self._pending.get(job.printer, 0) + 1
        return job.numbered(seq)

    def do_add_many(self, new_jobs: Sequence[NewJob]) -> list[Job] | None:
        """Store ``new_jobs``, in their order, with one statement (``newjobs.py``); None when any of them must go
        through :meth:`do_add` on its own (an id used within its window, a refusal): nothing is stored then, and the
        caller rolls the transaction back."""
        if self._damage is not None or self._file_problem is not None or self._disk_full:
            return None
        pending = sum(self._pending.values())
        if any(pending + ahead >= new.capacity for ahead, new in enumerate(new_jobs)):
            return None
        stored = insert_new_jobs(self._db, new_jobs)
        for job in stored or ():
            self._pending[job.printer] = self._pending.get(job.printer, 0) + 1
        return stored

    def _new_job_refusal(self, capacity: int) -> Exception | None:
        """Why no new job may be stored now (the spool file is lost, the disk is full, the queue is full), or None."""
        if self._file_problem is not None:
            return StorageError(self._file_problem)
        if self._disk_full:
            return StorageError(DISK_FULL)
        if sum(self._pending.values()) >= capacity:
            return OverflowError("queue full")
        return None

    def _insert(self, job: Job, *, unless_used_within: tuple[float, float] | None = None) -> int | None:
        """Insert ``job``'s row; its ``seq``. ``unless_used_within`` (window, now): only if its owner did not use its
        id within the window before ``now`` (the test :func:`check_reuse` makes, ``now - created_at < window``, in
        the same floating-point arithmetic), else nothing is inserted and None returned."""
        values = row_values(job)
        if unless_used_within is None:
            cursor = self._db.execute(_INSERT_JOB, values)
        else:
            window, now = unless_used_within
            cursor = self._db.execute(_INSERT_JOB_UNLESS_USED, (*values, job.client_id, job.id, now, window))
            if cursor.rowcount != 1:
                return None
        return int(cursor.lastrowid or 0)

    def do_move(
        self,
        key: JobKey,
        target: JobState,
        now: float,
        message: str | None,
        attempts: int | None,
    ) -> Job:
        """Move a job along one edge of its life-cycle; returns the new record. One statement: a job this store put
        in ``printing`` is moved on from the record it wrote, if the row is still that one; any other, by an update
        that returns the row it wrote. A job that is not there, or not in a state the edge starts from, is read to
        say which."""
        moved = self._move_known(key, target, now, message, attempts)
        if moved is not None:
            return moved
        row = self._db.execute(
            _MOVE_RETURNING[target], (target.value, message, attempts, now, target.is_final, key)
        ).fetchone()
        if row is None:
            current = self._resolve(key)
            if current is None:
                raise KeyError(key)
            return self._apply_move(current, target, now, message, attempts)  # raises InvalidTransition
        moved = _job(row)
        if target.is_final:  # every state an edge to a final state starts from is pending
            self._pending[moved.printer] -= 1
        self._remember(moved)
        return moved

    def _move_known(
        self, key: JobKey, target: JobState, now: float, message: str | None, attempts: int | None
    ) -> Job | None:
        """Move a job this store put in ``printing`` without reading its row back: the update applies only while
        the row is still the record written then (same state, attempts and time), so a record gone stale (an
        operator's move, a batch rolled back) is never trusted. None when the general way must be taken."""
        known = self._printing.pop(key, None)
        if known is None or target not in TRANSITIONS[JobState.PRINTING]:
            return None
        moved = known.moved(target, now=now, message=message, attempts=attempts)
        values = (target.value, moved.message, moved.attempts, now, target.is_final, key, known.attempts)
        if self._db.execute(_MOVE_PRINTING, (*values, known.updated_at)).rowcount != 1:
            return None
        if target.is_final:
            self._pending[moved.printer] -= 1
        return moved

    def _remember(self, job: Job) -> None:
        """Keep the record of a job this store just put in ``printing`` (see :meth:`_move_known`)."""
        if job.state is JobState.PRINTING:
            self._printing[job.seq] = job

    def _apply_move(self, current: Job, target: JobState, now: float, message: str | None, attempts: int | None) -> Job:
        moved = current.moved(target, now=now, message=message, attempts=attempts)
        # A final state drops the rendered bytes: the document stays, for a reprint. (The schema's next_attempt_at
        # column is neither written nor read: workers keep their backoff in memory; dropping it needs a migration.)
        self._db.execute(
            "UPDATE jobs SET state = ?, message = ?, attempts = ?, updated_at = ?,"
            " delivered = 0, data = CASE WHEN ? THEN NULL ELSE data END WHERE seq = ?",
            (moved.state.value, moved.message, moved.attempts, now, target.is_final, current.seq),
        )
        if target.is_final:  # every state with a way out is pending
            self._pending[current.printer] -= 1
        self._remember(moved)
        return moved

    def do_finish_and_claim(
        self, key: JobKey, target: JobState, now: float, message: str | None, limit: int, max_bytes: int
    ) -> tuple[Job, list[Job]]:
        """Move job ``key`` to the final state ``target`` and claim its printer's next jobs while they are ``queued``
        (``queue.claimable``: at most ``limit``, and ``max_bytes`` of printer data beyond the first), each moved to
        ``printing`` with one more attempt: the worker prints them next without another write, and they are durably
        ``printing`` before any of their bytes go out. A ``waiting`` head is not claimed (it may have to expire or
        wait for the backoff first). Returns (the finished job, the claimed jobs in order)."""
        if not target.is_final:
            raise ValueError(f"finish_and_claim needs a final state, not {target.value}")
        finished = self.do_move(key, target, now, message, None)
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE printer = ? AND {_IS_PENDING} ORDER BY seq LIMIT ?",
            (finished.printer, max(1, limit)),
        ).fetchall()
        heads = claimable([_job(row) for row in rows], max_bytes)
        if not heads:
            return finished, []
        claimed = [head.moved(JobState.PRINTING, now=now, attempts=head.attempts + 1) for head in heads]
        # One statement claims them all; the heads were read in this transaction, so each is still queued.
        self._db.execute(_CLAIM, (now, json.dumps([head.seq for head in heads])))
        for job in claimed:
            self._remember(job)
        return finished, claimed

    def do_mark_results_delivered(self, seqs: Sequence[int]) -> None:
        """The jobs ``seqs`` have had their results delivered, if they are finished. One statement, no read first."""
        self._db.execute(
            "UPDATE jobs SET delivered = 1 WHERE seq IN (SELECT value FROM json_each(?))"
            f" AND delivered = 0 AND {_IS_FINAL}",
            (json.dumps(list(seqs)),),
        )

    def do_recover(self, now: float, policy: str) -> Recovery:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE state = 'printing' ORDER BY seq").fetchall()
        interrupted = tuple(_job(row) for row in rows)
        for job in interrupted:
            if policy == "fail":
                state, message = JobState.ERROR, "PRINTER: Interrupted while printing (daemon restarted)"
            else:
                state, message = JobState.QUEUED, "reprinted after an interruption"
            self.do_move(job.seq, state, now, message, None)
        resumed = int(self._db.execute("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'waiting')").fetchone()[0])
        return Recovery(resumed=resumed, interrupted=interrupted)

    def do_prune(self, older_than: float, max_rows: int) -> int:
        """Forget finished jobs older than ``older_than`` and keep at most ``max_rows`` finished rows."""
        removed = self._db.execute(f"DELETE FROM jobs WHERE {_IS_FINAL} AND updated_at < ?", (older_than,)).rowcount
        removed += self._db.execute(
            f"DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs WHERE {_IS_FINAL}"
            " ORDER BY seq DESC LIMIT -1 OFFSET ?)",
            (max_rows,),
        ).rowcount
        return int(removed)
