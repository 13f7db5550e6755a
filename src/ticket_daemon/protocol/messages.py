"""Every message the server sends, on every door, built in one place (docs/protocol.md "Server → client").

Existing POS clients match on these field names and texts, so they are constants here and nowhere else. Server
messages are plain dicts serialised with :func:`encode`; optional fields (``id``) are left out when absent, as the
original daemon does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..document.jsontypes import json_type as json_type  # re-exported: error sentences name JSON types one way
from . import jsontext

Message = dict[str, Any]

# docs/protocol.md "Exact texts clients match on".
DATOS_REQUIRED = "Field 'datos' is required for type 'ticket'"
QUEUE_FULL = "Queue full, please retry in a few seconds"
RATE_LIMITED = "Rate limit exceeded: please wait before submitting more jobs"
UNKNOWN_TYPE = "Unknown message type:  {tipo}"  # two spaces after the colon, byte for byte as the original
AUTH_INVALID = "Invalid or missing auth token"

# Ours, in the same ``CATEGORY: sentence`` shape as document errors.
INTERNAL_ERROR = "EXECUTION: internal error"
SHUTTING_DOWN = "EXECUTION: the print service is shutting down, please retry in a few seconds"
INTERRUPTED = "PRINTER: Interrupted while printing because the print service stopped; check the receipt and resend"
TOO_MANY_MESSAGES = "Too many messages: please slow down"
BINARY_FRAME = "JSON: binary frames are not accepted, send each message as a JSON text frame"
NOT_AN_OBJECT = "JSON: " + jsontext.NOT_AN_OBJECT
TIPO_REQUIRED = "JSON: field 'tipo' is required and must be a string"
DATOS_NOT_OBJECT = "VALIDATION: field 'datos' must be a JSON object (the print document), got {got}"
BAD_ID = "VALIDATION: field 'id' must be a string of 1 to {limit} characters"
JOB_NOT_FOUND = "VALIDATION: Job not found: {id}"
PREVIEW_DATOS_REQUIRED = "VALIDATION: field 'datos' is required for type 'preview'"
JOB_ID_REQUIRED = "VALIDATION: field 'id' is required for type 'job_status'"
PRINTER_NOT_STRING = "VALIDATION: field 'printer' must be the name of a configured printer"

CONNECTED = "✅ Servidor respondiendo desde Ticket Daemon"  # the original's greeting; clients may show it
ACK_QUEUED = "Job queued for printing"
ACK_DUPLICATE = "Job already accepted; it is not printed again"
# Appended to a finished job's result when it is sent again for a duplicate (docs/protocol.md "Ids").
NOT_PRINTED_AGAIN = " (duplicate id: not printed again)"
PRINT_COMPLETED = "Print completed in {ms}ms"
# Appended to the result of a job printed again after a crash mid-send: the client may find two copies.
REPRINTED = "reprinted after an interruption"
CANCELLED = "EXECUTION: cancelled by an operator"

# Close codes (RFC 6455 §7.4.1).
CLOSE_GOING_AWAY = 1001  # server stopping
CLOSE_POLICY_VIOLATION = 1008  # refused origin, flooding, not reading replies
CLOSE_TOO_BIG = 1009  # frame larger than max_frame_bytes
CLOSE_INTERNAL_ERROR = 1011  # a bug met while handling this connection (logged)


def encode(message: Mapping[str, Any]) -> str:
    return jsontext.encode(message)  # strict JSON: never NaN, Infinity or a lone surrogate (a browser must parse it)


def _with_id(message: Message, job_id: str | None) -> Message:
    if job_id is not None:
        message["id"] = job_id
    return message


def info_connected() -> Message:
    return {"tipo": "info", "status": "connected", "mensaje": CONNECTED}


def error(mensaje: str, job_id: str | None = None) -> Message:
    return _with_id({"tipo": "error", "status": "error", "mensaje": mensaje}, job_id)


def ack(job_id: str, *, current: int, capacity: int) -> Message:
    return {
        "tipo": "ack",
        "id": job_id,
        "status": "queued",
        "current": current,
        "capacity": capacity,
        "mensaje": ACK_QUEUED,
    }


def ack_duplicate(job_id: str, *, state: str, current: int, capacity: int) -> Message:
    """docs/protocol.md "Ids": the job is not accepted again; ``job_status`` is its state."""
    return {
        "tipo": "ack",
        "id": job_id,
        "status": "duplicate",
        "job_status": state,
        "current": current,
        "capacity": capacity,
        "mensaje": ACK_DUPLICATE,
    }


def print_completed(elapsed_ms: int, notes: Sequence[str] = ()) -> str:
    """``Print completed in 245ms``, plus ``; `` and the renderer's notes when it substituted characters."""
    text = PRINT_COMPLETED.format(ms=elapsed_ms)
    return "; ".join([text, *notes]) if notes else text


def result(job_id: str, *, success: bool, mensaje: str) -> Message:
    return {"tipo": "result", "id": job_id, "status": "success" if success else "error", "mensaje": mensaje}


def pong(echoed_id: str | int | float | None) -> Message:
    message: Message = {"tipo": "pong", "status": "ok"}
    if echoed_id is not None:
        message["id"] = echoed_id
    return message


def status(*, current: int, capacity: int) -> Message:
    return {
        "tipo": "status",
        "status": "ok",
        "current": current,
        "capacity": capacity,
        "mensaje": f"Queue: {current}/{capacity}",
    }


def printers(details: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> Message:
    return {"tipo": "printers", "status": "ok", "printers": list(details), "summary": dict(summary)}


def preview(*, width: int, height: int, image_base64: str, notes: Sequence[str] = ()) -> Message:
    message: Message = {"tipo": "preview", "status": "ok", "width": width, "height": height, "image": image_base64}
    if notes:
        message["notes"] = list(notes)
    return message


def job(
    job_id: str, *, state: str, printer: str, mensaje: str, attempts: int, created_at: float, updated_at: float
) -> Message:
    """docs/protocol.md extension ``job_status`` → ``{"tipo":"job","id":…,"status":"queued|printing|success|…"}``."""
    return {
        "tipo": "job",
        "id": job_id,
        "status": state,
        "printer": printer,
        "mensaje": mensaje,
        "attempts": attempts,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def job_waiting(job_id: str, mensaje: str) -> Message:
    """The job waits for its printer; ``mensaje`` is the ``PRINTER: …`` reason."""
    return {"tipo": "job", "id": job_id, "status": "waiting", "mensaje": mensaje}


class JobState(Protocol):
    @property
    def value(self) -> str: ...


class JobView(Protocol):
    """What a ``job`` message shows of a stored job (the store's ``Job`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def state(self) -> JobState: ...
    @property
    def printer(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def created_at(self) -> float: ...
    @property
    def updated_at(self) -> float: ...


def job_of(record: JobView) -> Message:
    """The ``job`` message (``job_status``, ``GET /api/v1/jobs/{id}``) for a stored job."""
    return job(
        record.id,
        state=record.state.value,
        printer=record.printer,
        mensaje=record.message,
        attempts=record.attempts,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )
