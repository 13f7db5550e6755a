"""Text no code page can print, drawn as bitmaps (the last fallback of docs/document.md "Text and code pages").

Glyphs come from the main face of the :class:`~.typefaces.Typefaces` handed in (DejaVu Sans Mono on a daemon),
else Pillow's built-in font; a character that face lacks (CJK, emoji, rare symbols) is drawn with the first fallback
face that has it, so it prints as itself rather than as a box. A line is as tall as the printer's font A cell
(24 dots at 203 dpi) times the text's height multiplier, so the image sits among the text.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow and numpy are imported when text is first drawn: most tickets never need them
    from .raster import Bitmap
    from .typefaces import Font, Typefaces

BASE_DPI = 203  # the resolution font cell sizes are given at
CELL_HEIGHT_203 = 24  # font A is 12x24 dots at 203 dpi


def text_height(height_multiplier: int, dpi: int) -> int:
    """Dots of one text line: the font A cell height times ``height_multiplier``, scaled to ``dpi``."""
    return max(1, round(CELL_HEIGHT_203 * height_multiplier * dpi / BASE_DPI))


def text_bitmaps(
    text: str, typefaces: Typefaces, *, height: int, width_multiplier: int = 1, max_width: int
) -> list[Bitmap]:
    """``text`` drawn black on white, ``height`` dots tall, stretched ``width_multiplier`` times, split into as
    many lines as needed so that none is wider than ``max_width`` dots."""
    from PIL import Image, ImageDraw

    from .raster import bitmap_from_image

    size = _pixel_size(height)
    font = typefaces.face(size)
    top = (height - _line_extent(font)) // 2
    bitmaps: list[Bitmap] = []
    for line in _lines(text, typefaces, size, max_width // max(1, width_multiplier)):
        fonts = [typefaces.face_for(char, size) for char in line]
        advances = [glyph_font.getlength(char) for char, glyph_font in zip(line, fonts, strict=True)]
        width = max(1, math.ceil(sum(advances)))
        canvas = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(canvas)
        x = 0.0
        for char, advance, glyph_font in zip(line, advances, fonts, strict=True):
            draw.text((x, top), char, fill=0, font=glyph_font)
            x += advance
        if width_multiplier > 1:
            canvas = canvas.resize((width * width_multiplier, height), Image.Resampling.NEAREST)
        if canvas.width > max_width:
            canvas = canvas.crop((0, 0, max_width, height))
        mono = canvas.point(lambda value: 255 if value >= 128 else 0).convert("1", dither=Image.Dither.NONE)
        bitmaps.append(bitmap_from_image(mono))
    return bitmaps


def _lines(text: str, typefaces: Typefaces, size: int, max_width: int) -> list[str]:
    """Greedy split by glyph advances; at least one character per line, so the loop always ends."""
    lines: list[str] = []
    current = ""
    used = 0.0
    for char in text:
        advance = typefaces.face_for(char, size).getlength(char)
        if current and used + advance > max_width:
            lines.append(current)
            current, used = "", 0.0
        current += char
        used += advance
    if current:
        lines.append(current)
    return lines


def _line_extent(font: Font) -> int:
    """Dots from the top of the tallest glyph to the bottom of the lowest descender."""
    from PIL import ImageFont

    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return int(ascent + descent)
    return int(font.getbbox("Ay")[3])


def _pixel_size(height: int) -> int:
    # DejaVu's ascent + descent is about 1.17 em; 5/6 of the line keeps every glyph inside it.
    return max(6, height * 5 // 6)
