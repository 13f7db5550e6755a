"""CPU work the server hands to a worker thread: validate + render a document, and draw a preview.

These functions are synchronous and pure (no event loop, no sockets): callers run them with
``asyncio.to_thread`` so one big image never stalls the other clients (DESIGN.md: the event loop never runs
CPU-heavy work). They raise :class:`~ticket_daemon.document.errors.TicketError` for anything a client did wrong.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..document import Document, parse_document
from ..document.model import Profile
from ..emulator import emulate
from ..escpos import RawPolicy, profile_for, render_job
from ..printers.render_resources import LockedBitmapCache, system_typefaces

# 80 mm paper at 203 dpi (DOCUMENT.md "Profile"), when nothing says otherwise.
GENERIC_DOT_WIDTH = 576
# Decoded images shared by every render of this process (logos repeat on every ticket); the lock is its own.
IMAGE_CACHE = LockedBitmapCache()


@dataclass(frozen=True, slots=True)
class RenderedDocument:
    document: Document
    document_json: str  # the validated document, as stored with the job
    data: bytes  # ESC/POS bytes, sent as they are to the printer
    notes: tuple[str, ...]  # substitutions the renderer made (told to the client in the result)
    dot_width: int  # the paper the document was laid out for


@dataclass(frozen=True, slots=True)
class Preview:
    png: bytes
    width: int
    height: int
    notes: tuple[str, ...]

    @property
    def png_base64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")


def render_document(datos: Mapping[str, Any], *, raw_policy: RawPolicy) -> RenderedDocument:
    """Validate and render a ``ticket``'s ``datos``; raises ``DocumentError`` with the categorised message."""
    document = parse_document(datos)
    rendered = render_job(document, raw_policy=raw_policy, typefaces=system_typefaces(), image_cache=IMAGE_CACHE)
    return RenderedDocument(
        document=document,
        document_json=document.model_dump_json(),
        data=rendered.data,
        notes=tuple(rendered.notes),
        dot_width=profile_for(document.profile).dot_width,
    )


def render_preview(datos: Mapping[str, Any], *, raw_policy: RawPolicy) -> Preview:
    """What the printer would print, drawn by the emulator from the exact ESC/POS bytes (PROTOCOL.md "preview")."""
    rendered = render_document(datos, raw_policy=raw_policy)
    emulation = emulate(rendered.data, rendered.dot_width, typefaces=system_typefaces())
    return Preview(png=emulation.png, width=emulation.width, height=emulation.height, notes=rendered.notes)


def dot_width_of(document_json: str, printer_model: str) -> int:
    """The paper width in dots a job is printed on: the printer's configured model when it has one, otherwise the
    document's own profile (what the virtual printer draws on)."""
    try:
        if printer_model:
            return profile_for(Profile(model=printer_model)).dot_width
        profile = json.loads(document_json)["profile"]
        return profile_for(Profile.model_validate(profile)).dot_width
    except (ValueError, KeyError, TypeError):
        return GENERIC_DOT_WIDTH
