"""What a render worker runs, and the plain data that crosses the process boundary: a document in, its printer
bytes (:class:`~.job.RenderedDocument`) or its preview out, or a client's mistake as a :class:`Refusal`. Every
function here is top level and pure, so a worker process can run it by reference."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..document.errors import Category, TicketError
from ..escpos import RawPolicy
from ..printers.registry import PrinterRegistry
from ..resources import system_typefaces
from .job import render_document
from .outcomes import PreviewOutcome, Refusal, RenderedDocument, RenderLimits

TOO_MANY_BYTES = "document too costly to render ({size} bytes of printer data, the limit is {limit})"
TOO_BIG_TO_STORE = "document too large to store ({size} bytes of validated document, the limit is {limit})"


def render_in_worker(
    datos: Mapping[str, Any],
    registry: PrinterRegistry | None,
    printer_name: str | None,
    raw_policy: RawPolicy,
    strict: bool,
    limits: RenderLimits,
    *,
    may_draw: bool = True,
) -> RenderedDocument | Refusal:
    """Validate ``datos``, choose its printer from ``registry`` and render it for that printer's paper (no registry:
    the document's own profile) — :func:`.job.render_document` — within the byte limits.

    Top level and pure, so a worker process can run it; a client's mistake comes back as a :class:`Refusal`.
    Without ``may_draw`` (a render on the event loop or in an inline thread), text that must be drawn raises
    :class:`~ticket_daemon.escpos.typefaces.TextNeedsDrawing`.
    """
    try:
        rendered = render_document(
            datos, raw_policy=raw_policy, registry=registry, printer_name=printer_name, strict=strict, may_draw=may_draw
        )
        _check_limits(rendered, limits)
    except TicketError as error:
        return Refusal(error.category, error.message)
    return rendered


def preview_in_worker(
    datos: Mapping[str, Any],
    registry: PrinterRegistry | None,
    printer_name: str | None,
    raw_policy: RawPolicy,
    strict: bool,
    limits: RenderLimits,
) -> PreviewOutcome | Refusal:
    """What the printer would print, drawn by the emulator from the exact ESC/POS bytes (docs/protocol.md
    "Client → server": ``preview``). Always in a worker: emulating takes milliseconds."""
    try:
        rendered = render_document(
            datos, raw_policy=raw_policy, registry=registry, printer_name=printer_name, strict=strict
        )
        _check_limits(rendered, limits)
        # The printer's model reads ESC t with its own table: the preview shows what that printer prints.
        from ..emulator import emulate  # numpy, Pillow and zxing-cpp: a worker imports them for its first preview

        printer = registry.get(rendered.printer) if registry is not None and rendered.printer is not None else None
        model = printer.printer_model if printer is not None else None
        if model is None:
            emulation = emulate(rendered.data, rendered.dot_width, typefaces=system_typefaces())
        else:
            emulation = emulate(rendered.data, rendered.dot_width, typefaces=system_typefaces(), codecs=model.codecs)
    except TicketError as error:
        return Refusal(error.category, error.message)
    return PreviewOutcome(emulation.png, emulation.width, emulation.height, rendered.notes)


def _check_limits(rendered: RenderedDocument, limits: RenderLimits) -> None:
    """Refuse printer data or a document to store over the limits."""
    if len(rendered.data) > limits.max_rendered_bytes:
        limit = _shown_size(limits.max_rendered_bytes)
        raise TicketError(TOO_MANY_BYTES.format(size=len(rendered.data), limit=limit), category=Category.EXECUTION)
    stored = len(rendered.document_json.encode())
    if stored > limits.max_document_bytes:
        limit = _shown_size(limits.max_document_bytes)
        raise TicketError(TOO_BIG_TO_STORE.format(size=stored, limit=limit), category=Category.EXECUTION)


def _shown_size(size: int) -> str:
    for unit, name in ((1024 * 1024, "MB"), (1024, "KB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} bytes"
