"""New jobs of one group commit, stored with one statement.

On the spool thread every SQLite step gives the interpreter lock away, and taking it back waits while the event loop
runs. So the new jobs a group commit holds are inserted together: one multi-row insert that checks every id against
its owner's duplicate window itself and numbers the rows in the batch's order (its ``ORDER BY``). Anything out of
the ordinary (an id used within its window, a refusal, two new jobs with the same owner and id) makes it give up with
nothing stored, and the batch runs the usual way, each job on its own (``JobWrites.do_add``), with the same answers
word for word.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .jobs import Job, JobState

# The columns a new job's row is written with, in the order of :func:`row_values`.
JOB_COLUMNS = "id, client_id, printer, document, data, state, attempts, created_at, updated_at, message, notes, digest"
_VALUES_PER_JOB = 15  # the 12 columns, ``now`` and the window for the duplicate check, the place in the batch
_ROW = "(" + ", ".join("?" * _VALUES_PER_JOB) + ")"
_MOST_ROWS = 256  # rows per statement, within SQLite's limit on bound values
NO_NOTES = "[]"  # the notes column of a job without notes (most jobs): no JSON encoder call for it


class AddsJobs(Protocol):
    def do_add(self, job: Job, capacity: int, window_seconds: float, now: float | None) -> Job: ...


@dataclass(frozen=True, slots=True)
class NewJob:
    """Storing one new job, as a group commit's operation: called alone it is ``do_add``; the new jobs of one batch
    are stored together by :func:`insert_new_jobs`."""

    store: AddsJobs
    job: Job
    capacity: int
    window_seconds: float
    now: float | None

    def __call__(self) -> Job:
        return self.store.do_add(self.job, self.capacity, self.window_seconds, self.now)


def insert_new_jobs(db: sqlite3.Connection, new_jobs: Sequence[NewJob]) -> list[Job] | None:
    """Insert ``new_jobs`` in their order, each unless its owner used its id within its window (as ``do_add``
    checks it); the stored jobs with their ``seq``, or None when any one needs ``do_add`` (then none is stored and
    the caller rolls the transaction back). Refusals (a full queue, a lost file) are the caller's to check first."""
    if len({(new.job.client_id, new.job.id) for new in new_jobs}) < len(new_jobs):
        return None  # the second of the two must see the first: one by one
    if any(new.job.state is not JobState.QUEUED for new in new_jobs):
        return None  # do_add says why
    limit = db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // _VALUES_PER_JOB
    size = max(1, min(_MOST_ROWS, limit))
    stored: list[Job] = []
    for start in range(0, len(new_jobs), size):
        chunk = new_jobs[start : start + size]
        values: list[object] = []
        for place, new in enumerate(chunk):
            values += (*_values(new), place)
        cursor = db.execute(_statement(len(chunk)), values)
        if cursor.rowcount != len(chunk):
            return None  # an id was used within its window: do_add answers it
        # One statement numbers its rows one after another (AUTOINCREMENT), in the order its select gives them,
        # which its ORDER BY makes the order of the chunk.
        last = int(cursor.lastrowid or 0)
        stored += [new.job.numbered(last - len(chunk) + 1 + n) for n, new in enumerate(chunk)]
    return stored


def row_values(job: Job) -> tuple[object, ...]:
    """The values of ``job``'s row, in the order of the insert's columns."""
    notes = json.dumps(list(job.notes), separators=(",", ":"), ensure_ascii=False) if job.notes else NO_NOTES
    return (
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
        notes,
        job.digest,
    )


def _values(new: NewJob) -> tuple[object, ...]:
    now = new.job.created_at if new.now is None else new.now
    return (*row_values(new.job), now, new.window_seconds)


def _statement(rows: int) -> str:
    # An anonymous client's ids (no window) are never looked up; otherwise the test is check_reuse's,
    # ``now - created_at < window``, in the same floating-point arithmetic (the jobs_owner_id index finds the rows).
    return (
        f"INSERT INTO jobs ({JOB_COLUMNS})"
        " SELECT column1, column2, column3, column4, column5, column6, column7, column8, column9, column10,"
        f" column11, column12 FROM (VALUES {', '.join([_ROW] * rows)}) AS new"
        " WHERE new.column14 <= 0 OR NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.client_id = new.column2"
        " AND jobs.id = new.column1 AND new.column13 - jobs.created_at < new.column14) ORDER BY new.column15"
    )
