"""The ``barcode`` command (DOCUMENT.md "barcode"): GS w, GS h, GS H, GS f, then GS k in its length-prefixed form.

The data was checked per symbology when the document was parsed (``document.barcodes.barcode_problem``); it is checked
again here only so that a document built without parsing cannot send the printer something it would choke on.
"""

from __future__ import annotations

from ..document.barcodes import barcode_problem
from ..document.errors import Category, DocumentError
from ..document.limits import MAX_BARCODE_BYTES
from ..document.model import Align, BarcodeData
from .commands import (
    BARCODE_SYSTEMS,
    HRI_POSITIONS,
    align,
    barcode,
    barcode_height,
    barcode_hri_font,
    barcode_hri_position,
    barcode_width,
)
from .text import ALIGN_NUMBERS

HRI_FONTS = {"A": 0, "B": 1}


def code128_data(data: str) -> bytes:
    """The GS k m=73 payload: code set C (``{C``, digit pairs packed as byte values) for all-digit even-length data,
    else code set B (``{B``, a literal ``{`` doubled), with code set A (``{A``) for runs of control characters,
    which set B cannot encode."""
    if len(data) % 2 == 0 and all("0" <= char <= "9" for char in data):
        return b"{C" + bytes(int(data[i : i + 2]) for i in range(0, len(data), 2))
    out = bytearray()
    current = ""
    for char in data:
        code = ord(char)
        wanted = "A" if code < 0x20 else "B" if code >= 0x60 else current or "B"
        if wanted != current:
            out += b"{" + wanted.encode("ascii")
            current = wanted
        out += b"{{" if char == "{" else bytes((code,))
    return bytes(out)


def barcode_bytes(data: BarcodeData) -> bytes:
    """Alignment, symbol settings and the symbol; alignment back to left afterwards."""
    problem = barcode_problem(data.symbology, data.data)
    if problem:
        raise DocumentError(f"field 'data': {problem}", category=Category.BARCODE)
    payload = code128_data(data.data) if data.symbology == "code128" else data.data.encode("ascii")
    if len(payload) > MAX_BARCODE_BYTES:
        raise DocumentError(
            f"field 'data' needs {len(payload)} bytes once encoded, at most {MAX_BARCODE_BYTES} fit",
            category=Category.BARCODE,
        )
    out = bytearray()
    if data.align is not Align.LEFT:
        out += align(ALIGN_NUMBERS[data.align])  # ESC a n
    out += barcode_width(data.width)  # GS w n
    out += barcode_height(data.height)  # GS h n
    out += barcode_hri_position(HRI_POSITIONS[data.hri_position])  # GS H n
    out += barcode_hri_font(HRI_FONTS[data.hri_font])  # GS f n
    out += barcode(BARCODE_SYSTEMS[data.symbology], payload)  # GS k m n d1..dn
    if data.align is not Align.LEFT:
        out += align(0)
    return bytes(out)
