"""Barcode and QR module patterns, built from the data a GS k / GS ( k command carries, so the drawing scans.

Linear symbols come back as element widths (bar, space, bar, …). Multi-level symbologies (UPC/EAN, CODE93,
CODE128) count modules; two-level ones (CODE39, ITF, CODABAR) mark narrow as 1 and wide as 2, and the page turns
those into dots with the printer's narrow/wide table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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

# --- UPC / EAN -------------------------------------------------------------------------------------------------
_EAN_L = ("3211", "2221", "2122", "1411", "1132", "1231", "1114", "1312", "1213", "3112")  # odd parity, space first
_EAN_G = tuple(code[::-1] for code in _EAN_L)  # even parity: L mirrored
_EAN13_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")
_UPCE_PARITY_NS0 = ("GGGLLL", "GGLGLL", "GGLLGL", "GGLLLG", "GLGGLL", "GLLGGL", "GLLLGG", "GLGLGL", "GLGLLG", "GLLGLG")
_GUARD = "111"
_CENTRE = "11111"
_UPCE_END = "111111"


def _digits(data: str, symbology: str, lengths: tuple[int, ...]) -> str:
    if not data.isdigit() or not data.isascii() or len(data) not in lengths:
        expected = " or ".join(str(n) for n in lengths)
        raise SymbolError(f"{symbology} needs {expected} digits, got {data!r}")
    return data


def check_digit(digits: str) -> str:
    """GS1 mod-10 check digit: weights 3, 1, 3, … from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _table(widths: str) -> tuple[str, ...]:
    """A pattern table written as space-separated element widths, one entry per symbol character."""
    return tuple(widths.split())


def _modules(widths: str) -> tuple[int, ...]:
    return tuple(int(w) for w in widths)


def _ean(left: str, right: str, left_parity: str) -> tuple[int, ...]:
    """Guard, left half (L/G codes, each starting with a space), centre, right half (R codes), guard."""
    pattern = _GUARD
    pattern += "".join((_EAN_L if p == "L" else _EAN_G)[int(d)] for d, p in zip(left, left_parity, strict=True))
    pattern += _CENTRE
    pattern += "".join(_EAN_L[int(d)] for d in right)  # R codes have the L codes' widths, starting with a bar
    pattern += _GUARD
    return _modules(pattern)


def ean13(data: str) -> LinearSymbol:
    digits = _digits(data, "EAN13", (12, 13))
    full = digits if len(digits) == 13 else digits + check_digit(digits)
    return LinearSymbol("EAN13", data, full, _ean(full[1:7], full[7:], _EAN13_PARITY[int(full[0])]), False)


def upca(data: str) -> LinearSymbol:
    digits = _digits(data, "UPC-A", (11, 12))
    full = digits if len(digits) == 12 else digits + check_digit(digits)
    return LinearSymbol("UPC-A", data, full, _ean(full[:6], full[6:], "LLLLLL"), False)


def ean8(data: str) -> LinearSymbol:
    digits = _digits(data, "EAN8", (7, 8))
    full = digits if len(digits) == 8 else digits + check_digit(digits)
    return LinearSymbol("EAN8", data, full, _ean(full[:4], full[4:], "LLLL"), False)


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


def upce(data: str) -> LinearSymbol:
    """GS k m=66: 6 digits (number system 0), 7 (system + 6), 8 (+ check), or an 11/12-digit compressible UPC-A."""
    digits = _digits(data, "UPC-E", (6, 7, 8, 11, 12))
    if len(digits) in (11, 12):
        six = _upce_compress(digits[:11])
        if six is None:
            raise SymbolError(f"UPC-E: {data} has no zero-suppressed form")
        number_system, given_check = digits[0], digits[11:]
    else:
        number_system = digits[0] if len(digits) >= 7 else "0"
        six = digits[-6:] if len(digits) < 8 else digits[1:7]
        given_check = digits[7:] if len(digits) == 8 else ""
    if number_system not in "01":
        raise SymbolError(f"UPC-E: number system must be 0 or 1, got {number_system}")
    check = given_check or check_digit(upce_expand(number_system, six))
    parity = _UPCE_PARITY_NS0[int(check)]
    if number_system == "1":
        parity = parity.translate(str.maketrans("LG", "GL"))
    pattern = _GUARD + "".join((_EAN_L if p == "L" else _EAN_G)[int(d)] for d, p in zip(six, parity, strict=True))
    return LinearSymbol("UPC-E", data, number_system + six + check, _modules(pattern + _UPCE_END), False)


# --- CODE39 (two-level; 1 = narrow, 2 = wide) ----------------------------------------------------------------------
_CODE39 = dict(
    zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%*",
        _table(
            "111221211 211211112 112211112 212211111 111221112 211221111 112221111 111211212 211211211 112211211 "
            "211112112 112112112 212112111 111122112 211122111 112122111 111112212 211112211 112112211 111122211 "
            "211111122 112111122 212111121 111121122 211121121 112121121 111111222 211111221 112111221 111121221 "
            "221111112 122111112 222111111 121121112 221121111 122121111 121111212 221111211 122111211 121212111 "
            "121211121 121112121 111212121 121121211"
        ),
        strict=True,
    )
)


def code39(data: str) -> LinearSymbol:
    """GS k m=69: the printer adds the * start/stop characters (a leading/trailing * in the data is taken as them)."""
    body = data.removeprefix("*").removesuffix("*")
    if not body or any(c not in _CODE39 or c == "*" for c in body):
        raise SymbolError(f"CODE39 cannot encode {data!r}")
    elements: list[int] = []
    for char in "*" + body + "*":
        elements += (*_modules(_CODE39[char]), 1)  # narrow inter-character gap
    return LinearSymbol("CODE39", data, f"*{body}*", tuple(elements[:-1]), True)


# --- ITF (interleaved 2 of 5) ------------------------------------------------------------------------------------
_ITF = ("11221", "21112", "12112", "22111", "11212", "21211", "12211", "11122", "21121", "12121")


def itf(data: str) -> LinearSymbol:
    """GS k m=70: digit pairs, the first in the bars, the second in the spaces (an odd last digit is ignored)."""
    digits = data[: len(data) - len(data) % 2]
    if not digits or not digits.isdigit() or not digits.isascii():
        raise SymbolError(f"ITF needs an even number of digits, got {data!r}")
    elements = [1, 1, 1, 1]  # start: narrow bar, space, bar, space
    for i in range(0, len(digits), 2):
        for bar, space in zip(_ITF[int(digits[i])], _ITF[int(digits[i + 1])], strict=True):
            elements += (int(bar), int(space))
    elements += (2, 1, 1)  # stop: wide bar, narrow space, narrow bar
    return LinearSymbol("ITF", data, digits, tuple(elements), True)


# --- CODABAR (NW-7) ----------------------------------------------------------------------------------------------
_CODABAR = dict(
    zip(
        "0123456789-$:/.+ABCD",
        _table(
            "1111122 1111221 1112112 2211111 1121121 2111121 1211112 1211211 1221111 2112111 "
            "1112211 1122111 2111212 2121112 2121211 1121212 1122121 1212112 1112122 1112221"
        ),
        strict=True,
    )
)


def codabar(data: str) -> LinearSymbol:
    """GS k m=71: data starts and ends with a start/stop character A-D (added as A…A here when missing)."""
    text = data.upper()
    if len(text) < 2 or text[0] not in "ABCD" or text[-1] not in "ABCD":
        text = "A" + text + "A"
    if any(c not in _CODABAR for c in text) or any(c in "ABCD" for c in text[1:-1]):
        raise SymbolError(f"CODABAR cannot encode {data!r}")
    elements: list[int] = []
    for char in text:
        elements += (*_modules(_CODABAR[char]), 1)
    return LinearSymbol("CODABAR", data, text, tuple(elements[:-1]), True)


# --- CODE93 ------------------------------------------------------------------------------------------------------
_CODE93_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"
_CODE93 = _table(
    "131112 111213 111312 111411 121113 121212 121311 111114 131211 141111 211113 211212 211311 221112 221211 "
    "231111 112113 112212 112311 122112 132111 111123 111222 111321 121122 131121 212112 212211 211122 211221 "
    "221121 222111 112122 112221 122121 123111 121131 311112 311211 321111 112131 113121 211131 "
    "121221 312111 311121 122211"  # 43..46: the ($) (%) (/) (+) shift characters
)
_CODE93_START_STOP = "111141"
_SHIFT_DOLLAR, _SHIFT_PERCENT, _SHIFT_SLASH, _SHIFT_PLUS = 43, 44, 45, 46


def _code93_full_ascii(char: int) -> tuple[int, ...]:
    """Code values for one ASCII character (full-ASCII mode, the shift pairs Code 39 full ASCII uses)."""
    letter = _CODE93_CHARS.index
    text = chr(char)
    if text in _CODE93_CHARS:
        return (letter(text),)
    if char == 0:
        return (_SHIFT_PERCENT, letter("U"))
    if char <= 0x1A:
        return (_SHIFT_DOLLAR, letter(chr(ord("A") + char - 1)))
    if char <= 0x1F:
        return (_SHIFT_PERCENT, letter(chr(ord("A") + char - 0x1B)))
    if char <= 0x2C or char == 0x3A:  # ! " # & ' ( ) * , :
        return (_SHIFT_SLASH, letter(chr(ord("A") + char - 0x21)))
    if char <= 0x3F:
        return (_SHIFT_PERCENT, letter(chr(ord("F") + char - 0x3B)))
    if char == 0x40:
        return (_SHIFT_PERCENT, letter("V"))
    if char <= 0x5F:
        return (_SHIFT_PERCENT, letter(chr(ord("K") + char - 0x5B)))
    if char == 0x60:
        return (_SHIFT_PERCENT, letter("W"))
    if char <= 0x7A:
        return (_SHIFT_PLUS, letter(chr(ord("A") + char - 0x61)))
    if char <= 0x7F:
        return (_SHIFT_PERCENT, letter(chr(ord("P") + char - 0x7B)))
    raise SymbolError(f"CODE93 cannot encode byte 0x{char:02x}")


def _code93_check(values: list[int], max_weight: int) -> int:
    return sum(v * (i % max_weight + 1) for i, v in enumerate(reversed(values))) % 47


def code93(data: bytes) -> LinearSymbol:
    """GS k m=72: any ASCII byte, with the two mod-47 check characters C and K."""
    if not data:
        raise SymbolError("CODE93 needs data")
    values = [value for byte in data for value in _code93_full_ascii(byte)]
    values.append(_code93_check(values, 20))
    values.append(_code93_check(values, 15))
    pattern = _CODE93_START_STOP + "".join(_CODE93[v] for v in values) + _CODE93_START_STOP + "1"  # termination bar
    text = data.decode("ascii")
    return LinearSymbol("CODE93", text, text, _modules(pattern), False)


# --- CODE128 -----------------------------------------------------------------------------------------------------
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


def encode(system: int, data: bytes) -> LinearSymbol:
    """The symbol a GS k m (65..73 numbering) with ``data`` prints. Raises SymbolError for data it cannot encode."""
    if system == 72:
        return code93(data)
    if system == 73:
        return code128(data)
    text = data.decode("latin-1")
    encoders = {65: upca, 66: upce, 67: ean13, 68: ean8, 69: code39, 70: itf, 71: codabar}
    if system not in encoders:
        raise SymbolError(f"unknown barcode system {system}")
    return encoders[system](text)


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
