"""What a client may ask, as typed requests: a message read by the strict reader becomes one of :data:`Request` or
a :class:`Refusal` (docs/protocol.md "Client → server", then the extensions ``preview`` and ``job_status``).

Reading checks only the message's shape: it is JSON, an object, its names and ids are valid text, ``tipo`` names a
request. Whether the request may go on (token, rate limit, ids already used, the document itself) is the service's
decision, made once for every door; a typed request therefore keeps the raw values of the fields it checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..document.errors import TicketError
from . import jsontext, messages

# Longest client job id (docs/protocol.md "Ids"): ids are keys and are echoed in every reply.
MAX_JOB_ID_CHARS = 64
# Longest ``tipo`` echoed back in "Unknown message type:  …".
MAX_ECHOED_TIPO = 100
# Only the HTTP mirror's ``POST /api/v1/jobs`` says this: it takes tickets and nothing else.
ONLY_TICKETS = "VALIDATION: field 'tipo' must be 'ticket' (or left out) on /api/v1/jobs"


@dataclass(frozen=True, slots=True)
class Ticket:
    """``ticket``: print ``datos``. ``raw_id`` is the ``id`` as sent (refused later when it is not usable)."""

    job_id: str | None
    raw_id: object
    datos: object
    auth_token: object
    printer: object


@dataclass(frozen=True, slots=True)
class Status:
    """``status``: the queue's depth and capacity."""


@dataclass(frozen=True, slots=True)
class Ping:
    """``ping``: ``pong`` echoing the id (numbers too: browser clients often send ``Date.now()``)."""

    echo: str | int | float | None


@dataclass(frozen=True, slots=True)
class GetPrinters:
    """``get_printers``: configured printers with their state, then the system's printers not configured yet."""


@dataclass(frozen=True, slots=True)
class Preview:
    """``preview`` (extension): the receipt as a PNG, nothing printed."""

    job_id: str | None
    datos: object
    auth_token: object


@dataclass(frozen=True, slots=True)
class JobStatus:
    """``job_status`` (extension): a job of the asking client, by id."""

    job_id: str | None
    auth_token: object


Request = Ticket | Status | Ping | GetPrinters | Preview | JobStatus


@dataclass(frozen=True, slots=True)
class Refusal:
    """A message that is not a request: its ``error`` reply, with the message's id when it was readable."""

    mensaje: str
    job_id: str | None = None

    def reply(self) -> messages.Message:
        return messages.error(self.mensaje, self.job_id)


def job_id_of(message: Mapping[str, Any]) -> str | None:
    """The client's id when it is a usable string (echoed in errors), else None."""
    value = message.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= MAX_JOB_ID_CHARS else None


def read_message(data: str | bytes) -> dict[str, Any] | Refusal:
    """Bytes or text → a JSON object whose names and ids are valid text, or the refusal that says why not."""
    try:
        message = jsontext.read_object(data)
    except TicketError as error:
        return Refusal(str(error))
    try:
        jsontext.check_text_fields(message)  # ids and names are echoed and stored: valid text or VALIDATION
    except TicketError as error:
        readable = jsontext.text_problem(message.get("id")) is None
        return Refusal(str(error), job_id_of(message) if readable else None)
    return message


def read(data: str | bytes) -> Request | Refusal:
    """One frame of a ``/ws`` client → its request."""
    message = read_message(data)
    return message if isinstance(message, Refusal) else parse(message)


def read_ticket(data: str | bytes, *, tipo_optional: bool = False) -> Ticket | Refusal:
    """A door that takes only tickets (MQTT; the HTTP mirror, where ``tipo`` may be left out): its request or the
    refusal. Any other ``tipo`` is refused as unknown (on the HTTP mirror: with :data:`ONLY_TICKETS`)."""
    message = read_message(data)
    if isinstance(message, Refusal):
        return message
    if tipo_optional and message.setdefault("tipo", "ticket") != "ticket":
        return Refusal(ONLY_TICKETS, job_id_of(message))
    request = parse(message)
    if isinstance(request, (Ticket, Refusal)):
        return request
    return Refusal(_unknown_type(str(message["tipo"])), job_id_of(message))


def parse(message: Mapping[str, Any]) -> Request | Refusal:
    """A JSON object → the request its ``tipo`` names."""
    job_id = job_id_of(message)
    tipo = message.get("tipo")
    if not isinstance(tipo, str):
        return Refusal(messages.TIPO_REQUIRED, job_id)
    if tipo == "ticket":
        return Ticket(
            job_id,
            raw_id=message.get("id"),
            datos=message.get("datos"),
            auth_token=message.get("auth_token"),
            printer=message.get("printer"),
        )
    if tipo == "status":
        return Status()
    if tipo == "ping":
        echoed = message.get("id")
        usable = isinstance(echoed, (str, int, float)) and not isinstance(echoed, bool)
        return Ping(echoed if usable else None)
    if tipo == "get_printers":
        return GetPrinters()
    if tipo == "preview":
        return Preview(job_id, datos=message.get("datos"), auth_token=message.get("auth_token"))
    if tipo == "job_status":
        return JobStatus(job_id, auth_token=message.get("auth_token"))
    return Refusal(_unknown_type(tipo), job_id)


def id_of_frame(data: str | bytes) -> str | None:
    """The id of a frame that will not be handled (a flood refusal names it), when it is readable."""
    message = read_message(data)
    return None if isinstance(message, Refusal) else job_id_of(message)


def _unknown_type(tipo: str) -> str:
    shown = tipo if len(tipo) <= MAX_ECHOED_TIPO else tipo[:MAX_ECHOED_TIPO] + "…"
    return messages.UNKNOWN_TYPE.format(tipo=shown)
