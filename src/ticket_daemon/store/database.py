"""The durable job store: one SQLite file (stdlib ``sqlite3``) in WAL mode, written in group commits.

What ``ack`` guarantees: a job is accepted only once its row is committed with ``synchronous=FULL``, i.e. the
write-ahead log is fsync'ed, so an acked job survives a crash of the process *and* a power cut. Writes come in
batches (:meth:`SqliteJobStore.write_batch`): every write waiting when the spool thread gets to them is committed in
one transaction with one fsync. One refused write (a duplicate id, a full queue, a transition the life-cycle lacks)
rolls back alone and the others still commit: a batch that refuses something runs again with each write in its own
savepoint. Nobody hears back before the commit. The operations a batch runs are in ``writes.py``, the queries in
``reads.py``.

Keys: a job's ``seq`` (acceptance order) is its key. The client's ``id`` is unique only per owner (``client_id``)
within the duplicate window, and only for a client that names itself: an anonymous client's ids may repeat
(docs/protocol.md "Ids"); :meth:`find` looks up the newest.

The file is watched (``faults.FileWatch``, at every group commit and every health check): deleted, replaced or
damaged while the daemon runs, it makes new jobs refused with what to do, while the jobs already accepted go on.

The store is synchronous and not thread-safe by design: the daemon owns it from one dedicated thread
(:class:`~ticket_daemon.store.runner.StoreRunner`). The pending counts are kept in memory (rebuilt at open) and
published after each commit, so counting the queue needs neither a query nor the spool thread.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from time import monotonic
from typing import Any, TypeVar

from .faults import (
    DEFAULT_RESERVE_BYTES,
    FileWatch,
    HealthMonitor,
    Reserve,
    SpoolDamaged,
    StorageError,
    StoreHealth,
    check_marker,
    lost_file_advice,
    recovery_advice,
    write_marker,
)
from .interface import JobKey
from .jobs import DuplicateJob, Job
from .newjobs import NewJob
from .reads import _IS_PENDING
from .schema import MIGRATIONS, SCHEMA_VERSION
from .writes import DISK_FULL, JobWrites, Recovery

__all__ = ["DuplicateJob", "JobKey", "Recovery", "SpoolDamaged", "SqliteJobStore", "StorageError", "StoreHealth"]

T = TypeVar("T")

log = logging.getLogger("ticket_daemon.spool")

Outcome = tuple[bool, Any]  # (True, result) or (False, the exception that request raised)

_REARM_MAX_SECONDS = 60.0
_GROWTH_PAGES = 16  # room for a few jobs' rows before new jobs are accepted again
_PROBE_SECONDS = 1.0  # after a failed write, how often a health check tries a write of its own


class SqliteJobStore(JobWrites):
    def __init__(
        self, path: Path, *, reserve_bytes: int = DEFAULT_RESERVE_BYTES, clock: Callable[[], float] = monotonic
    ) -> None:
        self.path = path
        self._clock = clock  # seconds, for the health probe's and the full disk's waits (tests move it by hand)
        self.marker = path.with_suffix(".marker")
        self._monitor = HealthMonitor()
        self._file_health = HealthMonitor("the spool file is the one the daemon has open again")
        self._watch: FileWatch | None = None  # made once the file is open and checked
        self._file_problem: str | None = None  # the file at the path is not the one open: new jobs are refused
        self._damage: str | None = None  # a write found the file damaged: new jobs are refused until a restart
        self.rescued = path.with_name(f"{path.stem}.rescued{path.suffix}")  # where a lost file's jobs are saved
        self._probe_at = 0.0  # clock time of the next write a health check may try
        self._reserve = Reserve(path.with_suffix(".reserve"), reserve_bytes)
        self._disk_full = False  # new jobs refused until the reserve can be made again
        self._rearm_delay, self._rearm_at = 1.0, -_REARM_MAX_SECONDS  # when the reserve was (or may be) made again
        self._pending: dict[str, int] = {}  # printer → pending jobs; changed inside a batch, rolled back with it
        self._printing: dict[int, Job] = {}  # jobs this store put in printing (JobWrites._move_known)
        self.pending_total = 0  # published after each commit: read from any thread
        self.pending_printer_names: tuple[str, ...] = ()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            check_marker(path, self.marker)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
        except (OSError, sqlite3.Error) as error:
            raise StorageError(f"cannot open the spool database {path}: {error}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsync'ed at every commit, so an acked job survives power loss, not just a crash.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # Freed pages are zeroed only where that costs no extra write. Builds that zero every freed page (Debian's)
            # would write a receipt's rendered bytes to the log twice more once it printed (its overflow pages, freed
            # when a final state drops the bytes); the document they were made from stays in the row anyway.
            self._db.execute("PRAGMA secure_delete=FAST")
            # The temporary tables a statement builds (a batch's new jobs, checked against the jobs they may repeat)
            # stay in memory: a temporary file costs system calls at every group commit.
            self._db.execute("PRAGMA temp_store=MEMORY")
            self._check_integrity()
            self._migrate()
            write_marker(self.marker)
            self._rebuild_counts()
            self._watch = FileWatch(path)
        except StorageError:
            self._db.close()
            raise
        except (OSError, sqlite3.DatabaseError) as error:
            self._db.close()
            if self.marker.exists():  # it held jobs: stop, and say how to recover
                advice = recovery_advice(path, self.marker)
                raise SpoolDamaged(f"cannot open the spool database {path}: {error}; {advice}") from None
            raise StorageError(f"cannot open the spool database {path}: {error}") from None
        if not self._reserve.ensure():
            self._enter_disk_full("the disk is nearly full (no room for the spool's reserve)")

    # --- life-cycle ------------------------------------------------------------------------------------------

    @property
    def health(self) -> StoreHealth:
        """A lost spool file first (nothing else helps until it is dealt with), then the state of the writes."""
        return self._file_health.current if not self._file_health.current.ok else self._monitor.current

    def check_health(self) -> StoreHealth:
        """The health as it is now, not as the last write left it: the file is checked again, a full disk is looked
        at again when due, and after a failed write a write of its own is tried (at most once a second)."""
        self.watch_file()
        self.rearm_if_due()
        if not self._monitor.current.ok and not self._disk_full and self._clock() >= self._probe_at:
            self._probe_at = self._clock() + _PROBE_SECONDS
            self._probe_write()
        return self.health

    def close(self) -> None:
        if self._file_problem is not None or self._damage is not None:  # the final states, saved for the restart
            self._rescue()
        if self._watch is not None:
            self._watch.close()
        self._db.close()

    # --- the file watch ------------------------------------------------------------------------------------------

    def watch_file(self) -> None:
        """Refuse new jobs while the file at the spool's path is not the database open here (deleted, replaced,
        truncated or overwritten): an ack would promise what a restart cannot keep. Jobs already accepted go on
        (their states are written to the file still open). Cheap: run at every group commit."""
        problem = self._watch.problem() if self._watch is not None else None
        if problem is None:
            self._file_problem = None
            if self._damage is None:
                self._file_health.recovered()
            return
        if self._file_problem is None:  # just found: save what the open file holds, then say what to do
            saved = self._rescue()
            self._file_problem = f"{problem}: {lost_file_advice(self.path, self.marker, saved)}"
            self._file_health.degraded(self._file_problem)

    def _damaged(self, error: sqlite3.Error) -> str:
        """A write met a damaged page: nothing accepted from now on could be trusted to survive a restart. Returns
        the sentence that says so and what to do."""
        if self._damage is None:
            saved = self._rescue()
            self._damage = f"the spool file {self.path} is damaged ({error}): "
            self._damage += lost_file_advice(self.path, self.marker, saved)
            self._file_health.degraded(self._damage)
        return self._damage

    def _rescue(self) -> Path | None:
        """Copy the open database next to the lost file with SQLite's online backup, which reads through this
        connection: a deleted file's jobs are saved too. None when the copy cannot be made."""
        try:
            self.rescued.parent.mkdir(parents=True, exist_ok=True)
            copy = sqlite3.connect(self.rescued)
            try:
                self._db.backup(copy)
            finally:
                copy.close()
        except (OSError, sqlite3.Error) as error:
            log.error("cannot save the jobs of the lost spool file to %s: %s", self.rescued, error)
            return None
        log.warning("the jobs the spool file held are saved in %s", self.rescued)
        return self.rescued

    def _probe_write(self) -> None:
        """A write through the path a job's row takes (page 1 rewritten, WAL fsync'ed): writes work again or not."""
        try:
            with self._transaction() as db:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except StorageError:
            return
        self._monitor.recovered()

    def _check_integrity(self) -> None:
        problems = [str(row[0]) for row in self._db.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise SpoolDamaged(
                f"the spool database {self.path} is damaged ({'; '.join(problems[:3])}): "
                + recovery_advice(self.path, self.marker)
            )

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StorageError(f"the spool database {self.path} was written by a newer ticket-daemon")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction():
                MIGRATIONS[target - 1](self._db)
                self._db.execute(f"PRAGMA user_version = {target}")

    def _rebuild_counts(self) -> None:
        rows = self._db.execute(f"SELECT printer, COUNT(*) FROM jobs WHERE {_IS_PENDING} GROUP BY printer")
        self._pending = {str(printer): int(count) for printer, count in rows}
        self._publish_counts()

    def _publish_counts(self) -> None:
        self.pending_total = sum(self._pending.values())
        self.pending_printer_names = tuple(printer for printer, count in self._pending.items() if count)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as error:
            raise StorageError(f"the spool could not be written: {error}") from None

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (SQLITE_FULL, I/O errors): a second ROLLBACK would fail and
        # hide the real error.
        if self._db.in_transaction:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    # --- group commit ----------------------------------------------------------------------------------------

    def write_batch(self, operations: Sequence[Callable[[], object]]) -> list[Outcome]:
        """Run ``operations`` (bound ``_add``/``_move``/… calls) in one transaction, each in its own savepoint, and
        commit once. Returns one outcome per operation, in order; none is a success unless the commit was.

        When the disk is full the reserve is given back and the batch is tried once more with new jobs refused, so
        the states and results of jobs already accepted are still recorded."""
        self.watch_file()
        self.rearm_if_due()
        outcomes = self._attempt(operations)
        if outcomes is None:
            self._enter_disk_full(DISK_FULL)
            outcomes = self._attempt(operations)
        if outcomes is None:
            error = StorageError(f"{DISK_FULL} (database or disk is full)")
            outcomes = [(False, error)] * len(operations)
        return outcomes

    def _attempt(self, operations: Sequence[Callable[[], object]]) -> list[Outcome] | None:
        """One try at a batch; None when the disk was full (everything rolled back).

        Most batches refuse nothing, so the batch first runs as it is; only when a request is refused is it rolled
        back and run again with each request in its own savepoint (two more statements per request, each of which
        gives the interpreter lock away and takes it back)."""
        counts = dict(self._pending)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            outcomes = self._all_or_nothing(operations)
            if outcomes is None:
                self._db.execute("ROLLBACK")
                self._pending = dict(counts)
                self._db.execute("BEGIN IMMEDIATE")
                outcomes = self._one_by_one(operations)
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            self._rollback()
            self._pending = counts
            code = getattr(error, "sqlite_errorcode", None)
            if code == sqlite3.SQLITE_FULL:
                return None
            if code is not None and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
                return [(False, StorageError(self._damaged(error)))] * len(operations)
            self._monitor.degraded(f"spool writes fail: {error}")
            return [(False, StorageError(f"the spool could not be written: {error}"))] * len(operations)
        except BaseException:
            self._rollback()
            self._pending = counts
            raise
        self._publish_counts()
        if not self._disk_full:
            self._monitor.recovered()
        return outcomes

    def _all_or_nothing(self, operations: Sequence[Callable[[], object]]) -> list[Outcome] | None:
        """Every request of the batch, or None as soon as one is refused (the caller rolls back).

        The batch's new jobs go first, in their order, with one statement (``newjobs.py``); the other requests
        follow in theirs. Nobody has heard back from any of them, so this order is as true as the arrival order, and
        a final write that claims its printer's next jobs sees the new ones."""
        new_jobs = [operation for operation in operations if isinstance(operation, NewJob)]
        together = len(new_jobs) > 1  # a lone new job is simply do_add
        stored: Iterator[Job] = iter(())
        if together:
            batch = self.do_add_many(new_jobs)
            if batch is None:
                return None
            stored = iter(batch)
        outcomes: list[Outcome] = []
        for operation in operations:
            if together and isinstance(operation, NewJob):
                outcomes.append((True, next(stored)))
                continue
            try:
                outcomes.append((True, operation()))
            except sqlite3.Error:
                raise
            except Exception:  # refused: the batch runs again, request by request
                return None
        return outcomes

    def _one_by_one(self, operations: Sequence[Callable[[], object]]) -> list[Outcome]:
        """Each request in its own savepoint, so one refused request (a duplicate id, a full queue, a transition the
        life-cycle lacks) rolls back alone and the others still commit."""
        outcomes: list[Outcome] = []
        for operation in operations:
            counts = dict(self._pending)
            self._db.execute("SAVEPOINT request")
            try:
                value = operation()
            except sqlite3.Error:
                raise
            except Exception as refused:  # this request alone: DuplicateJob, OverflowError, KeyError, …
                self._db.execute("ROLLBACK TO request")
                self._db.execute("RELEASE request")
                self._pending = counts  # whatever it counted before it failed is undone with its rows
                outcomes.append((False, refused))
            else:
                self._db.execute("RELEASE request")
                outcomes.append((True, value))
        return outcomes

    def commit_one(self, operation: Callable[[], T]) -> T:
        """Run one operation as a batch of its own (start-up's recovery, and callers with no spool thread)."""
        ok, value = self.write_batch([operation])[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def _enter_disk_full(self, reason: str) -> None:
        """Give the reserve's space to the jobs in flight; refuse new jobs until it can be made again."""
        released = self._reserve.release()
        # Full again soon after the reserve was made again (space came back only briefly): wait longer next time.
        recently_rearmed = self._clock() - self._rearm_at < _REARM_MAX_SECONDS
        self._rearm_delay = min(_REARM_MAX_SECONDS, self._rearm_delay * 2) if recently_rearmed else 1.0
        self._disk_full = True
        self._rearm_at = self._clock() + self._rearm_delay
        self._monitor.degraded(reason + (" (reserve released)" if released else ""))

    def rearm_if_due(self) -> None:
        """While new jobs are refused for a full disk: once there is room for the reserve again, make it, shrink
        the write-ahead log that grew meanwhile, and accept new jobs again."""
        if not self._disk_full or self._clock() < self._rearm_at:
            return
        if not self._room_to_grow() or not self._reserve.ensure():
            self._rearm_at = self._clock() + self._rearm_delay
            return
        with suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._disk_full, self._rearm_at = False, self._clock()
        self._monitor.recovered()

    def _room_to_grow(self) -> bool:
        """The file may grow again: beyond the disk, SQLite's own page limit (``max_page_count``) also fills up."""
        try:
            pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
            limit = int(self._db.execute("PRAGMA max_page_count").fetchone()[0])
        except sqlite3.Error:
            return False
        return pages + _GROWTH_PAGES <= limit

    def recover(self, *, now: float, policy: str) -> Recovery:
        """Start-up: a job found ``printing`` was cut off mid-send (the process died).

        ``reprint`` queues it again from the start (a partial receipt is useless) and notes that in its message;
        ``fail`` ends it with an error. Queued and waiting jobs simply resume in order.
        """
        return self.commit_one(functools.partial(self.do_recover, now, policy))
