"""The paper: a strip of dots as wide as the print head, a feed position, and the drawing primitives on it."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
from PIL import Image

# Longest strip drawn: 20000 dots is about 2.5 m of paper at 203 dpi, far beyond any receipt, and bounds the
# picture to width x 20000 bytes (11 MB at 576 dots) whatever sizes a stream declares. Beyond it nothing is drawn.
MAX_PAGE_DOTS = 20_000
_INITIAL_ROWS = 1024
WHITE = 255
BLACK = 0
CUT_MARGIN = 6  # dots fed before and after the dashed cut line
CUT_DASH = 12  # dots: dash and gap length of the cut line

Mask = npt.NDArray[np.bool_]


class Page:
    def __init__(self, width: int) -> None:
        self.width = width
        self.y = 0  # feed position: the top of the next thing printed
        self._bottom = 0  # one past the lowest row drawn
        self._canvas: npt.NDArray[np.uint8] = np.full((_INITIAL_ROWS, width), WHITE, dtype=np.uint8)
        self.clipped = False  # something fell beyond MAX_PAGE_DOTS

    def copy(self) -> Page:
        clone = Page.__new__(Page)
        clone.width, clone.y, clone._bottom, clone.clipped = self.width, self.y, self._bottom, self.clipped
        clone._canvas = self._canvas.copy()
        return clone

    @property
    def height(self) -> int:
        """Rows of paper used so far (at least 1, so the picture is never empty)."""
        return max(1, self.y, self._bottom)

    def feed(self, dots: int) -> None:
        self.y = min(MAX_PAGE_DOTS, self.y + max(0, dots))

    def _rows(self, top: int, rows: int) -> tuple[int, int]:
        """Clip rows [top, top+rows) to the page, growing the canvas to hold them."""
        start, end = max(0, top), min(MAX_PAGE_DOTS, top + rows)
        if top + rows > MAX_PAGE_DOTS:
            self.clipped = True
        self._grow(end)
        if end > start:
            self._bottom = max(self._bottom, end)
        return start, end

    def _grow(self, rows: int) -> None:
        if rows > self._canvas.shape[0]:
            grown = min(MAX_PAGE_DOTS, max(rows, 2 * self._canvas.shape[0]))
            extra = np.full((grown - self._canvas.shape[0], self.width), WHITE, dtype=np.uint8)
            self._canvas = np.concatenate((self._canvas, extra))

    def ink(self, x: int, y: int, mask: Mask) -> None:
        """Print a dot wherever ``mask`` is True, its top-left corner at (x, y); what falls off the paper is lost."""
        rows, cols = mask.shape
        top, bottom = self._rows(y, rows)
        left, right = max(0, x), min(self.width, x + cols)
        if top >= bottom or left >= right:
            return
        window = mask[top - y : bottom - y, left - x : right - x]
        self._canvas[top:bottom, left:right][window] = BLACK

    def dashed_line(self, y: int, thickness: int = 2) -> None:
        """The cut mark: a dashed rule across the whole width."""
        pattern = (np.arange(self.width) // CUT_DASH) % 2 == 0
        self.ink(0, y, np.tile(pattern, (thickness, 1)))

    def image(self) -> Image.Image:
        self._grow(self.height)
        return Image.fromarray(self._canvas[: self.height].copy())

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.image().convert("1").save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()
