"""``ticket-daemon render`` and ``ticket-daemon preview``: the document engine from the command line.

A user mistake (bad document, missing file) is one ``CATEGORY: sentence`` line on stderr and exit status 2;
never a traceback. Documents are read leniently unless ``--strict`` is given (docs/document.md "Lenient (default) and
strict"); each substitution, like every other rendering note, is one line on stderr and the exit status stays 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..document import Category, DocumentError, TicketError, parse_document
from ..document.model import Document
from ..emulator import emulate
from ..escpos import profile_for, render_job
from ..resources import system_typefaces

USAGE_ERROR = 2
DEFAULT_DOT_WIDTH = 576


def load_document(path: str, *, strict: bool = False) -> Document:
    """A bare document, or a whole protocol message whose ``datos`` is the document (as the dashboard saves it)."""
    raw = _read(path)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return parse_document(raw, strict=strict)  # the parser gives the precise JSON error
    if isinstance(data, dict) and data.get("tipo") == "ticket" and "datos" in data:
        data = data["datos"]
    return parse_document(data, strict=strict)


def render_main(args: argparse.Namespace) -> int:
    try:
        document = load_document(args.document, strict=args.strict)
        rendered = render_job(document, typefaces=system_typefaces())
        _write(args.output, rendered.data)
    except TicketError as error:
        return _fail(error)
    for note in rendered.notes:
        print(note, file=sys.stderr)
    return 0


def preview_main(args: argparse.Namespace) -> int:
    if not args.output and not args.text:
        return _fail(TicketError("give -o OUT.png and/or --text", category=Category.VALIDATION))
    try:
        notes: tuple[str, ...] = ()
        if args.raw:
            data = _read(args.document)
            dot_width = args.width or DEFAULT_DOT_WIDTH
        else:
            document = load_document(args.document, strict=args.strict)
            profile = profile_for(document.profile)
            rendered = render_job(document, profile, typefaces=system_typefaces())
            data, notes = rendered.data, rendered.notes
            dot_width = args.width or profile.dot_width
        if not 64 <= dot_width <= 4096:
            raise TicketError(f"--width must be 64 to 4096 dots, got {dot_width}", category=Category.VALIDATION)
        emulation = emulate(data, dot_width, typefaces=system_typefaces())
        if args.output:
            _write(args.output, emulation.png)
    except TicketError as error:
        return _fail(error)
    if args.text:
        sys.stdout.write(emulation.transcript if emulation.transcript.endswith("\n") else emulation.transcript + "\n")
    for note in notes:
        print(note, file=sys.stderr)
    for unknown in emulation.unknown:
        print(f"note: not understood: {unknown}", file=sys.stderr)
    return 0


def _read(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as error:
        raise DocumentError(f"cannot read {path}: {error.strerror or error}", category=Category.EXECUTION) from None


def _write(path: str, data: bytes) -> None:
    try:
        if path == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            Path(path).write_bytes(data)
    except OSError as error:
        raise TicketError(f"cannot write {path}: {error.strerror or error}", category=Category.EXECUTION) from None


def _fail(error: TicketError) -> int:
    print(str(error), file=sys.stderr)
    return USAGE_ERROR
