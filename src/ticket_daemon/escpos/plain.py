"""The layout of a plain document (``document.plaindoc.read_plain``): the same text, table and paper functions the
general renderer calls, handed the values read from the client's JSON instead of the models' fields; images,
barcodes and QR codes through the general renderer's own ``symbols.symbol_bytes``, with the data objects the plain
reading built.

A layout that cannot be made (a table wider than the paper) is not reported from here: the caller renders the
document the general way, which refuses it with the general renderer's words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from ..document.model import BarcodeData, ImageData, QrData
from ..document.plaindoc import (
    PlainBeep,
    PlainCommand,
    PlainCut,
    PlainDocument,
    PlainFeed,
    PlainPulse,
    PlainSeparator,
    PlainTable,
    PlainText,
)
from . import commands
from .barcode import barcode_notes
from .codepages import NO_SUBSTITUTIONS, EncodedText
from .imagecache import BitmapCache
from .mechanism import beep_bytes, cut_bytes, pulse_bytes
from .profiles import PrinterProfile
from .symbols import symbol_bytes
from .table import table_layout
from .text import separator_as_sent, separator_line, text_as_sent, text_line_general
from .typefaces import TextNeedsDrawing, Typefaces


def plain_job(
    document: PlainDocument, printer: PrinterProfile, typefaces: Typefaces, image_cache: BitmapCache | None = None
) -> tuple[bytes, list[str]] | None:
    """The job's bytes and notes, as ``render_job`` gives them for the same document read by the models; None when
    a command cannot be laid out (the general renderer then says why)."""
    # docs/document.md "Profile": every job starts with ESC @ and ESC t n for the code table (this printer's n for it).
    out = bytearray(commands.INITIALIZE + commands.select_code_table(printer.code_pages.home.number))
    notes: list[str] = []
    try:
        for index, command in enumerate(document.commands):
            layout = _LAYOUTS.get(type(command))
            if layout is not None:
                part: EncodedText | bytes = layout(command, printer, typefaces)
            else:  # an image, a barcode or a QR code: the model's data object
                symbol = cast(ImageData | BarcodeData | QrData, command)
                part = symbol_bytes(symbol, printer, typefaces, image_cache)
                if type(symbol) is BarcodeData:  # docs/document.md "barcode": say when it was narrowed
                    notes.extend(barcode_notes(symbol, printer.dot_width, index))
            if isinstance(part, bytes):
                out += part
                continue
            out += part.data
            if part.tally is not NO_SUBSTITUTIONS:
                notes.extend(part.tally.notes(index))
    except TextNeedsDrawing:
        raise  # as the general renderer would, after doing the same work again
    except Exception:  # the general renderer reports it against its command
        return None
    return bytes(out), notes


# A text or separator that prints as sent is returned as its bytes alone: most commands of a receipt are, and they
# have no substitution to count.
def _text(command: PlainText, printer: PrinterProfile, typefaces: Typefaces) -> EncodedText | bytes:
    label, content, new_line = command.label, command.content, command.new_line
    data = text_as_sent(label, content, new_line, printer)
    return data if data is not None else text_line_general(label, content, new_line, printer, typefaces)


def _separator(command: PlainSeparator, printer: PrinterProfile, typefaces: Typefaces) -> EncodedText | bytes:
    data = separator_as_sent(command.char, command.length, printer)
    return data if data is not None else separator_line(command.char, command.length, printer, typefaces)


def _table(command: PlainTable, printer: PrinterProfile, typefaces: Typefaces) -> EncodedText:
    return table_layout(command.columns, command.rows, command.look, printer, typefaces)


def _feed(command: PlainFeed, printer: PrinterProfile, typefaces: Typefaces) -> bytes:
    return commands.feed_lines(command.lines)  # ESC d n


def _cut(command: PlainCut, printer: PrinterProfile, typefaces: Typefaces) -> bytes:
    return cut_bytes(command.full, command.feed, printer)


def _pulse(command: PlainPulse, printer: PrinterProfile, typefaces: Typefaces) -> bytes:
    return pulse_bytes(command.pin, command.on_time, command.off_time)


def _beep(command: PlainBeep, printer: PrinterProfile, typefaces: Typefaces) -> bytes:
    return beep_bytes(command.times, command.lapse)


_LAYOUTS: dict[type[PlainCommand], Callable[[Any, PrinterProfile, Typefaces], EncodedText | bytes]] = {
    PlainText: _text,
    PlainSeparator: _separator,
    PlainTable: _table,
    PlainFeed: _feed,
    PlainCut: _cut,
    PlainPulse: _pulse,
    PlainBeep: _beep,
}
