"""Document + printer profile → the ESC/POS bytes of one job (docs/document.md), plus notices for the client.

Pure: the same document, profile and fonts always give the same bytes; nothing here touches a printer, a clock or a
file. What it needs from the machine is handed in: the fonts text is drawn with when no code page has it
(:class:`~.typefaces.Typefaces`) and, optionally, a cache of decoded images. Every error names the command it
comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..document.errors import Category, DocumentError, TicketError, command_error, command_location
from ..document.model import (
    BarcodeCommand,
    BeepCommand,
    Command,
    CutCommand,
    Document,
    FeedCommand,
    ImageCommand,
    PulseCommand,
    QrCommand,
    RawCommand,
    RawData,
    SeparatorCommand,
    TableCommand,
    TextCommand,
)
from ..document.parse import parse_document
from ..document.plaindoc import PlainDocument
from ..document.rawpolicy import RawPolicy, safe_mode_refusal
from . import commands
from .barcode import barcode_notes
from .codepages import NO_SUBSTITUTIONS, EncodedText
from .imagecache import BitmapCache
from .mechanism import beep_bytes, cut_bytes, pulse_bytes
from .plain import plain_job
from .profiles import PrinterProfile, profile_for
from .rawsafety import first_refused
from .symbols import symbol_bytes
from .table import table_bytes
from .text import separator_bytes, text_bytes
from .typefaces import BUILT_IN, TextNeedsDrawing, Typefaces

# The category an unexpected failure inside a command is reported under.
COMMAND_CATEGORIES: dict[str, Category] = {
    "text": Category.TEXT,
    "image": Category.IMAGE,
    "barcode": Category.BARCODE,
    "qr": Category.QR,
    "table": Category.TABLE,
    "raw": Category.RAW,
}


@dataclass(frozen=True, slots=True)
class RenderedJob:
    data: bytes
    notes: tuple[str, ...]  # client-facing substitution notices, may be empty


@dataclass(frozen=True, slots=True)
class _Resources:
    """What the caller handed in from the machine."""

    typefaces: Typefaces
    image_cache: BitmapCache | None


def render(document: Document, profile: PrinterProfile | None = None, *, typefaces: Typefaces = BUILT_IN) -> bytes:
    """The job's bytes; see :func:`render_job`."""
    return render_job(document, profile, typefaces=typefaces).data


def render_job(
    document: Document | PlainDocument,
    profile: PrinterProfile | None = None,
    *,
    raw_policy: RawPolicy = "allow",
    typefaces: Typefaces = BUILT_IN,
    image_cache: BitmapCache | None = None,
) -> RenderedJob:
    """Render every command in order. ``profile`` defaults to the one the document describes. A plain document
    (``document.plaindoc.read_plain``) is laid out from the values read; the bytes and notes are the same.

    ``typefaces`` draw text no code page can print (as an image); ``image_cache`` keeps decoded images between
    jobs (it must be safe for however many threads share it). Neither changes the bytes.

    Raises :class:`DocumentError` naming the command (``QR: <sentence> at command 4 (qr)``) when a command cannot
    be printed.
    """
    printer = profile if profile is not None else profile_for(document.profile)
    if isinstance(document, PlainDocument):
        laid_out = plain_job(document, printer, typefaces, image_cache)
        if laid_out is not None:
            return RenderedJob(laid_out[0], tuple(laid_out[1]))
        # The general reading gives the same document (a plain one reads the same strictly or leniently); its
        # renderer says what cannot be laid out.
        document = parse_document(document.source)
    # docs/document.md "Profile": every job starts with ESC @ and ESC t n for the code table (this printer's n for it).
    select_home = commands.select_code_table(printer.code_pages.home.number)
    if raw_policy == "safe":
        _check_raw_stream(document)
    out = bytearray(commands.INITIALIZE + select_home)
    # docs/document.md "Lenient (default) and strict": the defaults the reading substituted come first.
    notes: list[str] = list(document.reading_notes)
    resources = _Resources(typefaces, image_cache)
    # Lenient reading may have skipped commands: each message names the index the client gave.
    for index, command in zip(document.client_indexes(), document.commands, strict=True):
        try:
            part = _render_command(command, printer, raw_policy, resources)
        except TicketError as error:
            raise _about_command(error, index, command.type) from None
        except TextNeedsDrawing:
            raise  # not the document's fault: the caller renders it where text may be drawn
        except Exception as error:
            # A renderer bug must not take the worker down or leak a traceback: report it against the command.
            category = COMMAND_CATEGORIES.get(command.type, Category.EXECUTION)
            sentence = f"could not be rendered ({type(error).__name__})"
            raise command_error(category, index, command.type, sentence) from error
        out += part.data
        if part.tally is not NO_SUBSTITUTIONS:
            notes.extend(part.tally.notes(index))
        if isinstance(command, BarcodeCommand):  # docs/document.md "barcode": say when it was narrowed
            notes.extend(barcode_notes(command.data, printer.dot_width, index))
        if isinstance(command, RawCommand) and commands.INITIALIZE in part.data:
            # ESC @ in a raw command resets the printer to code table 0; the text that follows is encoded for ours.
            out += select_home
    return RenderedJob(bytes(out), tuple(notes))


def _render_command(
    command: Command, printer: PrinterProfile, raw_policy: RawPolicy, resources: _Resources
) -> EncodedText:
    typefaces = resources.typefaces
    match command:
        case TextCommand(data=data):
            return text_bytes(data, printer, typefaces)
        case TableCommand(data=data):
            return table_bytes(data, printer, typefaces)
        case SeparatorCommand(data=data):
            return separator_bytes(data, printer, typefaces)
        case ImageCommand(data=data) | BarcodeCommand(data=data) | QrCommand(data=data):
            return symbol_bytes(data, printer, typefaces, resources.image_cache)
        case FeedCommand(data=data):
            return EncodedText(commands.feed_lines(data.lines))  # ESC d n
        case CutCommand(data=data):
            return EncodedText(cut_bytes(data.mode == "full", data.feed, printer))
        case PulseCommand(data=data):
            return EncodedText(pulse_bytes(data.pin, data.on_time, data.off_time))
        case BeepCommand(data=data):
            return EncodedText(beep_bytes(data.times, data.lapse))
        case RawCommand(data=data):
            return EncodedText(raw_bytes(data, raw_policy))
    raise DocumentError(f"Unknown command type {command.type!r}", category=Category.COMMAND)  # pragma: no cover


def _check_raw_stream(document: Document) -> None:
    """docs/document.md "raw": under ``raw_policy = "safe"`` the raw commands, read as one stream, may only print."""
    raws = [
        (index, command.data.payload)
        for index, command in enumerate(document.commands)
        if isinstance(command, RawCommand)
    ]
    # A raw command that does not directly follow the previous one starts a new command: no command runs across.
    apart = [part for part in range(1, len(raws)) if raws[part][0] != raws[part - 1][0] + 1]
    refusal = first_refused([payload for _, payload in raws], apart=apart)
    if refusal is not None:
        sentence = f'Blocked by raw_policy "safe" - {refusal.command}'
        raise command_error(Category.RAW, raws[refusal.part][0], "raw", sentence)


def raw_bytes(data: RawData, policy: RawPolicy) -> bytes:
    """docs/document.md "raw": the payload as sent, unless the daemon forbids raw or the command asks for ``safe_mode``
    (``raw_policy = "safe"`` has already checked the whole raw stream)."""
    if policy == "deny":
        raise DocumentError("raw commands are disabled on this daemon", category=Category.RAW)
    payload = data.payload
    refusal = safe_mode_refusal(payload) if data.safe_mode else None
    if refusal is not None:
        raise DocumentError(refusal, category=Category.RAW)
    return payload


def _about_command(error: TicketError, index: int, kind: str) -> TicketError:
    """The same error, its sentence naming ``commands[index]`` (unless it already does)."""
    if error.message.endswith(command_location(index, kind)):
        return error
    return command_error(error.category, index, kind, error.message)
