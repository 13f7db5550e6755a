"""The fonts the core draws text with, handed in as bytes by the edge that calls it.

The core never looks for font files: the caller reads them (``resources.py`` finds DejaVu Sans Mono
and a CJK font on the machine) and passes a :class:`Typefaces`. So the same document and the same fonts give the same
bytes and the same preview on any machine. Without fonts, Pillow's built-in font is used (it ships with Pillow,
so it is the same everywhere too, only plainer).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow is imported when a face is first loaded: plain text never draws one
    from PIL import ImageFont

    Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: the memo caches below key on the instance
class Typefaces:
    """Font files as bytes: a monospace regular and bold face (DejaVu Sans Mono) for printer characters and text
    drawn as an image, and wide-coverage fallbacks (CJK, symbols) tried in order for characters the main face
    lacks. A ``.ttc`` collection is read at its first face. With ``may_draw`` false (:data:`NO_DRAWING`), text that
    no code page prints raises :class:`TextNeedsDrawing` instead of being drawn: a render that must stay cheap
    (on an event loop) hands such a document on to one that may take milliseconds."""

    regular: bytes | None = None
    bold: bytes | None = None
    fallbacks: tuple[bytes, ...] = ()
    may_draw: bool = True

    def face(self, size: int, *, bold: bool = False) -> Font:
        """The main face at ``size`` pixels (bold if asked and given), else Pillow's built-in font."""
        return _face(self, size, bold)

    def face_for(self, char: str, size: int) -> Font:
        """The main face when it has a glyph for ``char``, else the first fallback face that does."""
        return _face_for(self, char, size)


BUILT_IN = Typefaces()  # no font files: Pillow's own font
NO_DRAWING = Typefaces(may_draw=False)


class TextNeedsDrawing(Exception):
    """Text that no code page of the printer prints had to be drawn, with typefaces that may not draw."""


def _load(data: bytes, size: int) -> ImageFont.FreeTypeFont | None:
    from PIL import ImageFont

    try:
        return ImageFont.truetype(io.BytesIO(data), size)
    except OSError:  # not a font FreeType reads: treated as not given
        return None


# Bounded memo caches keyed by (typefaces, …): loading a face parses the whole file, so it is done once per size.
@lru_cache(maxsize=32)
def _face(typefaces: Typefaces, size: int, bold: bool) -> Font:
    for data in (typefaces.bold, typefaces.regular) if bold else (typefaces.regular,):
        if data is not None:
            loaded = _load(data, size)
            if loaded is not None:
                return loaded
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


@lru_cache(maxsize=16)
def _fallback_faces(typefaces: Typefaces, size: int) -> tuple[ImageFont.FreeTypeFont, ...]:
    loaded = (_load(data, size) for data in typefaces.fallbacks)
    return tuple(face for face in loaded if face is not None)


@lru_cache(maxsize=4096)
def _face_for(typefaces: Typefaces, char: str, size: int) -> Font:
    from PIL import ImageFont

    main = _face(typefaces, size, False)
    if not isinstance(main, ImageFont.FreeTypeFont) or char.isspace() or has_glyph(main, char):
        return main
    for candidate in _fallback_faces(typefaces, size):
        if has_glyph(candidate, char):
            return candidate
    return main


def has_glyph(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """A missing glyph draws the font's .notdef box, the same as a noncharacter (U+FFFF) does."""
    return _mask_bytes(font, char) != _mask_bytes(font, "\uffff")


def _mask_bytes(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)
