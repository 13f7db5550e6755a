"""The ``qr`` command's symbol (docs/document.md "qr"); ``human_text`` below it is printed by the renderer.

A printer with native QR gets ``GS ( k`` and draws the symbol itself. Otherwise, or when a logo or round modules
are asked for, the symbol is drawn here (``qrmatrix``, with zxing-cpp) and sent as a raster
image. Either way the data is sent as
UTF-8, and it is checked here that it fits a version 40 symbol at the chosen error correction level. Data that would
put a printer command on the wire inside ``GS ( k`` is drawn as an image too, whatever the raw policy.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ..document.errors import Category, DocumentError
from ..document.model import Align, QrData
from ..document.payloads import decode_base64_payload
from .commands import (
    DLE,
    ESC,
    FS,
    GS,
    QR_PRINT,
    QR_SELECT_MODEL_2,
    align,
    qr_error_level,
    qr_module_size,
    qr_store,
)
from .commandset import find_realtime
from .dither import atkinson
from .image import decode_luma, open_image, upright_size
from .profiles import PrinterProfile
from .qrmatrix import QrOverflow, position_patterns, qr_modules
from .raster import Bitmap, banded_raster, bitmap_from_mask, left_padding, raster_bytes

# docs/document.md "qr": module size = floor(width / (modules + 8)) clamped to 3..16 (8 = two 4-module quiet zones).
QUIET_ZONE_MODULES = 4
MIN_MODULE_DOTS = 3
MAX_MODULE_DOTS = 16
# A logo hides the modules under it; level H restores up to 30% of the codewords, so the logo (with its white
# box) covers at most ~20% of the symbol, leaving headroom for print and scan defects.
LOGO_MAX_AREA = 0.20
LOGO_LEVEL = "H"
# Versions 1-3 have so few codewords that a box of that size can exceed what H restores (seen in scan tests), so
# a symbol with a logo is at least version 5 (37 modules), one version of headroom over the smallest that scanned.
LOGO_MIN_VERSION = 5
# ISO/IEC 18004 table 7: what a version 40 symbol holds, per encoding mode and error correction level.
VERSION_40_CAPACITY: dict[str, dict[str, int]] = {
    "numeric": {"L": 7089, "M": 5596, "Q": 3993, "H": 3057},
    "alphanumeric": {"L": 4296, "M": 3391, "Q": 2420, "H": 1852},
    "byte": {"L": 2953, "M": 2331, "Q": 1663, "H": 1273},
}
_CAPACITY_UNITS = {"numeric": "digits", "alphanumeric": "characters", "byte": "bytes"}
_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
_ALIGN_CODES = {Align.LEFT: 0, Align.CENTER: 1, Align.RIGHT: 2}  # ESC a n
COMMAND_BYTES = frozenset((DLE, ESC, FS, GS))
Mask = NDArray[np.bool_]


def qr_error(sentence: str) -> DocumentError:
    """A ``QR: …`` error; the renderer adds the command index."""
    return DocumentError(sentence, category=Category.QR)


def _mode_for(payload: bytes) -> str:
    """The encoding mode whose version 40 capacity applies to ``payload`` (for the refusal's numbers)."""
    if payload.isdigit():  # bytes.isdigit() is true for ASCII digits only
        return "numeric"
    if payload.isascii() and set(payload.decode("ascii")) <= _ALPHANUMERIC:
        return "alphanumeric"
    return "byte"


def _symbol(data: str, correction: str, *, min_version: int = 1) -> Mask:
    """The modules (True = dark, no quiet zone) of the smallest model 2 symbol, of at least ``min_version``,
    holding ``data`` (UTF-8) at ``correction``; QR error if none does."""
    payload = data.encode("utf-8")
    try:
        return qr_modules(payload, correction, min_version=min_version)
    except QrOverflow:
        # docs/document.md "qr": data must fit version 40 at the chosen level.
        mode = _mode_for(payload)
        limit = VERSION_40_CAPACITY[mode][correction]
        raise qr_error(
            f"data is {len(payload)} bytes, too long for a QR code at error correction {correction} "
            f"(at most {limit} {_CAPACITY_UNITS[mode]})"
        ) from None
    except ValueError as exc:
        raise qr_error(f"data cannot be encoded as a QR code ({exc})") from None


def qr_matrix(data: str, correction: str) -> list[list[bool]]:
    """The symbol's modules without quiet zone, row by row (True = dark)."""
    return [[bool(module) for module in row] for row in _symbol(data, correction)]


def module_size(modules: int, pixel_width: int, dot_width: int) -> int:
    """docs/document.md "qr": floor(width / (modules + 8)) clamped to 3..16, with width capped at the dot width."""
    width = min(pixel_width, dot_width)
    return max(MIN_MODULE_DOTS, min(MAX_MODULE_DOTS, width // (modules + 2 * QUIET_ZONE_MODULES)))


def qr_bytes(data: QrData, profile: PrinterProfile) -> bytes:
    """The symbol of a ``qr`` command, aligned, ending with alignment back at left. ``human_text`` is not included.

    A ``logo`` forces error correction H, whatever ``correction`` says, so the modules it hides can be restored.
    """
    if data.logo or data.circle_shape:
        return raster_bytes(qr_bitmap(data, profile.dot_width), data.align, profile.dot_width)
    symbol = _symbol(data.data, data.correction)  # refuses data that does not fit before the printer sees it
    modules = symbol.shape[0]
    if profile.has_qr:
        size = module_size(modules, data.pixel_width, profile.dot_width)
        # The native module size is at least 3 dots: a large symbol may not fit the head; the raster path shrinks it.
        if size * modules <= profile.dot_width:
            native = native_qr_bytes(data, size)
            if not carries_commands(data.data, native):
                return native
    raster = square_qr_raster(
        symbol, raster_module_size(modules, data.pixel_width, profile.dot_width), data.align, profile.dot_width
    )
    if find_realtime(raster) >= 0:  # only with 1-dot modules: with wider ones no byte is an isolated dot (0x10)
        raise qr_error("the symbol, drawn for this paper, would carry a printer real-time command")
    return raster


def carries_commands(text: str, native: bytes) -> bool:
    """docs/document.md "qr": whether ``GS ( k`` with ``text`` would put a real-time sequence or a byte that starts
    a printer command (DLE, ESC, FS, GS) on the wire — such a symbol is drawn as an image instead."""
    return not COMMAND_BYTES.isdisjoint(text.encode("utf-8")) or find_realtime(native) >= 0


def native_qr_bytes(data: QrData, module_dots: int) -> bytes:
    """docs/document.md "qr" with ``has_qr``: ESC a, then GS ( k model 2, module size, error level, store, print."""
    return b"".join(
        (
            align(_ALIGN_CODES[data.align]),  # ESC a n
            QR_SELECT_MODEL_2,  # GS ( k fn 65 — model 2
            qr_module_size(module_dots),  # GS ( k fn 67
            qr_error_level(data.correction),  # GS ( k fn 69
            qr_store(data.data.encode("utf-8")),  # GS ( k fn 80 — store the data
            QR_PRINT,  # GS ( k fn 81 — print the stored symbol
            align(0),  # ESC a 0 — commands never leak alignment
        )
    )


def qr_bitmap(data: QrData, dot_width: int) -> Bitmap:
    """The symbol drawn as a bitmap with a 4-module quiet zone, at most ``dot_width`` dots wide."""
    if data.logo:
        symbol = _symbol(data.data, LOGO_LEVEL, min_version=LOGO_MIN_VERSION)
    else:
        symbol = _symbol(data.data, data.correction)
    modules = symbol.shape[0]
    size = raster_module_size(modules, data.pixel_width, dot_width)
    dark = symbol
    if data.circle_shape:
        # Finder and alignment patterns stay square: scanners locate the symbol by their exact shape.
        square = dark & position_patterns(modules)
        round_ = dark & ~square
        black = _scale(square, size) | (_scale(round_, size) & np.tile(_disc(size), (modules, modules)))
    else:
        black = _scale(dark, size)
    if data.logo:
        black = _with_logo(black, modules, size, data.logo)
    quiet = QUIET_ZONE_MODULES * size
    return bitmap_from_mask(np.pad(black, quiet, constant_values=False))


def raster_module_size(modules: int, pixel_width: int, dot_width: int) -> int:
    """Dots per module of a symbol drawn here: :func:`module_size`, but on narrow paper a large symbol gets smaller
    modules rather than being cut off at the edge."""
    size = module_size(modules, pixel_width, dot_width)
    return max(1, min(size, dot_width // (modules + 2 * QUIET_ZONE_MODULES)))


def square_qr_raster(symbol: Mask, size: int, alignment: Align, dot_width: int) -> bytes:
    """The raster of a symbol with square modules and no logo: the same bytes as ``raster_bytes`` of the bitmap
    :func:`qr_bitmap` draws, built a module row at a time. Each module row is placed on the line and packed once,
    then repeated ``size`` times as bytes, instead of scaling, padding, packing, unpacking and packing every dot."""
    modules = symbol.shape[0]
    quiet = QUIET_ZONE_MODULES * size
    side = modules * size + 2 * quiet  # the drawn bitmap is side x side dots
    width = min(side, dot_width)  # raster_bytes keeps the left dot_width dots of a wider bitmap
    if width <= 0:
        return b""
    pad = left_padding(width, alignment, dot_width)
    start = pad + quiet
    shown = max(0, min(modules * size, pad + width - start))  # module dots left of the cut
    line = np.zeros((modules, pad + width), dtype=np.bool_)
    line[:, start : start + shown] = np.repeat(symbol, size, axis=1)[:, :shown]
    packed = np.packbits(line, axis=1)
    white = np.zeros((quiet, packed.shape[1]), dtype=np.uint8)
    return banded_raster(np.concatenate((white, np.repeat(packed, size, axis=0), white)))


def _scale(modules: Mask, size: int) -> Mask:
    return np.repeat(np.repeat(modules, size, axis=0), size, axis=1)


def _disc(size: int) -> Mask:
    """A filled circle inscribed in a ``size`` x ``size`` module."""
    centre = np.arange(size) + 0.5 - size / 2
    return np.asarray(centre[:, None] ** 2 + centre[None, :] ** 2 <= (size / 2) ** 2, dtype=np.bool_)


def logo_box_modules(modules: int) -> int:
    """Side, in modules, of the centred square a logo may cover: at most LOGO_MAX_AREA of the symbol, and of the
    same parity as the symbol so it sits exactly in the middle."""
    side = math.isqrt(int(LOGO_MAX_AREA * modules * modules))
    return side if (modules - side) % 2 == 0 else side - 1


def _with_logo(black: Mask, modules: int, size: int, logo: str) -> Mask:
    """Clear the centre box to white and draw the logo, dithered, inside it with half a module of margin."""
    box = logo_box_modules(modules)
    if box <= 0:
        return black
    logo_mask = _logo_mask(logo, box * size - size)
    start = (modules - box) // 2 * size
    black = black.copy()
    black[start : start + box * size, start : start + box * size] = False
    height, width = logo_mask.shape
    top = start + (box * size - height) // 2
    left = start + (box * size - width) // 2
    black[top : top + height, left : left + width] = logo_mask
    return black


def _logo_mask(logo: str, fit: int) -> Mask:
    """The logo as black dots, scaled to fit a ``fit`` x ``fit`` square keeping its aspect ratio."""
    try:
        payload = decode_base64_payload(logo)
    except ValueError:  # binascii.Error is a ValueError
        raise qr_error("field 'logo' is not valid base64 image data") from None
    try:
        image = open_image(payload)
        width, height = upright_size(image)
        scale = max(1, fit) / max(width, height)
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        luma = decode_luma(image, draft=target)
    except DocumentError as exc:
        raise qr_error(f"field 'logo': {exc.message}") from None
    if luma.size != target:
        luma = luma.resize(target, Image.Resampling.BILINEAR)
    return atkinson(np.asarray(luma, dtype=np.uint8), 128)
