"""The ``barcode`` command (docs/document.md "barcode"): GS w, GS h, GS H, GS f, then GS k in its length-prefixed form.

docs/document.md "barcode": a printer silently drops a symbol wider than its print area, so the width in
dots is computed here (modules of the symbology × the GS w module width) and a barcode that does not fit is sent at
the largest module width that fits, with a note; when none fits it is a ``BARCODE:`` error.

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
    TWO_LEVEL_DOTS,
    align,
    barcode,
    barcode_height,
    barcode_hri_font,
    barcode_hri_position,
    barcode_width,
)
from .commandset import find_realtime
from .text import ALIGN_NUMBERS

HRI_FONTS = {"A": 0, "B": 1}
MODULE_WIDTHS = range(2, 7)  # docs/document.md "barcode": width 2..6 (GS w n)
# Modules of the fixed-length symbologies: guards, digits and centre pattern (GS1 General Specifications).
FIXED_MODULES = {"upca": 95, "ean13": 95, "ean8": 67, "upce": 51}
CODE128_SYMBOL_MODULES = 11  # every CODE128 symbol character, start and check included
CODE128_STOP_MODULES = 13  # the stop pattern with its termination bar
CODE39_WIDE_PER_CHAR = 3  # of 9 elements; characters are separated by one narrow gap
ITF_WIDE_PER_PAIR = 4  # of 10 elements (two digits: one in the bars, one in the spaces)
CODABAR_THREE_WIDE = frozenset(":/.+ABCD")  # the other CODABAR characters have 2 wide elements of 7


# Digit pairs whose code set C byte is DLE, ESC, FS or GS: sent as two set B characters instead, so no barcode puts
# a byte that starts a printer command (or a DLE real-time sequence such as "1620" + "01" = DLE DC4) on the wire.
CODE_C_COMMAND_PAIRS = frozenset((0x10, 0x1B, 0x1C, 0x1D))


def code128_data(data: str) -> bytes:
    """The GS k m=73 payload: code set C (``{C``, digit pairs packed as byte values) for all-digit even-length data,
    else code set B (``{B``, a literal ``{`` doubled), with code set A (``{A``) for runs of control characters,
    which set B cannot encode."""
    if len(data) % 2 == 0 and all("0" <= char <= "9" for char in data):
        return _code_set_c(data)
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


def _code_set_c(digits: str) -> bytes:
    """Digit pairs in code set C, but a pair in ``CODE_C_COMMAND_PAIRS`` as its two digits in code set B."""
    out = bytearray()
    current = ""
    for i in range(0, len(digits), 2):
        pair = int(digits[i : i + 2])
        wanted = "B" if pair in CODE_C_COMMAND_PAIRS else "C"
        if wanted != current:
            out += b"{" + wanted.encode("ascii")
            current = wanted
        out += digits[i : i + 2].encode("ascii") if wanted == "B" else bytes((pair,))
    return bytes(out)


def _code128_symbols(payload: bytes) -> int:
    """Symbol characters of a GS k m=73 payload: start (its ``{A``/``{B``/``{C``), one per character, code-set
    switch or ``{{``, and the check character."""
    count, position = 2, 2  # start and check
    while position < len(payload):
        position += 2 if payload[position] == 0x7B else 1  # "{x": a switch, or "{{" a literal brace
        count += 1
    return count


def barcode_dots(symbology: str, payload: bytes, module: int) -> int:
    """Width in dots of the symbol a printer draws for ``payload`` at GS w ``module``, without quiet zones."""
    if symbology in FIXED_MODULES:
        return FIXED_MODULES[symbology] * module
    if symbology == "code128":
        return (_code128_symbols(payload) * CODE128_SYMBOL_MODULES + CODE128_STOP_MODULES) * module
    narrow, wide = TWO_LEVEL_DOTS[module]
    text = payload.decode("ascii")
    if symbology == "code39":  # the printer adds the * start/stop (a * the data begins or ends with is taken as it)
        chars = len(text.removeprefix("*").removesuffix("*")) + 2
        return chars * (CODE39_WIDE_PER_CHAR * wide + 6 * narrow) + (chars - 1) * narrow
    if symbology == "itf":
        pairs = len(text) // 2
        return 4 * narrow + pairs * (ITF_WIDE_PER_PAIR * wide + 6 * narrow) + wide + 2 * narrow
    # codabar: 7 elements a character, a narrow gap between characters
    wides = sum(3 if char in CODABAR_THREE_WIDE else 2 for char in text.upper())
    return wides * wide + (7 * len(text) - wides) * narrow + (len(text) - 1) * narrow


def fitted_module_width(data: BarcodeData, payload: bytes, dot_width: int | None) -> int:
    """The module width to print at: the one asked for, else the largest that fits ``dot_width`` (BARCODE error if
    none does). ``dot_width`` None means the paper is unknown and nothing is checked."""
    if dot_width is None or barcode_dots(data.symbology, payload, data.width) <= dot_width:
        return data.width
    for module in reversed(range(MODULE_WIDTHS.start, data.width)):
        if barcode_dots(data.symbology, payload, module) <= dot_width:
            return module
    needs = barcode_dots(data.symbology, payload, MODULE_WIDTHS.start)
    raise DocumentError(
        f"barcode needs {needs} dots even at module width {MODULE_WIDTHS.start}, the paper has {dot_width}",
        category=Category.BARCODE,
    )


def barcode_payload(data: BarcodeData) -> bytes:
    """The GS k data of a barcode command, checked for its symbology."""
    problem = barcode_problem(data.symbology, data.data)
    if problem:
        raise DocumentError(f"field 'data': {problem}", category=Category.BARCODE)
    payload = code128_data(data.data) if data.symbology == "code128" else data.data.encode("ascii")
    if len(payload) > MAX_BARCODE_BYTES:
        raise DocumentError(
            f"field 'data' needs {len(payload)} bytes once encoded, at most {MAX_BARCODE_BYTES} fit",
            category=Category.BARCODE,
        )
    return payload


def barcode_notes(data: BarcodeData, dot_width: int, index: int) -> tuple[str, ...]:
    """The note when ``commands[index]`` is printed narrower than asked so it fits the paper."""
    payload = barcode_payload(data)
    module = fitted_module_width(data, payload, dot_width)
    if module == data.width:
        return ()
    needs = barcode_dots(data.symbology, payload, data.width)
    return (
        f"BARCODE: barcode at command {index} printed at module width {module} to fit the paper "
        f"(it needs {needs} dots at width {data.width}, the paper has {dot_width})",
    )


def barcode_bytes(data: BarcodeData, dot_width: int | None = None) -> bytes:
    """Alignment, symbol settings and the symbol; alignment back to left afterwards. With ``dot_width`` the
    module width is reduced until the symbol fits it."""
    payload = barcode_payload(data)
    module = fitted_module_width(data, payload, dot_width)
    out = bytearray()
    if data.align is not Align.LEFT:
        out += align(ALIGN_NUMBERS[data.align])  # ESC a n
    out += barcode_width(module)  # GS w n
    out += barcode_height(data.height)  # GS h n
    out += barcode_hri_position(HRI_POSITIONS[data.hri_position])  # GS H n
    out += barcode_hri_font(HRI_FONTS[data.hri_font])  # GS f n
    out += barcode(BARCODE_SYSTEMS[data.symbology], payload)  # GS k m n d1..dn
    if data.align is not Align.LEFT:
        out += align(0)
    if find_realtime(out) >= 0:  # docs/document.md "barcode": never a real-time sequence, whatever the data
        raise DocumentError("the barcode would carry a printer real-time command", category=Category.BARCODE)
    return bytes(out)
