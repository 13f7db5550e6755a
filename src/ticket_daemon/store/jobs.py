"""A print job's record and its life-cycle (explicit states, guarded transitions).

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

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum

from ..document.errors import Category, TicketError

# docs/protocol.md "Ids": an id is the client's own for this long after its first acceptance.
DEFAULT_DUPLICATE_WINDOW_SECONDS = 600.0


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
    """The same client sent the same id with the same document within the duplicate window (docs/protocol.md
    "Ids"): a retry, nothing is stored or printed again. Carries the stored record so the
    caller can report its state. The one class every store raises."""

    def __init__(self, existing: Job) -> None:
        super().__init__(f"job {existing.id!r} was already accepted")
        self.existing = existing


class IdConflict(TicketError):
    """The same client sent an id it used within the duplicate window for a *different* document: refused, with the
    exact sentence of docs/protocol.md "Ids" as its text. Carries the stored record."""

    category = Category.VALIDATION
    retryable = False

    def __init__(self, existing: Job) -> None:
        super().__init__(f"id '{existing.id}' was already used for a different document; use a new id to print it")
        self.existing = existing


# One encoder for every job: json.dumps with options builds a new encoder (and its C half) on each call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(document: object) -> str:
    """The document's canonical JSON (keys sorted, no spaces, not ASCII-escaped): what "the same document" means
    for a resent id, and a compact text to keep with the job (it renders to the same bytes as the document)."""
    return _CANONICAL.encode(document)


def stored_document(document: object) -> str:
    """The canonical JSON to keep with a job. A lone UTF-16 surrogate (JavaScript cut a string inside an emoji)
    cannot be stored as UTF-8 text: then non-ASCII is escaped, which reads back as the very same document."""
    return _storable(document, canonical_json(document))


def stored_document_and_digest(document: object) -> tuple[str, str]:
    """:func:`stored_document` and :func:`document_digest` of one document, its canonical JSON made once."""
    canonical = canonical_json(document)
    return _storable(document, canonical), digest_of(canonical)


def _storable(document: object, canonical: str) -> str:
    try:
        canonical.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return canonical


def digest_of(canonical: str) -> str:
    """SHA-256 (hex) of a canonical JSON text (UTF-8)."""
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def document_digest(document: object) -> str:
    """``Job.digest`` of a document: callers digest the ``datos`` the client sent, before any lenient
    substitution, so a retry of the very same message always matches."""
    return digest_of(canonical_json(document))


def check_reuse(existing: Job | None, job: Job, *, window_seconds: float, now: float) -> None:
    """docs/protocol.md "Ids", for a new ``job`` whose owner already used its id (``existing``:
    the newest such job, or None). Within ``window_seconds`` of ``existing``'s acceptance: same document →
    :class:`DuplicateJob`, different → :class:`IdConflict`. Older: the id is free again (returns). A record without a
    digest (stored before digests were kept) matches any document, so a retry is never printed twice."""
    if existing is None or now - existing.created_at >= window_seconds:
        return
    if not existing.digest or not job.digest or existing.digest == job.digest:
        raise DuplicateJob(existing)
    raise IdConflict(existing)


class InvalidTransition(RuntimeError):
    """A bug: code tried to move a job along an edge the life-cycle does not have."""


def check_transition(current: JobState, target: JobState) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"job cannot go from {current.value} to {target.value}")


@dataclass(frozen=True, slots=True)
class Job:
    """Everything the daemon knows about one accepted job. Immutable: a transition returns a new record."""

    id: str  # the client's own id: unique per owner within the duplicate window, not globally
    client_id: str  # the owner scope: the ?client_id, else "addr/<remote address>" (see :attr:`owner`)
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
    digest: str = ""  # document_digest() of the document the client sent; "" when unknown

    @property
    def owner(self) -> str:
        """The scope the id belongs to (docs/protocol.md "Ids"). ``seq`` is the job's key."""
        return self.client_id

    @property
    def has_bytes(self) -> bool:
        """False once the job is finished: stores drop the rendered bytes then and keep the document, so a
        reprint must render the document again."""
        return self.data is not None

    def moved(self, target: JobState, *, now: float, message: str | None = None, attempts: int | None = None) -> Job:
        """This job in ``target`` state; raises :class:`InvalidTransition` on an edge the life-cycle lacks. A final
        state drops the rendered bytes (a receipt's are ~3x its document; the document stays for a reprint)."""
        check_transition(self.state, target)
        return self._evolved(
            self.seq,
            None if target.is_final else self.data,
            target,
            self.attempts if attempts is None else attempts,
            now,
            self.message if message is None else message,
        )

    def numbered(self, seq: int) -> Job:
        """This job as stored under ``seq``."""
        return self._evolved(seq, self.data, self.state, self.attempts, self.updated_at, self.message)

    def _evolved(
        self, seq: int, data: bytes | None, state: JobState, attempts: int, updated_at: float, message: str
    ) -> Job:
        """This job with the fields a store changes. Built field by field, not with ``dataclasses.replace`` (twice
        the cost): the spool thread makes a few of these per job, and each microsecond there holds the interpreter
        lock away from the event loop."""
        return Job(
            self.id,
            self.client_id,
            self.printer,
            self.document,
            seq,
            data,
            state,
            attempts,
            self.created_at,
            updated_at,
            message,
            self.notes,
            self.digest,
        )
