"""The ``table`` command (docs/document.md "table"): fixed-width columns of text, laid out in characters.

Widths count printed characters, so every cell is first prepared for the code page (control characters stripped,
transliterations applied) and only then wrapped, truncated and padded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..document.errors import Category, DocumentError
from ..document.model import Align, TableData
from ..document.plaindoc import ColumnSpec, TableLook
from .codepages import NO_SUBSTITUTIONS, EncodedText, Placement, as_is, encode_text, lines_as_is, prepare_text
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
    """docs/document.md "table" (see :func:`table_layout`)."""
    options = data.options
    return table_layout(
        [(column.name, column.width, column.align) for column in data.definition.columns],
        data.rows,
        TableLook(
            show_headers=data.show_headers,
            header_bold=options.header_bold,
            word_wrap=options.word_wrap,
            column_spacing=options.column_spacing,
            align=options.align,
            auto_reduce=options.auto_reduce,
            paper_width=data.definition.paper_width,
        ),
        profile,
        typefaces,
    )


def table_layout(
    columns: Sequence[ColumnSpec],
    rows: Sequence[list[str]],
    look: TableLook,
    profile: PrinterProfile,
    typefaces: Typefaces = BUILT_IN,
) -> EncodedText:
    """Header (bold when ``header_bold``) and rows, each row as many lines as its tallest cell."""
    limit = look.paper_width or profile.chars_per_line
    widths = fit_widths([width for _, width, _ in columns], look.column_spacing, limit, auto_reduce=look.auto_reduce)
    aligns = [alignment for _, _, alignment in columns]
    gap = " " * look.column_spacing
    placement = Placement(dot_width=profile.dot_width, dpi=profile.dpi, align=look.align, typefaces=typefaces)
    layout = _RowLayout(widths, aligns, gap, look, profile, placement)
    out = bytearray()  # grown in place: a table may have thousands of lines
    if look.align is not Align.LEFT:
        out += align(ALIGN_NUMBERS[look.align])  # ESC a n — places the table when narrower than the line
    # docs/document.md "table": the header row is printed when show_headers, bold when header_bold (both honoured). A
    # header of empty names would print only a blank line, so it is left out.
    if look.show_headers and any(name for name, _, _ in columns):
        header = [name for name, _, _ in columns]
        if look.header_bold:
            out += bold(True)  # ESC E 1
        out += layout.rows([header])
        if look.header_bold:
            out += bold(False)  # ESC E 0
    out += layout.rows(rows)
    if look.align is not Align.LEFT:
        out += align(0)
    return EncodedText(bytes(out), layout.tally)


class _RowLayout:
    """The lines of rows at a table's widths, alignments and gap, and the substitutions they needed."""

    def __init__(
        self,
        widths: list[int],
        aligns: list[Align],
        gap: str,
        look: TableLook,
        profile: PrinterProfile,
        placement: Placement,
    ) -> None:
        self.widths = widths
        self.aligns = aligns
        self.gap = gap
        self.look = look
        self.profile = profile
        self.placement = placement
        self.tally = NO_SUBSTITUTIONS
        # One format for a whole row of cells that fit: each padded as pad_cell pads it (center: the odd space right).
        spec = {Align.LEFT: "<", Align.CENTER: "^", Align.RIGHT: ">"}
        self.template = gap.join(f"{{:{spec[how]}{width}}}" for how, width in zip(aligns, widths, strict=True))
        self.full_width = sum(widths) + len(gap) * (len(widths) - 1)

    def rows(self, rows: Sequence[list[str]]) -> bytes:
        """The lines of ``rows``. Rows whose cells all fit their columns are formatted as one line each and, when
        all such lines in a stretch print as sent, encoded at once; any other row is laid out the general way."""
        out = bytearray()
        fitting: list[list[str]] = []
        lines: list[str] = []
        strip = self.look.align is Align.LEFT
        template = self.template.format
        full = self.full_width
        for cells in rows:
            line = template(*cells)
            if len(line) == full:  # no cell wider than its column (a wider one would widen the line)
                # A left-aligned table needs no trailing spaces; centred or right-aligned ones keep the full width
                # so the printer positions every line the same way.
                lines.append(line.rstrip(" ") if strip else line)
                fitting.append(cells)
                continue
            out += self._fitting(fitting, lines)
            out += self._row(cells)
        out += self._fitting(fitting, lines)
        return bytes(out)

    def _fitting(self, fitting: list[list[str]], lines: list[str]) -> bytes:
        """Rows that fit, formatted as ``lines``; emptied for the next stretch."""
        if not lines:
            return b""
        encoded = lines_as_is(lines, self.profile.code_pages)
        if encoded is None:
            encoded = b"".join(self._row(cells) for cells in fitting)
        fitting.clear()
        lines.clear()
        return encoded

    def _row(self, cells: list[str]) -> bytes:
        """One row the general way: as many lines as its tallest cell, each encoded for the printer."""
        widths = self.widths
        profile = self.profile
        as_sent = _row_as_sent(cells, widths, profile)
        if as_sent is not None:
            # Every cell prints as sent and fits: the one line is laid out in bytes (a page has one byte per
            # character, so padding by bytes is padding by characters), what the general way below gives.
            aligns = self.aligns
            padded = (_pad_bytes(cell, width, how) for cell, width, how in zip(as_sent, widths, aligns, strict=True))
            joined = self.gap.encode("ascii").join(padded)
            return (joined.rstrip(b" ") if self.look.align is Align.LEFT else joined) + LF
        out = bytearray()
        laid_out: list[list[str]] = []
        for cell, width in zip(cells, widths, strict=True):
            if len(cell) <= width and as_is(cell, profile.code_pages) is not None:
                laid_out.append([cell])  # prints as sent (no control character, no substitution) and fits
                continue
            text = prepare_text(cell, profile.code_pages)
            self.tally += text.tally
            laid_out.append(_cell_lines(text.text, width, word_wrap=self.look.word_wrap))
        for i in range(max(map(len, laid_out))):
            line = _row_line(laid_out, self.aligns, widths, self.gap, i)
            # A left-aligned table needs no trailing spaces; centred or right-aligned ones keep the full width so
            # the printer positions every line the same way.
            line = line.rstrip() if self.look.align is Align.LEFT else line
            encoded = encode_text(line, profile.code_pages, self.placement)
            self.tally += encoded.tally
            out += encoded.data + LF
        return bytes(out)


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
