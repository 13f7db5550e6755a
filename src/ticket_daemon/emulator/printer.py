"""The print mechanism: a line buffer that wraps at the print area, blocks (images, barcodes, QR) placed by the
alignment, paper feed, cuts, and the transcript of everything printed.

The interpreter decides *what* a command means; this module decides *where* it lands on the paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ticket_daemon.emulator import fonts
from ticket_daemon.emulator.barcodes import LinearSymbol
from ticket_daemon.emulator.page import CUT_MARGIN, Mask, Page
from ticket_daemon.escpos.commands import TWO_LEVEL_DOTS
from ticket_daemon.escpos.typefaces import Typefaces

DEFAULT_LINE_SPACING = 30  # ESC 2 — dots (about 1/6 inch at 203 dpi; a line of font A plus 6 dots of leading)
DEFAULT_TAB_DOTS = 8 * fonts.FONT_A.width  # tab stops every 8 font A columns until ESC D says otherwise
HRI_GAP = 4  # dots between the bars and the HRI text


@dataclass(frozen=True)
class TextStyle:
    """Character settings that ride along with each character in the line buffer."""

    font: int = 0  # ESC M / ESC ! bit 0
    width: int = 1  # GS ! / ESC ! bit 5 — horizontal multiplier 1..8
    height: int = 1  # GS ! / ESC ! bit 4 — vertical multiplier 1..8
    bold: bool = False  # ESC E / ESC G / ESC ! bit 3
    underline: int = 0  # ESC - / ESC ! bit 7 — 0, 1 or 2 dots
    inverse: bool = False  # GS B
    upside_down: bool = False  # ESC {
    spacing: int = 0  # ESC SP — right-side spacing in dots (scaled by the width multiplier)
    wide: bool = False  # a Kanji character: a cell twice the font's width


CACHED_SPACING = 32  # cells with more right-side spacing than this are rare and big: built each time, not cached


def character_cell(typefaces: Typefaces, char: str, style: TextStyle) -> Mask:
    """The dots one character prints: glyph in its cell, spacing, multipliers, inverse and underline applied."""
    if style.width == 1 and style.height == 1 and style.spacing <= CACHED_SPACING:
        return _plain_cell(typefaces, char, style)
    return _build_cell(typefaces, char, style)


@lru_cache(maxsize=4096)  # bounded: at most 4096 cells of at most 24 x 80 dots (about 8 MB)
def _plain_cell(typefaces: Typefaces, char: str, style: TextStyle) -> Mask:
    return _build_cell(typefaces, char, style)


def _build_cell(typefaces: Typefaces, char: str, style: TextStyle) -> Mask:
    font = fonts.cell_font(style.font)
    cell_width = font.width * (fonts.KANJI_WIDTH_FACTOR if style.wide else 1)
    mask = np.zeros((font.height, cell_width + style.spacing), dtype=bool)
    mask[:, :cell_width] = fonts.glyph(typefaces, char, font, style.bold, cell_width)
    if style.upside_down:
        mask = mask[::-1, ::-1]
    mask = np.repeat(np.repeat(mask, style.height, axis=0), style.width, axis=1)
    if style.inverse:
        mask = ~mask
    if style.underline:
        mask[-style.underline :, :] = not style.inverse
    mask.flags.writeable = False
    return mask


@dataclass
class _Item:
    x: int  # dots from the start of the line
    mask: Mask
    text: str


@dataclass
class _Line:
    items: list[_Item] = field(default_factory=list)
    cursor: int = 0  # dots from the start of the line where the next character goes
    align: int = 0  # alignment in force when the line began (ESC a only acts at the beginning of a line)

    @property
    def width(self) -> int:
        return max((item.x + item.mask.shape[1] for item in self.items), default=0)

    def text(self) -> str:
        return "".join(item.text for item in sorted(self.items, key=lambda item: item.x)).rstrip()


@dataclass
class RasterBlock:
    """An image being received row by row (GS v 0): where it lands and how it is scaled."""

    x: int
    y: int
    width: int  # source dots
    scale_x: int
    scale_y: int


class Printer:
    def __init__(self, dot_width: int, typefaces: Typefaces) -> None:
        self.typefaces = typefaces
        self.page = Page(dot_width)
        self.transcript: list[str] = []
        self._line = _Line()
        self._merge_image: tuple[int, int, int] | None = None  # (transcript index, width, height) of the last image
        self.reset()

    def reset(self) -> None:
        """ESC @ — layout settings to power-on values; the unprinted line buffer is discarded."""
        self.align = 0
        self.left_margin = 0
        self.area_width = self.page.width
        self.line_spacing = DEFAULT_LINE_SPACING
        self.tab_stops: list[int] | None = None  # ESC D positions in dots; None = every DEFAULT_TAB_DOTS
        self._line = _Line(align=0)

    # --- geometry ---------------------------------------------------------------------------------------------
    @property
    def area(self) -> tuple[int, int]:
        """(left, width) of the printable area: GS L left margin and GS W width, kept on the paper and at least
        one font A cell wide, like a printer does."""
        left = min(self.left_margin, self.page.width - fonts.FONT_A.width)
        width = max(fonts.FONT_A.width, min(self.area_width, self.page.width - left))
        return left, width

    def _aligned_x(self, width: int, align: int) -> int:
        left, area_width = self.area
        if align == 1:
            return left + max(0, (area_width - width) // 2)
        if align == 2:
            return left + max(0, area_width - width)
        return left

    # --- transcript -------------------------------------------------------------------------------------------
    def note(self, marker: str) -> None:
        """A transcript line such as ``[pulse]`` that prints nothing."""
        self.transcript.append(marker)
        self._merge_image = None

    # --- the line buffer --------------------------------------------------------------------------------------
    def set_align(self, align: int) -> None:
        self.align = align
        if not self._line.items:
            self._line.align = align

    def add_character(self, char: str, style: TextStyle) -> None:
        mask = character_cell(self.typefaces, char, style)
        self._place(mask, char)

    def add_graphic(self, mask: Mask) -> None:
        """ESC * — a bit image column band, carried in the line like a very wide character."""
        self._place(mask, "")

    def _place(self, mask: Mask, text: str) -> None:
        _, area_width = self.area
        if self._line.items and self._line.cursor + mask.shape[1] > area_width:
            self.print_line(feed=self.line_spacing)  # the buffer is full: a printer prints it and goes on
        self._line.items.append(_Item(self._line.cursor, mask, text))
        self._line.cursor += mask.shape[1]

    def tab(self, space_width: int) -> None:
        """HT — to the next tab stop; ignored past the last one or the end of the area."""
        _, area_width = self.area
        stops = range(DEFAULT_TAB_DOTS, area_width, DEFAULT_TAB_DOTS) if self.tab_stops is None else self.tab_stops
        stop = next((s for s in stops if s > self._line.cursor), None)
        if stop is not None and stop <= area_width:
            self.move_to(stop, space_width)

    def move_to(self, x: int, space_width: int) -> None:
        """ESC $ / ESC \\ / HT — move the next character to ``x`` dots from the line start (ignored off the area)."""
        _, area_width = self.area
        if not 0 <= x <= area_width:
            return
        if x > self._line.cursor:
            gap = round((x - self._line.cursor) / max(1, space_width))
            self._line.items.append(_Item(self._line.cursor, np.zeros((0, x - self._line.cursor), bool), " " * gap))
        self._line.cursor = x

    @property
    def line_cursor(self) -> int:
        return self._line.cursor

    def print_line(self, feed: int) -> None:
        """Print the line buffer and feed ``feed`` dots (at least the height of what was printed)."""
        self._draw_line(self._line, self.page, self.transcript, feed)
        self._line = _Line(align=self.align)
        self._merge_image = None

    def _draw_line(self, line: _Line, page: Page, transcript: list[str], feed: int) -> None:
        height = max((item.mask.shape[0] for item in line.items), default=0)
        x0 = self._aligned_x(line.width, line.align)
        for item in line.items:  # characters of different heights share the bottom of the line (the baseline)
            page.ink(x0 + item.x, page.y + height - item.mask.shape[0], item.mask)
        transcript.append(line.text())
        page.feed(max(feed, height))

    def feed_lines(self, lines: int) -> None:
        """LF (n = 1) / ESC d n — print the buffer, then feed n lines; each line fed is a transcript line, the first
        one carrying the printed text."""
        blank_lines = lines
        if self._line.items:
            self.print_line(feed=self.line_spacing if lines else 0)
            blank_lines -= 1
        self._merge_image = None
        for _ in range(blank_lines):
            self.page.feed(self.line_spacing)
            self.transcript.append("")

    def feed_dots(self, dots: int) -> None:
        """ESC J n — print the buffer (if any), then feed ``dots``."""
        if self._line.items:
            self.print_line(feed=dots)
        else:
            self.page.feed(dots)
        self._merge_image = None

    def flush(self) -> None:
        """Print a pending line before a block (image, barcode, QR, cut) so nothing is lost or overprinted."""
        if self._line.items:
            self.print_line(feed=self.line_spacing)

    def finished(self) -> tuple[Page, list[str]]:
        """The page and transcript as they would look if the pending line were printed now (state unchanged)."""
        if not self._line.items:
            return self.page, self.transcript
        page, transcript = self.page.copy(), list(self.transcript)
        self._draw_line(self._line, page, transcript, self.line_spacing)
        return page, transcript

    # --- blocks -----------------------------------------------------------------------------------------------
    def begin_raster(self, width: int, height: int, scale_x: int, scale_y: int) -> RasterBlock:
        """GS v 0 — start an image; rows arrive through ``raster_row``, then ``end_raster``. Consecutive bands of
        the same width read as one image in the transcript (the renderer splits tall images into bands of at most
        255 rows)."""
        self.flush()
        shown_width, shown_height = width * scale_x, height * scale_y
        if self._merge_image is not None and self._merge_image[1] == shown_width:
            index, _, previous = self._merge_image
            shown_height += previous
            self.transcript[index] = f"[image {shown_width}x{shown_height}]"
        else:
            index = len(self.transcript)
            self.transcript.append(f"[image {shown_width}x{shown_height}]")
        self._merge_image = (index, shown_width, shown_height)
        return RasterBlock(self._aligned_x(width * scale_x, self.align), self.page.y, width, scale_x, scale_y)

    def end_raster(self, block: RasterBlock, height: int) -> None:
        """All rows are in: the paper moves past the image (a truncated image only occupies the rows it got)."""
        self.page.feed(block.y + height * block.scale_y - self.page.y)

    def raster_row(self, block: RasterBlock, row: int, data: bytes) -> None:
        """One row of a raster image (MSB first, 1 = black), clipped at the right edge of the print area."""
        left, area_width = self.area
        room = left + area_width - block.x
        visible = min(block.width, -(-room // block.scale_x))
        if visible <= 0:
            return
        bits = np.unpackbits(np.frombuffer(data[: (visible + 7) // 8], dtype=np.uint8))[:visible].astype(bool)
        if block.scale_x > 1:
            bits = np.repeat(bits, block.scale_x)
        self.page.ink(block.x, block.y + row * block.scale_y, np.tile(bits[:room], (block.scale_y, 1)))

    def draw_block(self, mask: Mask, marker: str) -> None:
        """A finished picture (QR symbol) placed by the alignment, then the paper moves past it."""
        self.flush()
        left, area_width = self.area
        x = self._aligned_x(mask.shape[1], self.align)
        self.page.ink(x, self.page.y, mask[:, : left + area_width - x])
        self.page.feed(mask.shape[0])
        self.note(marker)

    def draw_barcode(self, symbol: LinearSymbol, module: int, height: int, hri: int, hri_style: TextStyle) -> bool:
        """GS k — bars from the symbol's element widths; HRI text above (GS H 1), below (2) or both (3).
        Returns False (and prints nothing) when the symbol is wider than the print area, as a printer does."""
        narrow, wide = TWO_LEVEL_DOTS[module]
        widths = [(wide if e == 2 else narrow) if symbol.two_level else e * module for e in symbol.elements]
        bars = np.zeros(sum(widths), dtype=bool)
        x = 0
        for index, width in enumerate(widths):
            bars[x : x + width] = index % 2 == 0
            x += width
        _, area_width = self.area
        if bars.size > area_width:
            return False
        self.flush()
        x0 = self._aligned_x(bars.size, self.align)
        if hri in (1, 3):
            self._hri(symbol.hri, hri_style, x0, bars.size)
            self.page.feed(HRI_GAP)
        self.page.ink(x0, self.page.y, np.tile(bars, (height, 1)))
        self.page.feed(height)
        if hri in (2, 3):
            self.page.feed(HRI_GAP)
            self._hri(symbol.hri, hri_style, x0, bars.size)
        self.note(f"[barcode {symbol.symbology} {symbol.data}]")
        return True

    def _hri(self, text: str, style: TextStyle, x0: int, width: int) -> None:
        """HRI characters centred on the bars (they may overhang a narrow symbol, never the paper)."""
        cells = [character_cell(self.typefaces, char, style) for char in text]
        total = sum(cell.shape[1] for cell in cells)
        x = max(0, min(self.page.width - total, x0 + (width - total) // 2))
        for cell in cells:
            self.page.ink(x, self.page.y, cell)
            x += cell.shape[1]
        self.page.feed(max((cell.shape[0] for cell in cells), default=0))

    def cut(self, partial: bool, feed: int) -> None:
        """GS V — feed ``feed`` dots, then a dashed line across the paper."""
        self.flush()
        self.page.feed(feed + CUT_MARGIN)
        self.page.dashed_line(self.page.y)
        self.page.feed(2 + CUT_MARGIN)
        self.note("[cut partial]" if partial else "[cut]")
