"""Printer fonts as fixed cells of dots: font A 12x24, font B 9x17 (203 dpi), glyphs centred in their cell.

Glyphs come from the typefaces handed in (DejaVu Sans Mono on a daemon: ``resources.py``), else from
Pillow's built-in font; the cell geometry is the printer's either way, so layout is exact. Glyphs are thresholded
to 1 bit because a thermal head has no grey.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageChops, ImageDraw, ImageFont

from ticket_daemon.escpos.typefaces import Typefaces

if TYPE_CHECKING:
    from ticket_daemon.escpos.typefaces import Font

INK_THRESHOLD = 128  # grey levels below this become a printed dot

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class CellFont:
    width: int  # dots
    height: int  # dots
    point_size: int  # TrueType size whose monospace advance fills the cell width


# ESC M n — 0 font A, 1 font B (font C and beyond print as B here).
FONT_A = CellFont(width=12, height=24, point_size=20)
FONT_B = CellFont(width=9, height=17, point_size=14)
# FS & — a Kanji character fills a cell twice the font's width (24x24 in font A).
KANJI_WIDTH_FACTOR = 2


def cell_font(number: int) -> CellFont:
    return FONT_A if number == 0 else FONT_B


# Tallest and deepest characters a receipt prints: accented capitals and descenders must both fit in the cell.
_PROBE = "ÑÁÅÇ|gjÉ"


@lru_cache(maxsize=16)  # bounded: (typefaces, font, bold); a process has one or two sets of typefaces
def _fitted(typefaces: Typefaces, font: CellFont, bold: bool) -> tuple[Font, float]:
    """The largest typeface (up to the font's size) whose probe characters fit the cell height, and the baseline
    that centres them vertically."""
    size = font.point_size
    while True:
        typeface = typefaces.face(size, bold=bold)
        if not isinstance(typeface, ImageFont.FreeTypeFont):
            return typeface, font.height / 2
        _, top, _, bottom = typeface.getbbox(_PROBE, anchor="ls")
        if bottom - top <= font.height or size <= 6:
            return typeface, (font.height - (bottom - top)) / 2 - top
        size -= 1


@lru_cache(maxsize=4096)  # bounded: a receipt uses a few hundred distinct (char, font, bold) glyphs
def glyph(typefaces: Typefaces, char: str, font: CellFont, bold: bool, cell_width: int) -> Mask:
    """Read-only mask (height x cell_width, True = dot) of ``char`` centred in its cell.

    A glyph wider than the cell (a proportional fallback font's W) is squeezed into it rather than cut off.
    """
    room = 2 * cell_width  # draw on a wider canvas first, so an overhanging glyph can be measured
    canvas = Image.new("L", (room, font.height), 255)
    if char.strip():
        draw = ImageDraw.Draw(canvas)
        typeface, baseline = _fitted(typefaces, font, bold)
        if isinstance(typeface, ImageFont.FreeTypeFont):
            draw.text((room / 2, baseline), char, fill=0, font=typeface, anchor="ms")
        else:  # a bitmap font has no anchors: place its box in the middle by hand
            left, top, right, bottom = draw.textbbox((0, 0), char, font=typeface)
            draw.text((room / 2 - (left + right) / 2, baseline - (top + bottom) / 2), char, fill=0, font=typeface)
    box = ImageChops.invert(canvas).getbbox()
    if box is not None and box[2] - box[0] > cell_width:
        canvas = canvas.crop((box[0], 0, box[2], font.height)).resize((cell_width, font.height), Image.Resampling.BOX)
    else:
        offset = (room - cell_width) // 2
        if box is not None:  # keep the whole glyph in the cell even if its bearings are lopsided
            offset = min(max(offset, box[2] - cell_width), box[0])
        canvas = canvas.crop((offset, 0, offset + cell_width, font.height))
    mask = np.asarray(canvas) < INK_THRESHOLD
    mask.flags.writeable = False
    return mask
