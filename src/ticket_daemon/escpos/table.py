"""The ``table`` command (docs/document.md "table"): fixed-width columns of text, laid out in characters.

Widths count printed characters, so every cell is first prepared for the code page (control characters stripped,
transliterations applied) and only then wrapped, truncated and padded.
"""

from __future__ import annotations

import re

from ..document.errors import Category, DocumentError
from ..document.model import Align, TableData
from .codepages import NO_SUBSTITUTIONS, EncodedText, Placement, as_is, encode_text, prepare_text
from .commands import LF, align, bold
from .profiles import PrinterProfile
from .text import ALIGN_NUMBERS
from .typefaces import BUILT_IN, Typefaces

MIN_REDUCED_WIDTH = 3  # docs/document.md "table": auto_reduce only shrinks columns still wider than 3

_TOKENS = re.compile(r"\s+|\S+")


def fit_widths(widths: list[int], spacing: int, limit: int, *, auto_reduce: bool) -> list[int]:
    """Column widths that fit ``limit`` characters (docs/document.md "table").

    Row width = sum(widths) + spacing * (n - 1). When too wide and ``auto_reduce``, repeatedly take one character
    from the widest column still wider than 3 (ties: leftmost) until it fits."""
    needed = sum(widths) + spacing * (len(widths) - 1)
    fitted = list(widths)
    excess = needed - limit
    # One character at a time would take a pass over the columns per character; instead each pass takes what the
    # rule would: a column wider than all others loses characters until it is as wide as the next (or the excess is
    # gone), and columns tied for widest lose one each, leftmost first.
    while excess > 0 and auto_reduce:
        candidates = [width for width in fitted if width > MIN_REDUCED_WIDTH]
        if not candidates:
            break
        top = max(candidates)
        widest = [i for i, width in enumerate(fitted) if width == top]
        if len(widest) == 1:
            below = max([width for width in candidates if width < top], default=MIN_REDUCED_WIDTH)
            taken = min(top - below, excess)
            fitted[widest[0]] -= taken
            excess -= taken
            continue
        for i in widest[:excess]:
            fitted[i] -= 1
        excess -= min(len(widest), excess)
    if excess > 0:
        raise DocumentError(f"Columns exceed paper width (needs {needed}, has {limit})", category=Category.TABLE)
    return fitted


def wrap_cell(text: str, width: int) -> list[str]:
    """Greedy word wrap to ``width`` characters; a word longer than a line is split. Explicit newlines break lines
    and a line's leading indentation is kept."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if len(paragraph) <= width:
            lines.append(paragraph)
            continue
        line = ""
        fresh = True  # nothing of this paragraph placed yet: leading spaces are indentation, keep them
        for token in _TOKENS.findall(paragraph):
            if token.isspace():
                if line or fresh:
                    line += token
                continue
            fresh = False
            if len(line) + len(token) <= width:
                line += token
                continue
            if line.strip():
                lines.append(line.rstrip())
            line = ""
            while len(token) > width:
                lines.append(token[:width])
                token = token[width:]
            line = token
        lines.append(line.rstrip())
    return lines


def pad_cell(text: str, width: int, alignment: Align) -> str:
    """``text`` truncated or padded with spaces to exactly ``width`` characters; center puts the odd space right."""
    text = text[:width]
    if alignment is Align.LEFT:
        return text.ljust(width)
    if alignment is Align.RIGHT:
        return text.rjust(width)
    space = width - len(text)
    return " " * (space // 2) + text + " " * (space - space // 2)


def table_bytes(data: TableData, profile: PrinterProfile, typefaces: Typefaces = BUILT_IN) -> EncodedText:
    """Header (bold when ``header_bold``) and rows, each row as many lines as its tallest cell."""
    options = data.options
    columns = data.definition.columns
    limit = data.definition.paper_width or profile.chars_per_line
    widths = fit_widths([c.width for c in columns], options.column_spacing, limit, auto_reduce=options.auto_reduce)
    rows: list[tuple[bool, list[str]]] = []  # (bold, cells)
    # docs/document.md "table": the header row is printed when show_headers, bold when header_bold (both honoured). A
    # header of empty names would print only a blank line, so it is left out.
    if data.show_headers and any(column.name for column in columns):
        rows.append((options.header_bold, [column.name for column in columns]))
    rows.extend((False, row) for row in data.rows)

    placement = Placement(dot_width=profile.dot_width, dpi=profile.dpi, align=options.align, typefaces=typefaces)
    aligns = [column.align for column in columns]
    gap = " " * options.column_spacing
    out = bytearray()  # grown in place: a table may have thousands of lines
    tally = NO_SUBSTITUTIONS
    if options.align is not Align.LEFT:
        out += align(ALIGN_NUMBERS[options.align])  # ESC a n — places the table when narrower than the line
    gap_bytes = gap.encode("ascii")
    for is_bold, cells in rows:
        if is_bold:
            out += bold(True)  # ESC E 1
        as_sent = _row_as_sent(cells, widths, profile)
        if as_sent is not None:
            # Every cell prints as sent and fits: the one line is laid out in bytes (a page has one byte per
            # character, so padding by bytes is padding by characters), what the general way below gives.
            padded = (_pad_bytes(cell, width, how) for cell, width, how in zip(as_sent, widths, aligns, strict=True))
            joined = gap_bytes.join(padded)
            out += (joined.rstrip(b" ") if options.align is Align.LEFT else joined) + LF
            if is_bold:
                out += bold(False)  # ESC E 0
            continue
        laid_out: list[list[str]] = []
        for cell, width in zip(cells, widths, strict=True):
            if len(cell) <= width and as_is(cell, profile.code_pages) is not None:
                laid_out.append([cell])  # prints as sent (no control character, no substitution) and fits
                continue
            text = prepare_text(cell, profile.code_pages)
            tally += text.tally
            laid_out.append(_cell_lines(text.text, width, word_wrap=options.word_wrap))
        for i in range(max(map(len, laid_out))):
            line = _row_line(laid_out, aligns, widths, gap, i)
            # A left-aligned table needs no trailing spaces; centred or right-aligned ones keep the full width so
            # the printer positions every line the same way.
            encoded = encode_text(line.rstrip() if options.align is Align.LEFT else line, profile.code_pages, placement)
            tally += encoded.tally
            out += encoded.data + LF
        if is_bold:
            out += bold(False)  # ESC E 0
    if options.align is not Align.LEFT:
        out += align(0)
    return EncodedText(bytes(out), tally)


def _row_as_sent(cells: list[str], widths: list[int], profile: PrinterProfile) -> list[bytes] | None:
    """Each cell's bytes when every one prints exactly as sent and fits its column on one line, else None."""
    encoded: list[bytes] = []
    for cell, width in zip(cells, widths, strict=True):
        data = as_is(cell, profile.code_pages) if len(cell) <= width else None
        if data is None:
            return None
        encoded.append(data)
    return encoded


def _pad_bytes(cell: bytes, width: int, alignment: Align) -> bytes:
    """:func:`pad_cell` for a cell already encoded one byte a character and no wider than ``width``."""
    if alignment is Align.LEFT:
        return cell.ljust(width)
    if alignment is Align.RIGHT:
        return cell.rjust(width)
    space = width - len(cell)
    return b" " * (space // 2) + cell + b" " * (space - space // 2)


def _cell_lines(text: str, width: int, *, word_wrap: bool) -> list[str]:
    # A TAB would jump to the printer's tab stops and break the columns; a CR would return to the line start.
    text = text.replace("\r\n", "\n").replace("\r", "").replace("\t", " ")
    if word_wrap:
        return wrap_cell(text, width)
    return [text.replace("\n", " ")[:width]]


def _row_line(laid_out: list[list[str]], aligns: list[Align], widths: list[int], gap: str, i: int) -> str:
    cells = [
        pad_cell(cell_lines[i] if i < len(cell_lines) else "", width, alignment)
        for cell_lines, alignment, width in zip(laid_out, aligns, widths, strict=True)
    ]
    return gap.join(cells)
