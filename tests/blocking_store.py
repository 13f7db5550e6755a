"""The SQLite job store driven from synchronous tests: each write is committed as a batch of its own on the calling
thread, through the same ``commit_one`` the store's recovery uses (the daemon's own calls go through
``SqliteSpool`` and its spool thread)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from ticket_daemon.store.database import SqliteJobStore
from ticket_daemon.store.interface import CLAIM_MAX_BYTES, JobKey
from ticket_daemon.store.jobs import DEFAULT_DUPLICATE_WINDOW_SECONDS, Job, JobState


class BlockingStore(SqliteJobStore):
    def add(
        self,
        job: Job,
        *,
        capacity: int,
        window_seconds: float = DEFAULT_DUPLICATE_WINDOW_SECONDS,
        now: float | None = None,
    ) -> Job:
        return self.commit_one(functools.partial(self.do_add, job, capacity, window_seconds, now))

    def move(
        self,
        key: JobKey,
        target: JobState,
        *,
        now: float,
        message: str | None = None,
        attempts: int | None = None,
    ) -> Job:
        return self.commit_one(functools.partial(self.do_move, key, target, now, message, attempts))

    def finish_and_claim(
        self,
        key: JobKey,
        target: JobState,
        *,
        now: float,
        message: str | None = None,
        limit: int = 1,
        max_bytes: int = CLAIM_MAX_BYTES,
    ) -> tuple[Job, list[Job]]:
        return self.commit_one(
            functools.partial(self.do_finish_and_claim, key, target, now, message, limit, max_bytes)
        )

    def mark_results_delivered(self, seqs: Sequence[int]) -> None:
        self.commit_one(functools.partial(self.do_mark_results_delivered, seqs))

    def prune(self, *, older_than: float, max_rows: int) -> int:
        return self.commit_one(functools.partial(self.do_prune, older_than, max_rows))

    def count_pending(self) -> int:
        return self.pending_total

    def pending_printers(self) -> list[str]:
        return list(self.pending_printer_names)
