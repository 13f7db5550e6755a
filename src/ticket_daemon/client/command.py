"""``ticket-daemon print DOC.json``: send a document to a running daemon and say what became of it (the command a
support person reaches for). Exit 0 printed, 2 the document was refused (fix the document), 1 the printer failed or
the daemon could not be reached; the reason is one ``CATEGORY: sentence`` line on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .local import DEFAULT_URL, TicketClient, Unreachable

EXIT_PRINTED = 0
EXIT_PRINTER = 1
EXIT_DOCUMENT = 2


def print_main(args: argparse.Namespace) -> int:
    try:
        document, job_id, printer = read_document(Path(args.document))
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return EXIT_DOCUMENT
    job_id = args.id or job_id
    printer = args.printer or printer
    try:
        with TicketClient(args.url or DEFAULT_URL, auth_token=args.token) as client:
            result = client.print(document, id=job_id, printer=printer, timeout=args.timeout)
    except Unreachable as error:
        print(str(error), file=sys.stderr)
        return EXIT_PRINTER
    if result.ok:
        print(f"{result.id}: {result.status}: {result.mensaje}")
        return EXIT_PRINTED
    mensaje = (
        result.mensaje if result.category else f"{'VALIDATION' if result.refused else 'PRINTER'}: {result.mensaje}"
    )
    print(f"{result.id}: {result.status}", file=sys.stdout)
    print(mensaje, file=sys.stderr)
    return EXIT_DOCUMENT if result.is_document_error else EXIT_PRINTER


def read_document(path: Path) -> tuple[dict[str, Any], str | None, str | None]:
    """(document, id, printer) from a file holding a bare v1 document or a whole ``ticket`` message."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"VALIDATION: cannot read {str(path)!r}: {error.strerror or error}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"JSON: {str(path)!r} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"JSON: {str(path)!r} must hold a JSON object (a document or a ticket message)")
    if value.get("tipo") == "ticket":
        datos = value.get("datos")
        if not isinstance(datos, dict):
            raise ValueError("VALIDATION: field 'datos' must be a JSON object (the print document)")
        job_id, printer = value.get("id"), value.get("printer")
        return datos, job_id if isinstance(job_id, str) else None, printer if isinstance(printer, str) else None
    return value, None, None
