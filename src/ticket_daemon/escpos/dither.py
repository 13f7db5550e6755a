"""Luma → black/white dots (docs/document.md "image": threshold, or Atkinson error diffusion).

Atkinson pushes 1/8 of each dot's quantisation error to (x+1, y), (x+2, y), (x-1, y+1), (x, y+1), (x+1, y+1) and
(x, y+2); the remaining 2/8 are dropped, which keeps highlights and shadows clean on thermal paper. Errors are
whole numbers and each share is the error divided by 8 rounded toward zero, so the result does not depend on the
order in which the dots are visited; that is what lets the fast version below be checked dot for dot against a
plain row-by-row loop.

Speed: a row-by-row loop in Python takes seconds per photo. Every dot that sends error to (x, y) has a smaller
``t = x + 2y``, so all dots with the same ``t`` (a "wavefront") are independent and are processed together as one
numpy vector. The image is skewed into ``T[t, y] = luma[y, t - 2y]`` so each wavefront is a contiguous slice.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided
from numpy.typing import NDArray

Luma = NDArray[np.uint8]
BlackMask = NDArray[np.bool_]

WHITE = 255
# Rows dithered at once. The skewed buffer grows with (width + 2*rows) * rows, so tall images are done in strips
# whose last two rows of error are carried into the next strip (error never travels further than y+2).
STRIP_ROWS = 512
# Cells around the image in the skewed buffer that absorb error sent past an edge, so none wraps onto another row:
# one column left of x=0 (for x-1), two right of the last column (x+1, x+2) and two rows below (y+1, y+2).
_LEFT = 1
_RIGHT = 2
_BELOW = 2


def threshold(luma: Luma, level: int) -> BlackMask:
    """docs/document.md "image": black where luma < threshold."""
    return np.asarray(luma) < level


def atkinson(luma: Luma, level: int) -> BlackMask:
    """Atkinson error diffusion of a ``(height, width)`` luma array; a dot is black where its value < ``level``."""
    height, width = luma.shape
    black = np.zeros((height, width), dtype=np.bool_)
    if height == 0 or width == 0:
        return black
    carry = np.zeros((_BELOW, width), dtype=np.int16)
    for top in range(0, height, STRIP_ROWS):
        strip = luma[top : top + STRIP_ROWS].astype(np.int16)
        strip[: min(_BELOW, strip.shape[0])] += carry[: strip.shape[0]]
        black[top : top + strip.shape[0]], carry = _atkinson_strip(strip, level)
    return black


def _atkinson_strip(values: NDArray[np.int16], level: int) -> tuple[BlackMask, NDArray[np.int16]]:
    """Diffuse one strip; returns its black dots and the error it sends into the two rows below it."""
    height, width = values.shape
    waves = _LEFT + width + _RIGHT + 2 * (height + _BELOW)
    skewed = np.zeros((waves, height + _BELOW), dtype=np.int16)
    view = _unskewed_view(skewed, height + _BELOW, width)
    view[:height] = values
    row = skewed.strides[0] // skewed.itemsize
    flat = skewed.reshape(-1)
    quantised = np.empty(height, dtype=np.int16)
    share = np.empty(height, dtype=np.int16)
    for t in range(width + 2 * (height - 1)):
        # Rows whose dot (x = t - 2y) lies inside the image on this wavefront: a contiguous range of y.
        low = max(0, (t - width + 2) // 2)
        high = min(height - 1, t // 2) + 1
        n = high - low
        at = (t + _LEFT) * row + low
        value = flat[at : at + n]
        q = quantised[:n]
        e = share[:n]
        # Quantise: black (0) if value < level, else white (255); the error is value - quantised.
        np.less(value, level, out=e)  # reuse as a 0/1 flag
        np.multiply(np.subtract(1, e, out=q), WHITE, out=q)
        np.subtract(value, q, out=e)
        value[:] = q
        # 1/8 of the error rounded toward zero (so shares do not depend on visiting order).
        np.floor_divide(np.abs(e), 8, out=q)
        np.copysign(q, e, out=q, casting="unsafe")
        # (x+1, y) and (x+2, y) are on wavefronts t+1 and t+2, same y.
        flat[at + row : at + row + n] += q
        flat[at + 2 * row : at + 2 * row + n] += q
        # (x-1, y+1), (x, y+1), (x+1, y+1) are on wavefronts t+1, t+2, t+3 at y+1.
        flat[at + row + 1 : at + row + 1 + n] += q
        flat[at + 2 * row + 1 : at + 2 * row + 1 + n] += q
        flat[at + 3 * row + 1 : at + 3 * row + 1 + n] += q
        # (x, y+2) is on wavefront t+4 at y+2.
        flat[at + 4 * row + 2 : at + 4 * row + 2 + n] += q
    black = view[:height] == 0
    return black, view[height:].copy()


def _unskewed_view(skewed: NDArray[np.int16], rows: int, width: int) -> NDArray[np.int16]:
    """A ``(rows, width)`` view of ``skewed`` where ``view[y, x]`` is ``skewed[x + 2y + _LEFT, y]``."""
    wave, cell = skewed.strides
    base = skewed[_LEFT:]
    return as_strided(base, shape=(rows, width), strides=(2 * wave + cell, wave), writeable=True)


def dither(luma: Luma, method: str, level: int) -> BlackMask:
    """``method`` is "atkinson" or "threshold" (docs/document.md "image" ``dithering``)."""
    if method == "atkinson":
        return atkinson(luma, level)
    return threshold(luma, level)
