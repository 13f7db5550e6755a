"""A print job's record and its life-cycle (STYLE.md §3: explicit states, guarded transitions).

    queued ──▶ printing ──▶ success | error
      │  ▲         │
      ▼  │         ▼
    waiting ◀──────┘            (printer unavailable: retried with backoff)
      │
      ▼
    expired                      (waited longer than job_ttl)

``queued``/``waiting`` jobs may also be ``cancelled`` by an operator. Final states never change again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"
    PRINTING = "printing"
    WAITING = "waiting"
    SUCCESS = "success"
    ERROR = "error"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({JobState.SUCCESS, JobState.ERROR, JobState.EXPIRED, JobState.CANCELLED})

# from-state → states it may move to
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.PRINTING, JobState.WAITING, JobState.CANCELLED, JobState.ERROR}),
    JobState.WAITING: frozenset(
        {JobState.PRINTING, JobState.QUEUED, JobState.EXPIRED, JobState.CANCELLED, JobState.ERROR}
    ),
    JobState.PRINTING: frozenset({JobState.SUCCESS, JobState.ERROR, JobState.WAITING, JobState.QUEUED}),
    JobState.SUCCESS: frozenset(),
    JobState.ERROR: frozenset(),
    JobState.EXPIRED: frozenset(),
    JobState.CANCELLED: frozenset(),
}


class DuplicateJob(Exception):
    """A job with this id was already accepted (PROTOCOL.md "Idempotent ids"); carries the stored record so the
    caller can report its state. The one class every store raises."""

    def __init__(self, existing: Job) -> None:
        super().__init__(f"job {existing.id!r} was already accepted")
        self.existing = existing


class InvalidTransition(RuntimeError):
    """A bug: code tried to move a job along an edge the life-cycle does not have."""


def check_transition(current: JobState, target: JobState) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"job cannot go from {current.value} to {target.value}")


@dataclass(frozen=True, slots=True)
class Job:
    """Everything the daemon knows about one accepted job. Immutable: a transition returns a new record."""

    id: str
    client_id: str  # who submitted it: the ?client_id, else the remote address
    printer: str  # configured printer name the job was routed to
    document: str  # the validated document as JSON text
    seq: int = 0  # acceptance order (global, monotonic); per-printer FIFO follows it
    data: bytes | None = None  # rendered ESC/POS bytes
    state: JobState = JobState.QUEUED
    attempts: int = 0
    created_at: float = 0.0  # wall-clock seconds (time.time())
    updated_at: float = 0.0
    message: str = ""  # result or waiting message sent to the client
    notes: tuple[str, ...] = field(default_factory=tuple)  # e.g. text substitutions made while rendering

    def moved(self, target: JobState, *, now: float, message: str | None = None, attempts: int | None = None) -> Job:
        """This job in ``target`` state; raises :class:`InvalidTransition` on an edge the life-cycle lacks."""
        check_transition(self.state, target)
        return replace(
            self,
            state=target,
            updated_at=now,
            message=self.message if message is None else message,
            attempts=self.attempts if attempts is None else attempts,
        )
