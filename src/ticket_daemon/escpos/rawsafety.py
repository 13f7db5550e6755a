"""``raw_policy = "safe"`` (docs/document.md "raw"): the raw commands of a document, read as one byte stream, may
only print.

The payloads of all ``raw`` commands are joined in document order and walked command by command, so a sequence
split across two raw commands is seen whole. Only printing commands pass: text, style, alignment, feed, line
spacing, cut, images, barcodes and QR. The walk is strict, because a printer that meets a parameter outside the
range the ESC/POS reference defines stops reading that command and takes the following bytes as data — or as
commands — so a lenient check and the printer would no longer agree on what is executed. Refused:

- every command outside the allow-list (the drawer kick ESC p, real-time commands, printer settings, memory
  writes: GS ( E, GS ( C, FS g, NV images, macros) and every parameter outside its range;
- any real-time sequence (DLE EOT, DLE ENQ, DLE DC4) anywhere, image, symbol and barcode data included: printers
  act on them wherever they meet them;
- barcodes (GS k) and raster images (GS v 0) after data on the same line: the printer prints what follows the
  command byte as text, so a barcode's data would be executed;
- anything that cannot be parsed: an unknown command, a command cut off at the end of the stream.

The walk assumes what the renderer guarantees: every command it renders between two raw commands ends with the
print buffer empty (a line feed, or a symbol or image that leaves the position at the start of a line).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from itertools import accumulate

from .commands import ESC, FS, GS
from .commandset import REALTIME_NAMES, command_name, find_realtime

HT, LF, CR, NUL = 0x09, 0x0A, 0x0D, 0x00
ANY = range(256)
# Names for the refusals a shop is most likely to meet.
KNOWN_REFUSALS = {
    bytes((ESC, 0x70)): "ESC p (cash drawer pulse)",
    bytes((ESC, 0x3D)): "ESC = (select peripheral device)",
    bytes((GS, 0x3A)): "GS : (macro definition)",
    bytes((GS, 0x5E)): "GS ^ (execute macro)",
    bytes((GS, 0x2A)): "GS * (define downloaded bit image)",
    bytes((FS, 0x67)): "FS g (NV user memory)",
    bytes((FS, 0x71)): "FS q (define NV bit image)",
    bytes((FS, 0x70)): "FS p (print NV bit image)",
}

# Allowed commands with fixed parameters: the values each parameter may take (Epson ESC/POS reference).
UNDERLINE = frozenset((0, 1, 2, 48, 49, 50))
ESC_ALLOWED: dict[int, tuple[Collection[int], ...]] = {
    0x20: (ANY,),  # ESC SP n — right-side character spacing
    0x21: (ANY,),  # ESC ! n — print mode
    0x24: (ANY, ANY),  # ESC $ nL nH — absolute print position
    0x2D: (UNDERLINE,),  # ESC - n — underline
    0x32: (),  # ESC 2 — default line spacing
    0x33: (ANY,),  # ESC 3 n — line spacing
    0x40: (),  # ESC @ — initialize (clears volatile settings; the renderer selects the code table again)
    0x45: (ANY,),  # ESC E n — emphasized
    0x47: (ANY,),  # ESC G n — double-strike
    0x4A: (ANY,),  # ESC J n — print and feed n dots
    0x4D: (frozenset((0, 1, 2, 3, 4, 48, 49, 50, 51, 52, 97, 98)),),  # ESC M n — font
    0x52: (frozenset((*range(18), *range(66, 76), 82)),),  # ESC R n — international character set
    0x56: (frozenset((0, 1, 2, 48, 49, 50)),),  # ESC V n — 90° rotation
    0x5C: (ANY, ANY),  # ESC \ nL nH — relative print position
    0x61: (frozenset((0, 1, 2, 48, 49, 50)),),  # ESC a n — justification
    0x64: (ANY,),  # ESC d n — print and feed n lines
    0x65: (ANY,),  # ESC e n — print and reverse feed n lines
    0x69: (),  # ESC i — partial cut (legacy)
    0x6D: (),  # ESC m — partial cut (legacy)
    0x74: (frozenset((*range(9), *range(11, 27), *range(30, 54), 254, 255)),),  # ESC t n — code table
    0x7B: (ANY,),  # ESC { n — upside-down
}
GS_ALLOWED: dict[int, tuple[Collection[int], ...]] = {
    0x21: (frozenset(n for n in ANY if not n & 0x88),),  # GS ! n — width and height 1..8
    0x42: (ANY,),  # GS B n — reverse printing
    0x48: (frozenset((0, 1, 2, 3, 48, 49, 50, 51)),),  # GS H n — HRI position
    0x4C: (ANY, ANY),  # GS L nL nH — left margin
    0x57: (ANY, ANY),  # GS W nL nH — print area width
    0x62: (ANY,),  # GS b n — smoothing
    0x63: (),  # GS c — print the serial counter
    0x66: (frozenset((0, 1, 2, 3, 4, 48, 49, 50, 51, 52, 97, 98)),),  # GS f n — HRI font
    0x68: (range(1, 256),),  # GS h n — barcode height
    0x77: (frozenset((*range(1, 7), *range(68, 77))),),  # GS w n — barcode module width
}
FS_ALLOWED: dict[int, tuple[Collection[int], ...]] = {
    0x21: (ANY,),  # FS ! n — Kanji print mode
    0x26: (),  # FS & — Kanji character mode
    0x2D: (UNDERLINE,),  # FS - n — Kanji underline
    0x2E: (),  # FS . — cancel Kanji character mode
    0x53: (ANY, ANY),  # FS S n1 n2 — Kanji spacing
    0x57: (ANY,),  # FS W n — Kanji quadruple size
}
FIXED: dict[int, dict[int, tuple[Collection[int], ...]]] = {ESC: ESC_ALLOWED, GS: GS_ALLOWED, FS: FS_ALLOWED}
# Commands that print what the print buffer holds (it is empty afterwards) or put data in it.
EMPTIES_LINE = frozenset((bytes((ESC, 0x40)), bytes((ESC, 0x4A)), bytes((ESC, 0x64)), bytes((ESC, 0x65))))
FILLS_LINE = frozenset((bytes((ESC, 0x24)), bytes((ESC, 0x5C))))

ESC_BIT_IMAGE_MODES = {0: 1, 1: 1, 32: 3, 33: 3}  # ESC * m — bytes per column
ESC_BIT_IMAGE_MAX_NH = 3  # ESC * nL nH — at most 1023 columns
MAX_TABS = 32  # ESC D n1..nk NUL
GS_CUT_MODES = frozenset((0, 1, 48, 49))  # GS V m
GS_CUT_FEED_MODES = frozenset((65, 66, 97, 98, 103, 104))  # GS V m n
RASTER_MODES = frozenset((0, 1, 2, 3, 48, 49, 50, 51))  # GS v 0 m
RASTER_MAX_YH = 8  # GS v 0 — yH 0..8
# GS ( k cn=49 (QR Code): fn → (parameter bytes after fn, values of the first one) for the fixed-size functions.
QR_FUNCTIONS: dict[int, Collection[int]] = {
    67: range(1, 17),  # fn 67 — module size
    69: range(48, 52),  # fn 69 — error correction level
    81: (48,),  # fn 81 — print the stored symbol
}
QR_MODELS = frozenset((49, 50, 51))  # fn 65 n1 — model 1, model 2, micro QR
QR_STORE_MAX = 7092  # fn 80 — pL pH counts cn, fn, m and the data
# GS ( L / GS 8 L fn 112: store a graphic in the print buffer (not NV memory); fn 50 (or 2) prints it.
GRAPHICS_TONES = frozenset((48, 52))  # a — monochrome, multiple tone
GRAPHICS_COLOURS = frozenset((49, 50, 51, 52))  # c
GRAPHICS_MAX_WIDTH = 2400
GRAPHICS_MAX_HEIGHT = {48: 1662, 52: 831}


@dataclass(frozen=True, slots=True)
class RawRefusal:
    """The first command ``raw_policy = "safe"`` refuses: its name and which raw command it starts in."""

    command: str
    part: int  # index into the sequence of payloads that was checked


class _Refused(Exception):
    def __init__(self, offset: int, what: str) -> None:
        super().__init__(what)
        self.offset = offset
        self.what = what


def first_refused(payloads: Sequence[bytes], *, apart: Collection[int] = ()) -> RawRefusal | None:
    """The first command in the concatenation of ``payloads`` that is not an allowed printing command with every
    parameter in range, or None when the whole stream only prints.

    ``apart`` lists the payloads that do not follow the previous one directly (other commands are printed between
    them): no command may run across their start, since the printer would read those other bytes as its data.
    """
    stream = b"".join(payloads)
    starts = [0, *accumulate(len(payload) for payload in payloads)]
    try:
        _Walk(stream, sorted(starts[part] for part in apart if 0 < part < len(payloads))).run()
    except _Refused as refused:
        return RawRefusal(refused.what, bisect_right(starts, refused.offset) - 1)
    return None


class _Walk:
    """One pass over a stream; raises :class:`_Refused` at the first thing that does not only print."""

    def __init__(self, stream: bytes, barriers: Sequence[int] = ()) -> None:
        self.stream = stream
        self.barriers = barriers  # offsets no command may run across
        self.line_has_data = False  # the print buffer holds data: GS k and GS v 0 would print their bytes as text

    def run(self) -> None:
        stream, i = self.stream, 0
        realtime = find_realtime(stream)
        while i < len(stream):
            byte = stream[i]
            if byte >= 0x20 or byte == HT:
                self.line_has_data = True
                i += 1
                continue
            if byte == LF:
                self.line_has_data = False
                i += 1
                continue
            if byte == CR:  # prints only where automatic line feed is on: the buffer may still hold data
                i += 1
                continue
            if realtime == i:
                raise _Refused(i, REALTIME_NAMES[stream[i + 1]])
            if byte not in FIXED:
                raise _Refused(i, f"control byte 0x{byte:02x}")
            end = self._command(i)
            if 0 <= realtime < end:  # inside this command's parameters or data
                raise _Refused(realtime, f"{REALTIME_NAMES[stream[realtime + 1]]} inside {self._name(i)}")
            barrier = bisect_right(self.barriers, i)
            if barrier < len(self.barriers) and self.barriers[barrier] < end:
                raise _Refused(i, f"{command_name(stream[i : i + 2])} (incomplete)")
            i = end

    # --- helpers ---------------------------------------------------------------------------------------------

    def _name(self, i: int) -> str:
        code = self.stream[i : i + 2]
        if code in KNOWN_REFUSALS:
            return KNOWN_REFUSALS[code]
        if code[1:] in (b"(", b"8", b"v"):  # GS ( k, GS 8 L, GS v 0: the function byte is part of the name
            return command_name(self.stream[i : i + 3])
        return command_name(code)

    def _need(self, i: int, count: int) -> None:
        """Refuse when fewer than ``count`` bytes are left from ``i``: the command is cut off."""
        if len(self.stream) - i < count:
            raise _Refused(i, f"{command_name(self.stream[i : i + 2])} (incomplete)")

    def _command(self, i: int) -> int:
        """Check the command at ``i``; the offset just after it."""
        self._need(i, 2)
        prefix, code = self.stream[i], self.stream[i + 1]
        special = _SPECIAL.get((prefix, code))
        if special is not None:
            return special(self, i)
        ranges = FIXED[prefix].get(code)
        if ranges is None:
            raise _Refused(i, self._name(i))
        self._need(i, 2 + len(ranges))
        for position, allowed in enumerate(ranges):
            value = self.stream[i + 2 + position]
            if value not in allowed:
                raise _Refused(i, f"{self._name(i)} with parameter {value} out of range")
        two = self.stream[i : i + 2]
        if two in EMPTIES_LINE:
            self.line_has_data = False
        elif two in FILLS_LINE:
            self.line_has_data = True
        return i + 2 + len(ranges)

    def _u16(self, at: int) -> int:
        return self.stream[at] | self.stream[at + 1] << 8

    # --- commands with a structure -----------------------------------------------------------------------------

    def _esc_bit_image(self, i: int) -> int:
        """ESC * m nL nH d1..dk — bit image in the line; m 0, 1 (8-dot), 32, 33 (24-dot), at most 1023 columns."""
        self._need(i, 5)
        mode, high = self.stream[i + 2], self.stream[i + 4]
        if mode not in ESC_BIT_IMAGE_MODES:
            raise _Refused(i, f"ESC * with undefined bit image mode {mode}")
        if high > ESC_BIT_IMAGE_MAX_NH:
            raise _Refused(i, f"ESC * with nH {high} out of range (0..{ESC_BIT_IMAGE_MAX_NH})")
        end = i + 5 + self._u16(i + 3) * ESC_BIT_IMAGE_MODES[mode]
        self._need(i, end - i)
        self.line_has_data = True
        return end

    def _esc_tabs(self, i: int) -> int:
        """ESC D n1..nk NUL — at most 32 tab positions, each 1..255 and greater than the one before."""
        previous, position = 0, i + 2
        while True:
            self._need(i, position - i + 1)
            value = self.stream[position]
            if value == NUL:
                return position + 1
            if position - (i + 2) == MAX_TABS:
                raise _Refused(i, f"ESC D with more than {MAX_TABS} tab positions")
            if value <= previous:
                raise _Refused(i, "ESC D with tab positions that do not ascend")
            previous, position = value, position + 1

    def _gs_cut(self, i: int) -> int:
        """GS V m / GS V m n — cut, with a feed for m 65, 66, 97, 98, 103, 104."""
        self._need(i, 3)
        mode = self.stream[i + 2]
        if mode in GS_CUT_MODES:
            return i + 3
        if mode in GS_CUT_FEED_MODES:
            self._need(i, 4)
            return i + 4
        raise _Refused(i, f"GS V with undefined cut mode {mode}")

    def _at_line_start(self, i: int, name: str) -> None:
        if self.line_has_data:
            raise _Refused(i, f"{name} after data on the same line (the printer would print its bytes as text)")

    def _gs_raster(self, i: int) -> int:
        """GS v 0 m xL xH yL yH d1..dk — raster bit image, at the start of a line."""
        self._need(i, 8)
        if self.stream[i + 2] != 0x30:
            raise _Refused(i, f"GS v with undefined function {self.stream[i + 2]}")
        mode, width, height, high = self.stream[i + 3], self._u16(i + 4), self._u16(i + 6), self.stream[i + 7]
        if mode not in RASTER_MODES:
            raise _Refused(i, f"GS v 0 with undefined mode {mode}")
        if width == 0 or height == 0 or high > RASTER_MAX_YH:
            raise _Refused(i, f"GS v 0 with size {width} x {height} out of range")
        self._at_line_start(i, "GS v 0")
        self._need(i, 8 + width * height)
        return i + 8 + width * height

    def _gs_barcode(self, i: int) -> int:
        """GS k m d1..dk NUL (m 0..6) / GS k m n d1..dn (m 65..73) — a barcode, at the start of a line."""
        self._need(i, 3)
        symbology = self.stream[i + 2]
        if symbology in _NUL_TERMINATED:
            self._at_line_start(i, "GS k")
            nul = self.stream.find(NUL, i + 3)
            if nul < 0:
                raise _Refused(i, "GS k (incomplete)")
            _check_barcode(self.stream, i, _NUL_TERMINATED[symbology], self.stream[i + 3 : nul])
            return nul + 1
        if symbology not in _LENGTH_PREFIXED:
            raise _Refused(i, f"GS k with undefined symbology {symbology}")
        self._at_line_start(i, "GS k")
        self._need(i, 4)
        end = i + 4 + self.stream[i + 3]
        self._need(i, end - i)
        _check_barcode(self.stream, i, _LENGTH_PREFIXED[symbology], self.stream[i + 4 : end])
        return end

    def _gs_extended(self, i: int) -> int:
        """GS ( k (QR Code) and GS ( L (graphics in the print buffer); every other GS ( function is refused."""
        self._need(i, 3)
        family = self.stream[i + 2]
        if family not in (ord("k"), ord("L")):
            raise _Refused(i, self._name(i))
        self._need(i, 5)
        end = i + 5 + self._u16(i + 3)
        self._need(i, end - i)
        body = self.stream[i + 5 : end]
        if family == ord("k"):
            _check_qr(i, body)
        else:
            self._check_graphics(i, body, "GS ( L")
        return end

    def _gs_graphics_32(self, i: int) -> int:
        """GS 8 L p1..p4 m fn … — graphics with a 32-bit length."""
        self._need(i, 7)
        if self.stream[i + 2] != ord("L"):
            raise _Refused(i, self._name(i))
        end = i + 7 + int.from_bytes(self.stream[i + 3 : i + 7], "little")
        self._need(i, end - i)
        self._check_graphics(i, self.stream[i + 7 : end], "GS 8 L")
        return end

    def _check_graphics(self, i: int, body: bytes, name: str) -> None:
        """m fn …: fn 112 stores a raster graphic in the print buffer, fn 50 (or 2) prints it."""
        if len(body) < 2 or body[0] != 48:
            raise _Refused(i, f"{name} with undefined parameters")
        function = body[1]
        if function in (2, 50):
            if len(body) != 2:
                raise _Refused(i, f"{name} function {function} with {len(body) - 2} extra bytes")
            return
        if function != 112:
            raise _Refused(i, self._name(i))
        if len(body) < 10:
            raise _Refused(i, f"{name} function 112 (incomplete)")
        tone, scale_x, scale_y, colour = body[2], body[3], body[4], body[5]
        width, height = body[6] | body[7] << 8, body[8] | body[9] << 8
        if (
            tone not in GRAPHICS_TONES
            or scale_x not in (1, 2)
            or scale_y not in (1, 2)
            or colour not in GRAPHICS_COLOURS
            or not 1 <= width <= GRAPHICS_MAX_WIDTH
            or not 1 <= height <= GRAPHICS_MAX_HEIGHT[tone]
        ):
            raise _Refused(i, f"{name} function 112 with a parameter out of range")
        if len(body) - 10 != (width + 7) // 8 * height:
            raise _Refused(i, f"{name} function 112 whose length does not match its {width} x {height} dots")
        self.line_has_data = True


def _check_qr(i: int, body: bytes) -> None:
    """GS ( k pL pH cn fn …: only QR Code (cn 49) select model, module size, error level, store and print."""
    if len(body) < 2 or body[0] != 49:
        raise _Refused(i, "GS ( k (not a QR Code function)")
    function, arguments = body[1], body[2:]
    if function == 65:  # fn 65 n1 n2 — select the model
        if len(arguments) != 2 or arguments[0] not in QR_MODELS or arguments[1] != 0:
            raise _Refused(i, "GS ( k function 65 with a parameter out of range")
    elif function in QR_FUNCTIONS:
        if len(arguments) != 1 or arguments[0] not in QR_FUNCTIONS[function]:
            raise _Refused(i, f"GS ( k function {function} with a parameter out of range")
    elif function == 80:  # fn 80 m d1..dk — store the data
        if not 2 <= len(arguments) <= QR_STORE_MAX - 2 or arguments[0] != 48:
            raise _Refused(i, "GS ( k function 80 with a parameter out of range")
    else:
        raise _Refused(i, f"GS ( k function {function} (not a printing function)")


# --- GS k: what each symbology's data may hold (Epson ESC/POS reference) -------------------------------------


@dataclass(frozen=True, slots=True)
class _Symbology:
    name: str
    lengths: Collection[int]
    characters: Collection[int]
    ends: Collection[int] | None = None  # the first and last character, when the symbology fixes them


DIGITS = frozenset(b"0123456789")
CODE39 = DIGITS | frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./")
CODABAR_ENDS = frozenset(b"ABCDabcd")
CODABAR = DIGITS | CODABAR_ENDS | frozenset(b"$+-./:")
ASCII = range(128)
_UPCA = _Symbology("UPC-A", (11, 12), DIGITS)
_UPCE = _Symbology("UPC-E", (6, 7, 8, 11, 12), DIGITS)
_EAN13 = _Symbology("EAN13", (12, 13), DIGITS)
_EAN8 = _Symbology("EAN8", (7, 8), DIGITS)
_CODE39 = _Symbology("CODE39", range(1, 256), CODE39)
_ITF = _Symbology("ITF", range(2, 255, 2), DIGITS)
_CODABAR = _Symbology("CODABAR", range(2, 256), CODABAR, CODABAR_ENDS)
_CODE93 = _Symbology("CODE93", range(1, 256), ASCII)
_CODE128 = _Symbology("CODE128", range(2, 256), ASCII)
_NUL_TERMINATED = {0: _UPCA, 1: _UPCE, 2: _EAN13, 3: _EAN8, 4: _CODE39, 5: _ITF, 6: _CODABAR}
_LENGTH_PREFIXED = {
    65: _UPCA,
    66: _UPCE,
    67: _EAN13,
    68: _EAN8,
    69: _CODE39,
    70: _ITF,
    71: _CODABAR,
    72: _CODE93,
    73: _CODE128,
}
# GS k m=73: "{A"/"{B"/"{C" select a code set, "{S" shifts one character, "{1".."{4" are FNC1..4, "{{" is "{".
CODE128_SETS = {ord("A"): range(0x60), ord("B"): range(0x20, 0x80), ord("C"): range(100)}
CODE128_CONTROLS = frozenset(b"ABCS1234{")


def _check_barcode(stream: bytes, i: int, symbology: _Symbology, data: bytes) -> None:
    """The printer stops reading a barcode at a length or character outside its symbology's range and prints what
    follows as data: every length and character must be in range."""
    if len(data) not in symbology.lengths:
        raise _Refused(i, f"GS k {symbology.name} with {len(data)} characters (out of range)")
    bad = next((byte for byte in data if byte not in symbology.characters), None)
    if bad is not None:
        raise _Refused(i, f"GS k {symbology.name} with character 0x{bad:02x} out of range")
    if symbology.ends is not None and (data[0] not in symbology.ends or data[-1] not in symbology.ends):
        raise _Refused(i, f"GS k {symbology.name} without its start and stop characters")
    if symbology is _CODE128:
        _check_code128(i, data)


def _check_code128(i: int, data: bytes) -> None:
    if data[0] != ord("{") or data[1] not in CODE128_SETS:
        raise _Refused(i, "GS k CODE128 that does not start with {A, {B or {C")
    code_set, position = data[1], 2
    while position < len(data):
        byte = data[position]
        if byte == ord("{"):
            if position + 1 >= len(data) or data[position + 1] not in CODE128_CONTROLS:
                raise _Refused(i, "GS k CODE128 with an undefined { sequence")
            control = data[position + 1]
            if control in CODE128_SETS:
                code_set = control
            elif control == ord("S"):  # the next character comes from the other of code sets A and B
                shifted = ord("B") if code_set == ord("A") else ord("A")
                if code_set == ord("C") or position + 2 >= len(data) or data[position + 2] not in CODE128_SETS[shifted]:
                    raise _Refused(i, "GS k CODE128 with an undefined {S shift")
                position += 1
            elif control == ord("{") and code_set != ord("B"):
                raise _Refused(i, "GS k CODE128 with {{ outside code set B")
            position += 2
            continue
        if byte not in CODE128_SETS[code_set]:
            raise _Refused(i, f"GS k CODE128 with character 0x{byte:02x} out of range for code set {chr(code_set)}")
        position += 1


_SPECIAL: dict[tuple[int, int], Callable[[_Walk, int], int]] = {
    (ESC, 0x2A): _Walk._esc_bit_image,
    (ESC, 0x44): _Walk._esc_tabs,
    (GS, 0x56): _Walk._gs_cut,
    (GS, 0x76): _Walk._gs_raster,
    (GS, 0x6B): _Walk._gs_barcode,
    (GS, 0x28): _Walk._gs_extended,
    (GS, 0x38): _Walk._gs_graphics_32,
}
