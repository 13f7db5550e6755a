"""What a print came to, for the Python clients: one :class:`PrintResult` per job."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Categories of a document problem (docs/document.md "Errors"): the sender must change the document, resending cannot
# help.
DOCUMENT_CATEGORIES = frozenset({"VALIDATION", "JSON", "COMMAND", "TEXT", "IMAGE", "BARCODE", "QR", "TABLE", "RAW"})


@dataclass(frozen=True, slots=True)
class PrintResult:
    """``status`` is ``success`` or ``error``; ``mensaje`` the daemon's sentence (``CATEGORY: …`` on error);
    ``refused`` is True when the ticket was answered with ``error`` before queueing (nothing was printed)."""

    id: str
    status: str
    mensaje: str
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def category(self) -> str | None:
        """``CATEGORY`` of an error's ``mensaje``, when it has one."""
        head, sep, _ = self.mensaje.partition(": ")
        return head if sep and head.isupper() else None

    @property
    def is_document_error(self) -> bool:
        return not self.ok and (self.category in DOCUMENT_CATEGORIES or self.mensaje.startswith("Field 'datos'"))


def ticket_message(
    document: Mapping[str, Any], *, job_id: str | None, printer: str | None, auth_token: str | None
) -> dict[str, Any]:
    """A protocol-v1 ``ticket``. The id is made here when not given, so a resend after a reconnect carries the same
    id and the daemon answers it as a duplicate instead of printing it twice."""
    message: dict[str, Any] = {"tipo": "ticket", "id": job_id or str(uuid.uuid4()), "datos": dict(document)}
    if printer:
        message["printer"] = printer
    if auth_token:
        message["auth_token"] = auth_token
    return message


def final_reply(message: Mapping[str, Any], job_id: str) -> PrintResult | None:
    """The result a reply settles for ``job_id`` (``result``, or a refusal ``error``), else None (``ack``, ``job``
    or someone else's reply)."""
    if message.get("id") != job_id:
        return None
    tipo = message.get("tipo")
    if tipo == "result":
        return PrintResult(job_id, str(message.get("status", "error")), str(message.get("mensaje", "")))
    if tipo == "error":
        return PrintResult(job_id, "error", str(message.get("mensaje", "")), refused=True)
    return None


def decode(text: str | bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
