"""The CPU work of intake: validate a document, choose its printer, render it for that printer's paper.

Synchronous and pure (no event loop, no sockets): the render pool (``pool.py``) runs it in a worker thread or
process under a time budget, so one big document never stalls the other clients (docs/architecture.md: the event
loop is never blocked). Raises :class:`~ticket_daemon.document.errors.TicketError` for anything a client did wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..document import parse_document
from ..document.plaindoc import read_plain
from ..escpos import RawPolicy, profile_for, render_job
from ..escpos.typefaces import NO_DRAWING
from ..printers.registry import PrinterRegistry
from ..resources import LockedBitmapCache, system_typefaces
from ..store.jobs import stored_document_and_digest
from .outcomes import RenderedDocument

# Decoded and dithered images by content, shared by the renders of this process (a render thread or a render
# worker process): a shop prints its logo on every receipt.
IMAGE_CACHE = LockedBitmapCache()


def render_document(
    datos: Mapping[str, Any],
    *,
    raw_policy: RawPolicy,
    registry: PrinterRegistry | None = None,
    printer_name: str | None = None,
    strict: bool = False,
    may_draw: bool = True,
) -> RenderedDocument:
    """Validate ``datos``, choose its printer from ``registry`` (``printer_name``, else ``profile.model`` against
    names and aliases, else the default) and render it for that printer's profile: the printer's paper wins over
    the document's (docs/document.md "Profile"). ``strict`` refuses what lenient reading would print with a note.
    Without a registry it is laid out for its own profile (previews, tools). Raises ``TicketError`` with the categorised
    message (invalid document, unknown printer, rendering refused). Without ``may_draw``, text that no code page of
    the printer prints raises :class:`~ticket_daemon.escpos.typefaces.TextNeedsDrawing` instead of being drawn."""
    # A plain document (text, tables, feeds, cuts as docs/document.md spells them) is read without the models;
    # anything else, and every refusal, comes from the general reading.
    document = read_plain(datos) or parse_document(datos, strict=strict)
    printer = registry.select(printer_name, document.profile.model) if registry is not None else None
    profile = printer.profile_for(document.profile) if printer is not None else profile_for(document.profile)
    typefaces = system_typefaces() if may_draw else NO_DRAWING  # no font file is read for a render that may not draw
    rendered = render_job(
        document, profile=profile, raw_policy=raw_policy, typefaces=typefaces, image_cache=IMAGE_CACHE
    )
    document_json, digest = stored_document_and_digest(datos)
    return RenderedDocument(
        document_json=document_json,
        digest=digest,
        data=rendered.data,
        notes=tuple(rendered.notes),
        dot_width=profile.dot_width,
        printer=printer.name if printer is not None else None,
    )
