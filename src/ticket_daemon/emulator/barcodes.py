"""Barcode and QR module patterns, built from the data a GS k / GS ( k command carries, so the drawing scans.

The printer's rules for what a GS k may carry (digit counts, the check digit it adds) are checked here; the bars
are encoded by zxing-cpp's writer, as a printer encodes the data it is sent, except CODE128, whose code sets the
data itself selects. Linear symbols come back as element widths (bar, space, bar, …): module counts for multi-level
symbologies (UPC/EAN, CODE93, CODE128); for two-level ones (CODE39, ITF, CODABAR) 1 = narrow and 2 = wide, which the
page turns into dots with the printer's narrow/wide table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import zxingcpp

from ticket_daemon.escpos.qrmatrix import qr_modules as symbol_modules


class SymbolError(ValueError):
    """The data cannot be encoded in the symbology (a printer ignores such a command)."""


@dataclass(frozen=True)
class LinearSymbol:
    symbology: str  # transcript name, e.g. "CODE128"
    data: str  # what the command carried, as text (code-set prefixes of CODE128 resolved)
    hri: str  # human readable interpretation printed by GS H
    elements: tuple[int, ...]  # widths, starting with a bar
    two_level: bool  # elements are 1 = narrow, 2 = wide rather than module counts


# GS k m — m = 0..6 (NUL-terminated) and 65..73 (length-prefixed) select the same symbologies.
SYMBOLOGY_NAMES: dict[int, str] = {
    65: "UPC-A",
    66: "UPC-E",
    67: "EAN13",
    68: "EAN8",
    69: "CODE39",
    70: "ITF",
    71: "CODABAR",
    72: "CODE93",
    73: "CODE128",
}
_FORMATS = {
    65: zxingcpp.BarcodeFormat.UPCA,
    66: zxingcpp.BarcodeFormat.UPCE,
    67: zxingcpp.BarcodeFormat.EAN13,
    68: zxingcpp.BarcodeFormat.EAN8,
    69: zxingcpp.BarcodeFormat.Code39,
    70: zxingcpp.BarcodeFormat.ITF,
    71: zxingcpp.BarcodeFormat.Codabar,
    72: zxingcpp.BarcodeFormat.Code93,
}
_TWO_LEVEL = frozenset({69, 70, 71})
_CODE39_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%")
_CODABAR_CHARS = frozenset("0123456789-$:/.+ABCD")


def encode(system: int, data: bytes) -> LinearSymbol:
    """The symbol a GS k m (65..73 numbering) with ``data`` prints. Raises SymbolError for data it cannot encode."""
    if system == 73:
        return code128(data)
    if system not in _FORMATS:
        raise SymbolError(f"unknown barcode system {system}")
    name = SYMBOLOGY_NAMES[system]
    content, shown, hri = _printer_data(system, data)
    try:
        symbol = zxingcpp.create_barcode(content, _FORMATS[system])
    except ValueError as error:  # what the printer would refuse too (a wrong check digit, say)
        raise SymbolError(f"{name} cannot encode {shown!r}") from error
    image = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False))
    elements = _element_widths(image[image.shape[0] // 2] < 128)
    if system in _TWO_LEVEL:
        narrow = min(elements)
        elements = tuple(1 if width == narrow else 2 for width in elements)
    return LinearSymbol(name, shown, hri, elements, system in _TWO_LEVEL)


def _printer_data(system: int, data: bytes) -> tuple[str, str, str]:
    """(what the writer encodes, the data as the transcript shows it, the HRI text) by the printer's rules."""
    text = data.decode("latin-1")
    if system == 65:
        digits = _digits(text, "UPC-A", (11, 12))
        return digits, text, digits if len(digits) == 12 else digits + check_digit(digits)
    if system == 66:
        return _upce(text)
    if system == 67:
        digits = _digits(text, "EAN13", (12, 13))
        return digits, text, digits if len(digits) == 13 else digits + check_digit(digits)
    if system == 68:
        digits = _digits(text, "EAN8", (7, 8))
        return digits, text, digits if len(digits) == 8 else digits + check_digit(digits)
    if system == 69:
        # The printer adds the * start/stop characters (a leading/trailing * in the data is taken as them).
        body = text.removeprefix("*").removesuffix("*")
        if not body or any(char not in _CODE39_CHARS for char in body):
            raise SymbolError(f"CODE39 cannot encode {text!r}")
        return body, text, f"*{body}*"
    if system == 70:
        digits = text[: len(text) - len(text) % 2]  # digit pairs; an odd last digit is ignored
        if not digits or not digits.isdigit() or not digits.isascii():
            raise SymbolError(f"ITF needs an even number of digits, got {text!r}")
        return digits, text, digits
    if system == 71:
        # Start and stop characters A-D (added as A…A when missing).
        framed = text.upper()
        if len(framed) < 2 or framed[0] not in "ABCD" or framed[-1] not in "ABCD":
            framed = "A" + framed + "A"
        if any(char not in _CODABAR_CHARS for char in framed) or any(char in "ABCD" for char in framed[1:-1]):
            raise SymbolError(f"CODABAR cannot encode {text!r}")
        return framed, text, framed
    # CODE93: any ASCII byte (full-ASCII shift pairs), with its two check characters.
    if not data or not data.isascii():
        raise SymbolError(f"CODE93 cannot encode {text!r}")
    return text, text, text


def _element_widths(row: npt.NDArray[np.bool_]) -> tuple[int, ...]:
    """Run lengths of one row across the bars, starting with a bar."""
    edges = np.flatnonzero(np.diff(row.astype(np.int8))) + 1
    runs = np.diff(np.concatenate(([0], edges, [row.size])))
    return tuple(int(width) for width in (runs if row[0] else runs[1:]))


def _digits(data: str, symbology: str, lengths: tuple[int, ...]) -> str:
    if not data.isdigit() or not data.isascii() or len(data) not in lengths:
        expected = " or ".join(str(n) for n in lengths)
        raise SymbolError(f"{symbology} needs {expected} digits, got {data!r}")
    return data


def check_digit(digits: str) -> str:
    """GS1 mod-10 check digit: weights 3, 1, 3, … from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def upce_expand(number_system: str, six: str) -> str:
    """UPC-E's six digits → the 11-digit UPC-A they stand for (without check digit)."""
    last = six[5]
    if last in "012":
        body = six[0:2] + last + "0000" + six[2:5]
    elif last == "3":
        body = six[0:3] + "00000" + six[3:5]
    elif last == "4":
        body = six[0:4] + "00000" + six[4]
    else:
        body = six[0:5] + "0000" + last
    return number_system + body


def _upce_compress(upc: str) -> str | None:
    """An 11-digit UPC-A → six UPC-E digits, or None when it has no zero-suppressed form."""
    maker, product = upc[1:6], upc[6:11]
    if maker[2] in "012" and maker[3:] == "00" and product[:2] == "00":
        return maker[:2] + product[2:] + maker[2]
    if maker[3:] == "00" and product[:3] == "000":
        return maker[:3] + product[3:] + "3"
    if maker[4] == "0" and product[:4] == "0000":
        return maker[:4] + product[4] + "4"
    if product[:4] == "0000" and product[4] in "56789":
        return maker + product[4]
    return None


def _upce(text: str) -> tuple[str, str, str]:
    """GS k m=66: 6 digits (number system 0), 7 (system + 6), 8 (+ check), or an 11/12-digit compressible UPC-A."""
    digits = _digits(text, "UPC-E", (6, 7, 8, 11, 12))
    if len(digits) in (11, 12):
        six = _upce_compress(digits[:11])
        if six is None:
            raise SymbolError(f"UPC-E: {text} has no zero-suppressed form")
        number_system, given_check = digits[0], digits[11:]
    else:
        number_system = digits[0] if len(digits) >= 7 else "0"
        six = digits[-6:] if len(digits) < 8 else digits[1:7]
        given_check = digits[7:] if len(digits) == 8 else ""
    if number_system not in "01":
        raise SymbolError(f"UPC-E: number system must be 0 or 1, got {number_system}")
    check = given_check or check_digit(upce_expand(number_system, six))
    return number_system + six + check, text, number_system + six + check


def _table(widths: str) -> tuple[str, ...]:
    """A pattern table written as space-separated element widths, one entry per symbol character."""
    return tuple(widths.split())


def _modules(widths: str) -> tuple[int, ...]:
    return tuple(int(w) for w in widths)


# --- CODE128 -----------------------------------------------------------------------------------------------------
# Encoded here rather than by the writer: a printer encodes exactly the code sets the data selects ({A, {B, {C and
# the switches between them), which fixes the symbol's width; the writer would choose its own.
_CODE128 = _table(
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 112232 122132 122231 113222 "
    "123122 123221 223211 221132 221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 212123 212321 "
    "232121 111323 131123 131321 112313 132113 132311 211313 231113 231311 112133 112331 132131 113123 113321 133121 "
    "313121 211331 231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 314111 221411 431111 111224 "
    "111422 121124 121421 141122 141221 112214 112412 122114 122411 142112 142211 241211 221114 413111 241112 134111 "
    "111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 214121 412121 111143 111341 131141 114113 "
    "114311 411113 411311 113141 114131 311141 411131 211412 211214 211232"
)
_CODE128_STOP = "2331112"
_START = {"A": 103, "B": 104, "C": 105}
_SWITCH = {"A": 101, "B": 100, "C": 99}  # CODE A / CODE B / CODE C (CODE A is 101 from B and C; CODE B is 100)
_SHIFT, _FNC1, _FNC2, _FNC3 = 98, 102, 97, 96
_FNC4 = {"A": 101, "B": 100}


def _code128_value(code_set: str, byte: int) -> int:
    if code_set == "A" and byte < 0x60:
        return byte - 0x20 if byte >= 0x20 else byte + 0x40
    if code_set == "B" and 0x20 <= byte < 0x80:
        return byte - 0x20
    if code_set == "C" and byte < 100:
        return byte
    raise SymbolError(f"CODE128 code set {code_set} cannot encode byte 0x{byte:02x}")


def code128(data: bytes) -> LinearSymbol:
    """GS k m=73: ``{A``/``{B``/``{C`` pick the code set (data without one starts in B), ``{S`` shifts one
    character, ``{1``-``{4`` are FNC1-4 and ``{{`` is a literal ``{``. In code set C each byte is a value 0-99.
    """
    code_set = "B"
    position = 0
    if data[:2] in (b"{A", b"{B", b"{C"):
        code_set = chr(data[1])
        position = 2
    values = [_START[code_set]]
    text: list[str] = []
    shift = False
    while position < len(data):
        byte = data[position]
        if byte == 0x7B and position + 1 < len(data) and data[position + 1] != 0x7B:  # "{x" control sequence
            control = chr(data[position + 1])
            position += 2
            if control in "ABC" and control != code_set:
                values.append(_SWITCH[control])
                code_set = control
            elif control == "S" and code_set != "C":
                values.append(_SHIFT)
                shift = True
            elif control == "1":
                values.append(_FNC1)
            elif control in "234" and code_set != "C":
                values.append({"2": _FNC2, "3": _FNC3, "4": _FNC4[code_set]}[control])
            elif control not in "ABC":
                raise SymbolError(f"CODE128: unknown sequence {{{control}")
            continue
        position += 2 if byte == 0x7B else 1  # "{{" is one literal "{"
        active = ("B" if code_set == "A" else "A") if shift else code_set
        shift = False
        values.append(_code128_value(active, byte))
        text.append(f"{byte:02d}" if active == "C" else chr(byte))
    if len(values) == 1:
        raise SymbolError("CODE128 needs data")
    values.append(sum(v * max(i, 1) for i, v in enumerate(values)) % 103)
    pattern = "".join(_CODE128[v] for v in values) + _CODE128_STOP
    human = "".join(text)
    return LinearSymbol("CODE128", human, human, _modules(pattern), False)


# --- QR ----------------------------------------------------------------------------------------------------------
QR_QUIET_ZONE = 4  # modules of white around the symbol, so it scans even when printed flush left


def qr_modules(data: bytes, level: str) -> npt.NDArray[np.bool_]:
    """Module matrix (True = dark) of the model 2 QR symbol for ``data`` at ``level`` (L/M/Q/H), quiet zone included.

    Raises SymbolError when the data does not fit (the printer prints nothing then).
    """
    if not data:
        raise SymbolError("QR symbol has no data")
    try:
        modules = symbol_modules(data, level)
    except ValueError as error:  # QrOverflow too
        raise SymbolError(f"QR: {error}") from error
    return np.pad(modules, QR_QUIET_ZONE, constant_values=False)
