"""1-bit bitmaps and the raster command that prints them (docs/document.md "image": ``GS v 0``, MSB first, 1 = black).

Images and raster QR codes both end here. Alignment is done by padding the bitmap on the left with white dots
instead of ``ESC a``, because many printers ignore ``ESC a`` for raster images; the renderer leaves alignment at
left between commands, so the padding is measured from the left edge of the printable area.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ..document.base import Align
from .commands import raster_image

# docs/document.md "image": raster bands of at most 255 rows, safe everywhere (some printers cap yH at 0 or buffer a
# band).
MAX_BAND_ROWS = 255
# "L" images: a dot is black when its luma is below this (the midpoint, like Pillow's own 1-bit conversion).
LUMA_BLACK_BELOW = 128

BlackMask = NDArray[np.bool_]
PackedRows = NDArray[np.uint8]  # (height, bytes per row), MSB first, 1 = black


@dataclass(frozen=True, slots=True)
class Bitmap:
    """A 1-bit image: ``rows`` holds ``height`` rows of ``ceil(width / 8)`` bytes, MSB first, 1 = black."""

    width: int
    height: int
    rows: bytes

    @property
    def row_bytes(self) -> int:
        return (self.width + 7) // 8

    def __post_init__(self) -> None:
        if self.width < 0 or self.height < 0 or len(self.rows) != self.row_bytes * self.height:
            raise ValueError(f"{self.width}x{self.height} bitmap needs {self.row_bytes * self.height} bytes")


def bitmap_from_mask(black: BlackMask) -> Bitmap:
    """A bitmap from a ``(height, width)`` boolean array where True is a black dot."""
    height, width = black.shape
    packed = np.packbits(black, axis=1) if width else np.zeros((height, 0), dtype=np.uint8)
    return Bitmap(width=width, height=height, rows=packed.tobytes())


def mask_from_bitmap(bitmap: Bitmap) -> BlackMask:
    """The ``(height, width)`` boolean array of a bitmap (True = black)."""
    if bitmap.width == 0 or bitmap.height == 0:
        return np.zeros((bitmap.height, bitmap.width), dtype=np.bool_)
    packed = np.frombuffer(bitmap.rows, dtype=np.uint8).reshape(bitmap.height, bitmap.row_bytes)
    return np.unpackbits(packed, axis=1, count=bitmap.width).astype(np.bool_)


def bitmap_from_image(image: Image.Image) -> Bitmap:
    """A bitmap from a mode "1" image, or any other mode through its luma (black below 128)."""
    if image.mode == "1":
        white = np.asarray(image, dtype=np.bool_)
        return bitmap_from_mask(~white)
    luma = np.asarray(image if image.mode == "L" else image.convert("L"), dtype=np.uint8)
    return bitmap_from_mask(luma < LUMA_BLACK_BELOW)


def image_from_bitmap(bitmap: Bitmap, *, margin: int = 0) -> Image.Image:
    """The bitmap as an "L" image (black 0, white 255) with ``margin`` white dots around it (previews, tests)."""
    black = np.pad(mask_from_bitmap(bitmap), margin, constant_values=False)
    luma = np.where(black, 0, 255).astype(np.uint8)
    return Image.fromarray(luma, mode="L")


def left_padding(width: int, align: Align, dot_width: int) -> int:
    """White dots placed left of a ``width``-dot bitmap so it sits at ``align`` on a ``dot_width`` line."""
    room = max(0, dot_width - width)
    if align is Align.CENTER:
        return room // 2
    if align is Align.RIGHT:
        return room
    return 0


def raster_bytes(bitmap: Bitmap, align: Align, dot_width: int) -> bytes:
    """``GS v 0`` commands printing ``bitmap`` at ``align``, in bands of at most 255 rows.

    The printed row is never wider than ``dot_width``: a wider bitmap keeps its left ``dot_width`` dots (callers
    scale images to the paper first, so this only guards against a printer wrapping the excess onto a new line).
    An empty bitmap prints nothing.
    """
    if len(bitmap.rows) <= _REMEMBERED_BITMAP_BYTES:
        return _remembered_raster(bitmap, align, dot_width)
    return _raster(bitmap, align, dot_width)


# The same logo is printed on every receipt, at the same place: the raster of small bitmaps is remembered (a hit
# hashes the bitmap's bytes once per bitmap object and compares them in full). At most 16 x (64 KiB + its raster).
_REMEMBERED_BITMAP_BYTES = 64 * 1024


@lru_cache(maxsize=16)
def _remembered_raster(bitmap: Bitmap, align: Align, dot_width: int) -> bytes:
    return _raster(bitmap, align, dot_width)


def _raster(bitmap: Bitmap, align: Align, dot_width: int) -> bytes:
    width = min(bitmap.width, dot_width)
    if width <= 0 or bitmap.height == 0:
        return b""
    return banded_raster(placed_rows(bitmap, width, left_padding(width, align, dot_width)))


def placed_rows(bitmap: Bitmap, width: int, pad: int) -> PackedRows:
    """The left ``width`` dots of each row of ``bitmap`` after ``pad`` white dots, packed (MSB first), worked on
    the packed bytes: whole bytes of padding are a column offset, the rest a shift of 1 to 7 bits within bytes."""
    used = (width + 7) // 8
    rows = np.frombuffer(bitmap.rows, dtype=np.uint8).reshape(bitmap.height, bitmap.row_bytes)[:, :used]
    if width % 8:  # dots past ``width`` (row padding, or dots cut at the paper's edge) print white
        rows = rows.copy()
        rows[:, -1] &= (0xFF << (8 - width % 8)) & 0xFF
    offset, shift = divmod(pad, 8)
    placed = np.zeros((bitmap.height, (pad + width + 7) // 8), dtype=np.uint8)
    if not shift:
        placed[:, offset : offset + used] = rows
        return placed
    placed[:, offset : offset + used] = rows >> shift
    # The low ``shift`` bits of each byte continue at the top of the next byte; past the last byte they are white.
    spilled = min(used, placed.shape[1] - offset - 1)
    placed[:, offset + 1 : offset + 1 + spilled] |= (rows[:, :spilled] << (8 - shift)).astype(np.uint8)
    return placed


def banded_raster(rows: PackedRows) -> bytes:
    """``GS v 0`` commands printing ``rows`` (packed, already placed on the line), in bands of at most 255 rows."""
    height, width_bytes = rows.shape
    out = bytearray()
    for top in range(0, height, MAX_BAND_ROWS):
        band = rows[top : top + MAX_BAND_ROWS]
        out += raster_image(width_bytes, band.shape[0], band.tobytes())  # GS v 0 — raster bit image
    return bytes(out)
