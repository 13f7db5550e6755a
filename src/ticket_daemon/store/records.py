"""The one way a new job record is made, whether a client sent it or an operator asked for a reprint."""

from __future__ import annotations

# Longest job id a client may send, and the longest one the daemon makes (a reprint's id is cut to it).
from ..protocol.requests import MAX_JOB_ID_CHARS as MAX_JOB_ID_CHARS
from .jobs import Job


def new_job(
    job_id: str,
    *,
    client_id: str,
    printer: str,
    document: str,
    data: bytes,
    notes: tuple[str, ...],
    now: float,
    digest: str = "",
) -> Job:
    """A ``queued`` job, not stored yet: ``document`` is the validated document as JSON, ``data`` its ESC/POS bytes
    for ``printer``'s paper, ``digest`` the ``jobs.document_digest`` of the document the client sent."""
    return Job(
        id=job_id,
        client_id=client_id,
        printer=printer,
        document=document,
        data=data,
        created_at=now,
        updated_at=now,
        notes=notes,
        digest=digest,
    )


def reprint_id(original_id: str, attempt: int) -> str:
    """The id of the ``attempt``-th reprint of a job, kept within :data:`MAX_JOB_ID_CHARS`."""
    return f"{original_id}.reprint-{attempt}"[-MAX_JOB_ID_CHARS:]
