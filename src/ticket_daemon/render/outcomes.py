"""The plain data a render hands back across the process boundary, and its limits: a document's printer bytes
(:class:`RenderedDocument`), a preview (:class:`PreviewOutcome`) or a client's mistake (:class:`Refusal`); and the
render pool's own refusals (busy, too slow, shutting down). Light on purpose: the render pool uses these before any
document arrives, and the renderer itself loads with the first one.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..document.errors import Category, TicketError

if TYPE_CHECKING:
    from ..config import ServerSettings

# The refusals of the render pool, in the words clients are told.
TOO_SLOW = "document too costly to render (took more than {seconds:g} s)"
WORKER_DIED = "the render worker stopped unexpectedly, please retry"
CLOSED = "the print service is shutting down, please retry in a few seconds"
BUSY = "document not rendered: the render workers are taken for longer than the {seconds:g} s budget, please retry"


class RenderTooSlow(TicketError):
    """A render over its time budget."""

    category = Category.EXECUTION


class RenderBusy(TicketError):
    """A render that could not start within the budget."""

    category = Category.EXECUTION


@dataclass(frozen=True, slots=True)
class RenderedDocument:
    """What a render hands the spool: plain data, so it crosses from a worker process as it is."""

    # What is stored with the job: the client's own document as canonical JSON (not a dump of the parsed model,
    # whose explicit defaults would override the printer's on a reprint); a reprint parses and renders it again.
    document_json: str
    digest: str  # jobs.document_digest of the client's document (what "the same document" means for a resent id)
    data: bytes  # ESC/POS bytes, sent as they are to the printer
    notes: tuple[str, ...]  # substitutions the renderer made (told to the client in the result)
    dot_width: int  # the paper the document was laid out for
    printer: str | None  # the configured printer chosen for it (None: laid out for its own profile)


@dataclass(frozen=True, slots=True)
class RenderLimits:
    timeout_seconds: float
    max_rendered_bytes: int
    max_document_bytes: int

    @classmethod
    def from_settings(cls, server: ServerSettings) -> RenderLimits:
        return cls(server.render_timeout_seconds, server.max_rendered_bytes, server.max_document_bytes)


@dataclass(frozen=True, slots=True)
class PreviewOutcome:
    png: bytes
    width: int
    height: int
    notes: tuple[str, ...]

    @property
    def png_base64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A :class:`TicketError` carried back from a worker as plain data (exceptions do not always pickle)."""

    category: Category
    message: str

    def error(self) -> TicketError:
        return TicketError(self.message, category=self.category)
