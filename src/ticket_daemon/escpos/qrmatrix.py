"""QR Code model 2 module matrices (ISO/IEC 18004), for the raster QR of the renderer and the emulator's GS ( k.

Symbols are encoded with zxing-cpp. ASCII data is given as text, so it picks the densest mix of numeric,
alphanumeric and byte segments. Other data is stored as its UTF-8 bytes in byte mode without an ECI header, exactly
what a printer's native GS ( k does and what phone scanners read back as UTF-8: zxing-cpp writes that for bytes
with ``eci=0`` (as text it would re-encode to Latin-1 or Shift JIS; as bytes alone it would add ECI 899, binary).
"""

from __future__ import annotations

import math

import numpy as np
import zxingcpp
from numpy.typing import NDArray

Mask = NDArray[np.bool_]
MAX_VERSION = 40
FINDER_MODULES = 7
ALIGNMENT_MODULES = 5


class QrOverflow(ValueError):
    """The data does not fit a version 40 symbol at the asked error correction level."""


def qr_modules(payload: bytes, level: str, *, min_version: int = 1) -> Mask:
    """The smallest symbol of at least ``min_version`` holding ``payload`` at ``level`` (L/M/Q/H), without quiet
    zone (True = dark). Raises :class:`QrOverflow` when nothing fits, ValueError for data that cannot be encoded."""
    content: str | bytes = payload.decode("ascii") if payload.isascii() else payload
    matrix = _zxing(content, level, None)
    if version_of(matrix) < min_version:
        matrix = _zxing(content, level, min_version)
    return matrix


def _zxing(content: str | bytes, level: str, version: int | None) -> Mask:
    options: dict[str, object] = {"ec_level": level}
    if isinstance(content, bytes):
        options["eci"] = 0  # byte mode, no ECI header: the bytes as they are (UTF-8 text to a phone)
    if version is not None:
        options["version"] = version
    try:
        symbol = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.QRCode, **options)
    except ValueError as error:
        if "too long" in str(error).lower():
            raise QrOverflow(f"{len(content)} bytes do not fit a version {MAX_VERSION} symbol at {level}") from None
        raise
    image = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False))
    return np.asarray(image < 128, dtype=np.bool_)


def version_of_size(modules: int) -> int:
    return (modules - 17) // 4  # a version v symbol is 17 + 4v modules wide


def version_of(matrix: Mask) -> int:
    return version_of_size(matrix.shape[0])


def alignment_centres(version: int) -> list[int]:
    """Row/column centres of the alignment patterns (ISO/IEC 18004 annex E), as a formula rather than a table."""
    if version == 1:
        return []
    count = version // 7 + 2
    size = 17 + 4 * version
    step = 26 if version == 32 else math.ceil((version * 4 + 4) / (count * 2 - 2)) * 2
    return [6, *sorted(size - 7 - i * step for i in range(count - 1))]


def position_patterns(modules: int) -> Mask:
    """Where the finder and alignment patterns are: scanners locate a symbol by their exact square shape."""
    pattern = np.zeros((modules, modules), dtype=np.bool_)
    for top, left in ((0, 0), (0, modules - FINDER_MODULES), (modules - FINDER_MODULES, 0)):
        pattern[top : top + FINDER_MODULES, left : left + FINDER_MODULES] = True
    centres = alignment_centres(version_of_size(modules))
    last = centres[-1] if centres else -1
    for row in centres:
        for column in centres:
            if (row, column) in ((6, 6), (6, last), (last, 6)):  # those places hold finder patterns
                continue
            half = ALIGNMENT_MODULES // 2
            pattern[row - half : row + half + 1, column - half : column + half + 1] = True
    return pattern
