"""Text no code page can print, drawn as bitmaps (the last fallback of DOCUMENT.md "Text encoding").

Glyphs come from DejaVu Sans Mono when the system has it, else Pillow's built-in font; a character that font
lacks (CJK, emoji, rare symbols) is drawn with the first installed fallback font that has it (WenQuanYi, Noto CJK,
the Windows and macOS system fonts), so it prints as itself rather than as a box. A line is as tall as the
printer's font A cell (24 dots at 203 dpi) times the text's height multiplier, so the image sits among the text.
Reading font files is the only I/O here.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .profiles import BASE_DPI
from .raster import Bitmap, bitmap_from_image

FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
# Wide-coverage fonts tried, in order, for characters the main font lacks (Debian, Windows, macOS locations).
FALLBACK_FONT_FILES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("C:/Windows/Fonts/msyh.ttc"),
    Path("C:/Windows/Fonts/seguisym.ttf"),
    Path("C:/Windows/Fonts/arialuni.ttf"),
    Path("/System/Library/Fonts/PingFang.ttc"),
    Path("/Library/Fonts/Arial Unicode.ttf"),
)
CELL_HEIGHT_203 = 24  # font A is 12x24 dots at 203 dpi

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def text_height(height_multiplier: int, dpi: int) -> int:
    """Dots of one text line: the font A cell height times ``height_multiplier``, scaled to ``dpi``."""
    return max(1, round(CELL_HEIGHT_203 * height_multiplier * dpi / BASE_DPI))


def text_bitmaps(text: str, *, height: int, width_multiplier: int = 1, max_width: int) -> list[Bitmap]:
    """``text`` drawn black on white, ``height`` dots tall, stretched ``width_multiplier`` times, split into as
    many lines as needed so that none is wider than ``max_width`` dots."""
    font = _font(_pixel_size(height))
    top = (height - _line_extent(font)) // 2
    bitmaps: list[Bitmap] = []
    for line in _lines(text, font, max_width // max(1, width_multiplier)):
        fonts = [_font_for(char, _pixel_size(height)) for char in line]
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


def _lines(text: str, font: Font, max_width: int) -> list[str]:
    """Greedy split by glyph advances; at least one character per line, so the loop always ends."""
    lines: list[str] = []
    current = ""
    used = 0.0
    for char in text:
        advance = _font_for(char, _pixel_size_of(font)).getlength(char)
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
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return int(ascent + descent)
    return int(font.getbbox("Ay")[3])


def _pixel_size(height: int) -> int:
    # DejaVu's ascent + descent is about 1.17 em; 5/6 of the line keeps every glyph inside it.
    return max(6, height * 5 // 6)


@lru_cache(maxsize=16)
def _font(pixel_size: int) -> Font:
    """The font at ``pixel_size``, loaded once per size (bounded cache)."""
    if FONT_FILE.is_file():
        return ImageFont.truetype(str(FONT_FILE), pixel_size)
    return ImageFont.load_default(size=pixel_size)


def _pixel_size_of(font: Font) -> int:
    return int(getattr(font, "size", 0)) or 12


@lru_cache(maxsize=16)
def _fallback_fonts(pixel_size: int) -> tuple[ImageFont.FreeTypeFont, ...]:
    return tuple(ImageFont.truetype(str(path), pixel_size) for path in FALLBACK_FONT_FILES if path.is_file())


@lru_cache(maxsize=4096)
def _font_for(char: str, pixel_size: int) -> Font:
    """The main font when it has a glyph for ``char``, else the first fallback font that does."""
    main = _font(pixel_size)
    if not isinstance(main, ImageFont.FreeTypeFont) or char.isspace() or _has_glyph(main, char):
        return main
    for candidate in _fallback_fonts(pixel_size):
        if _has_glyph(candidate, char):
            return candidate
    return main


def _has_glyph(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """A missing glyph draws the font's .notdef box, the same as a noncharacter (U+FFFF) does."""
    return _mask_bytes(font, char) != _mask_bytes(font, "\uffff")


def _mask_bytes(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)
