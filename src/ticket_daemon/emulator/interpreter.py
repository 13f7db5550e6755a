"""ESC/POS interpreter: bytes in (in chunks of any size), a picture of the receipt and a transcript out.

``Emulator`` is sans-I/O like python-websockets' protocol objects: ``feed`` pushes bytes into a parser written as a
generator that pulls them back out (``reader.ByteReader``), so a command cut between two ``feed`` calls simply
waits for the rest. Command meanings follow the Epson ESC/POS reference; DOCUMENT.md lists the ones our renderer
emits. Anything not understood is recorded in ``unknown`` with its byte offset and skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from PIL import Image

from ticket_daemon.document.codetables import CODECS_BY_NUMBER
from ticket_daemon.emulator import barcodes, fonts
from ticket_daemon.emulator.page import MAX_PAGE_DOTS
from ticket_daemon.emulator.printer import DEFAULT_LINE_SPACING, Printer, TextStyle
from ticket_daemon.emulator.reader import ByteReader
from ticket_daemon.escpos.commands import DLE, EOT, ESC, FS, GS

Step = Generator[None, None, None]

MAX_UNKNOWN = 1000  # entries kept in ``unknown``: a stream of garbage must not grow it without bound
TEXT_RUN = 4096  # printable bytes taken at a time by the text fast path (no generator step per character)
NUL_DATA_LIMIT = 255  # GS k m=0..6: data longer than this without its NUL is not a barcode
TAB_LIMIT = 32  # ESC D: at most 32 tab positions
QR_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}  # GS ( k fn=69 n
MIN_DOT_WIDTH, MAX_DOT_WIDTH = 48, 4096  # a print head between 6 mm and 50 cm wide

# ESC t n — any table other than the supported ones decodes as PC437.
FALLBACK_CODEC = "cp437"
KANJI_CODEC = "gb18030"  # FS & — two-byte characters of Chinese-market printers
HT, LF, CR, FF, CAN, NUL = 0x09, 0x0A, 0x0D, 0x0C, 0x18, 0x00
ENQ, DC4 = 0x05, 0x14

# Commands with fixed-size arguments that change nothing we draw (skipped silently): command byte → argument count.
ESC_SETTINGS = {
    ord("="): 1,  # ESC = n — select peripheral device
    ord("R"): 1,  # ESC R n — international character set
    ord("r"): 1,  # ESC r n — print colour
    ord("V"): 1,  # ESC V n — 90° rotation
    ord("U"): 1,  # ESC U n — unidirectional printing
    ord("T"): 1,  # ESC T n — page mode print direction
    ord("%"): 1,  # ESC % n — user-defined character set
    ord("?"): 1,  # ESC ? n — cancel user-defined character
    ord("u"): 1,  # ESC u n — transmit peripheral status
    ord("e"): 1,  # ESC e n — reverse feed (not drawn)
    ord("c"): 2,  # ESC c 3 n / ESC c 4 n / ESC c 5 n — paper sensors, panel buttons
    ord("W"): 8,  # ESC W — page mode print area
    ord("S"): 0,  # ESC S — standard mode
    ord("L"): 0,  # ESC L — page mode (drawn as standard mode)
    ord("v"): 0,  # ESC v — transmit paper sensor status
    ord("<"): 0,  # ESC < — return home
    FF: 0,  # ESC FF — print data in page mode
}
GS_SETTINGS = {
    ord("a"): 1,  # GS a n — automatic status back
    ord("b"): 1,  # GS b n — smoothing
    ord("r"): 1,  # GS r n — transmit status
    ord("I"): 1,  # GS I n — transmit printer ID
    ord("j"): 1,  # GS j n — automatic ink status back
    ord("T"): 1,  # GS T n — print position to the beginning of the line
    ord("P"): 2,  # GS P x y — motion units
    ord("$"): 2,  # GS $ — page mode vertical position
    ord("\\"): 2,  # GS \ — page mode relative vertical position
    # GS : … GS : defines a macro and GS ^ r t m runs it r times (m = 1: once per FEED button press). The
    # commands inside a definition are interpreted as they arrive, so a preview shows the macro once.
    ord("^"): 3,  # GS ^ r t m — execute macro
    ord(":"): 0,  # GS : — start/end macro definition
    ord("g"): 4,  # GS g 0 m nL nH / GS g 2 m nL nH — maintenance counters
    ord("z"): 3,  # GS z 0 t1 t2 — online recovery wait time
}
FS_SETTINGS = {
    ord("!"): 1,  # FS ! n — Kanji print mode
    ord("-"): 1,  # FS - n — Kanji underline
    ord("C"): 1,  # FS C n — Kanji code system
    ord("W"): 1,  # FS W n — Kanji quadruple size
    ord("S"): 2,  # FS S n1 n2 — Kanji spacing
    ord("?"): 2,  # FS ? c1 c2 — cancel user-defined Kanji
    ord("2"): 74,  # FS 2 c1 c2 d1..d72 — define user-defined Kanji (24x24)
}
GS_PAREN_SETTINGS = frozenset(b"CDEHKMNP")  # GS ( C/D/E/H/K/M/N/P — memory, real-time, setup, density, colour …
# GS k m = 0..6 are the NUL-terminated forms of m = 65..71.
NUL_FORM_OFFSET = 65


@lru_cache(maxsize=16)  # bounded: one entry per code table
def _high_half(codec: str) -> str:
    """Characters 0x80..0xFF of a code table; bytes the table leaves undefined print as '?'."""
    return bytes(range(0x80, 0x100)).decode(codec, errors="replace").replace("\ufffd", "?")


def _name(codes: bytes) -> str:
    """Readable command name: ``GS ( L``, ``ESC 0x0e``, ``DLE DC4``."""
    names = {ESC: "ESC", GS: "GS", FS: "FS", DLE: "DLE", EOT: "EOT", DC4: "DC4", ENQ: "ENQ", 0x20: "SP"}
    return " ".join(
        names[code] if code in names else chr(code) if 0x20 < code < 0x7F else f"0x{code:02x}" for code in codes
    )


def _one_line(text: str) -> str:
    """Data shown inside a transcript marker, with control characters escaped so a marker stays on one line."""
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)


@dataclass
class _Modes:
    """Everything ESC @ resets, apart from the layout settings the Printer keeps."""

    font: int = 0
    width: int = 1
    height: int = 1
    emphasized: bool = False
    double_strike: bool = False
    underline: int = 0
    inverse: bool = False
    upside_down: bool = False
    spacing: int = 0
    code_table: int = 0
    kanji: bool = False
    barcode_module: int = 3  # GS w
    barcode_height: int = 162  # GS h
    hri_position: int = 0  # GS H
    hri_font: int = 0  # GS f
    qr_module: int = 3  # GS ( k fn=67
    qr_level: str = "L"  # GS ( k fn=69
    qr_data: bytes = b""  # GS ( k fn=80
    graphics: tuple[int, int, bytes] | None = None  # GS ( L fn=112: (width, height, rows) awaiting fn=50
    counter: int = 1  # GS C — serial number printed by GS c
    counter_range: tuple[int, int, int, int] = (1, 65535, 1, 1)  # GS C 1: first, last, step, prints per value
    counter_printed: int = 0  # prints of the current value so far
    counter_digits: int = 0  # GS C 0 n: digits printed (0 = as many as needed)
    counter_layout: int = 0  # GS C 0 m: 0 right-aligned with spaces, 1 with zeros, 2 left-aligned

    def style(self, *, wide: bool = False) -> TextStyle:
        return TextStyle(
            font=self.font,
            width=self.width,
            height=self.height,
            bold=self.emphasized or self.double_strike,
            underline=self.underline,
            inverse=self.inverse,
            upside_down=self.upside_down,
            spacing=self.spacing,
            wide=wide,
        )


def _on(n: int) -> bool:
    return bool(n & 1)


def _choice(n: int, count: int) -> int | None:
    """ESC/POS selectors accept both n and the ASCII digit '0' + n; anything else leaves the setting alone."""
    if 0 <= n < count:
        return n
    if 0x30 <= n < 0x30 + count:
        return n - 0x30
    return None


class Emulator:
    """Feed it ESC/POS bytes; read back the receipt as a picture and a transcript."""

    def __init__(self, dot_width: int = 576) -> None:
        if not MIN_DOT_WIDTH <= dot_width <= MAX_DOT_WIDTH:
            raise ValueError(f"dot_width must be {MIN_DOT_WIDTH}..{MAX_DOT_WIDTH}, got {dot_width}")
        self.dot_width = dot_width
        self._reader = ByteReader()
        self._printer = Printer(dot_width)
        self._modes = _Modes()
        self._unknown: list[str] = []
        self._parser = self._run()

    # --- public interface ----------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Interpret ``data``; a command cut short waits for the next call. Never raises on any input."""
        self._reader.append(bytes(data))
        while True:
            position = self._reader.position
            try:
                next(self._parser)
                return
            except Exception as error:  # a bug must not take the printer down: note it and carry on after it
                self._note_unknown(f"internal error {type(error).__name__}", position)
                self._parser = self._run()
                if self._reader.position == position:
                    self._reader.take_byte()

    def page(self) -> Image.Image:
        """The receipt so far (text still in the line buffer shown as if printed), mode "L", dot_width wide."""
        page, _ = self._printer.finished()
        return page.image()

    def page_png(self) -> bytes:
        page, _ = self._printer.finished()
        return page.png()

    def transcript(self) -> str:
        page, lines = self._printer.finished()
        if page.clipped:
            lines = [*lines, f"[page truncated at {MAX_PAGE_DOTS} dots]"]
        return "\n".join(lines)

    @property
    def unknown(self) -> list[str]:
        return list(self._unknown)

    # --- parser --------------------------------------------------------------------------------------------
    def _note_unknown(self, description: str, offset: int) -> None:
        if len(self._unknown) < MAX_UNKNOWN:
            self._unknown.append(f"{description} at byte {offset}")

    def _run(self) -> Step:
        reader = self._reader
        controls: dict[int, Callable[[int], Step]] = {ESC: self._esc, GS: self._gs, FS: self._fs, DLE: self._dle}
        while True:
            if not self._modes.kanji:
                run = reader.take_run(TEXT_RUN)
                if run:
                    self._print_text(run)
                    continue
            byte = reader.take_byte()
            if byte < 0:
                yield
                continue
            start = reader.position - 1
            if byte >= 0x20:
                if byte >= 0x80 and self._modes.kanji:  # FS & — a two-byte character
                    second = yield from reader.peek_byte()
                    if second < 0x40:  # not a second byte: leave it to start whatever comes next
                        self._printer.add_character("?", self._modes.style(wide=True))
                        continue
                    reader.take_byte()
                    char = bytes((byte, second)).decode(KANJI_CODEC, errors="replace")[:1]
                    self._printer.add_character(char, self._modes.style(wide=True))
                else:
                    self._print_text(bytes((byte,)))
            elif byte == LF:  # LF — print and line feed
                self._printer.feed_lines(1)
            elif byte == HT:  # HT — horizontal tab
                self._printer.tab(self._column_width())
            elif byte in (CR, NUL, FF, CAN):  # CR (auto line feed off), NUL padding, FF/CAN (page mode only)
                pass
            elif byte in controls:
                yield from controls[byte](start)
            else:
                self._note_unknown(_name(bytes((byte,))), start)

    def _column_width(self) -> int:
        """Dots one character of the current font and size takes, spacing included (tabs count in these)."""
        style = self._modes.style()
        return (fonts.cell_font(style.font).width + style.spacing) * style.width

    def _print_text(self, run: bytes) -> None:
        style = self._modes.style()
        high = _high_half(CODECS_BY_NUMBER.get(self._modes.code_table, FALLBACK_CODEC))
        add = self._printer.add_character
        for byte in run:
            if byte < 0x7F:
                add(chr(byte), style)
            elif byte == 0x7F:
                add(" ", style)
            else:
                add(high[byte - 0x80], style)

    def _unknown_prefix(self, prefix: bytes, start: int) -> Step:
        """Report ``prefix`` + the next byte as unknown; a following control byte is left to start the next command."""
        following = yield from self._reader.peek_byte()
        if following < 0x20:
            self._note_unknown(_name(prefix), start)
            return
        self._reader.take_byte()
        self._note_unknown(_name(prefix + bytes((following,))), start)

    # --- ESC -----------------------------------------------------------------------------------------------
    def _esc(self, start: int) -> Step:
        reader, printer = self._reader, self._printer
        command = yield from reader.peek_byte()
        if command < 0x20 and command not in ESC_SETTINGS:
            yield from self._unknown_prefix(bytes((ESC,)), start)
            return
        reader.take_byte()
        c = chr(command)
        if c == "@":  # ESC @ — initialize
            self._modes = _Modes()
            printer.reset()
        elif c in "!EG-MatdJ{3 ":
            n = yield from reader.read_byte()
            self._esc_one(c, n)
        elif c == "2":  # ESC 2 — default line spacing
            printer.line_spacing = DEFAULT_LINE_SPACING
        elif c == "p":  # ESC p m t1 t2 — generate pulse (cash drawer)
            yield from reader.skip(3)
            printer.note("[pulse]")
        elif c == "B":  # ESC B n t — buzzer
            times = yield from reader.read_byte()
            yield from reader.skip(1)
            if times:
                printer.note("[beep]")
        elif c in "$\\":  # ESC $ — absolute / ESC \ — relative horizontal position
            low_high = yield from reader.read(2)
            value = int.from_bytes(low_high, "little")
            if c == "$":
                printer.move_to(value, self._column_width())
            else:
                signed = value - 0x10000 if value >= 0x8000 else value
                printer.move_to(printer.line_cursor + signed, self._column_width())
        elif c == "D":  # ESC D n1..nk NUL — tab positions in characters
            yield from self._esc_tabs()
        elif c == "*":  # ESC * m nL nH d1..dk — bit image in the line
            yield from self._esc_bit_image(start)
        elif c in "im":  # ESC i / ESC m — partial cut (legacy)
            printer.cut(partial=True, feed=0)
        elif c == "&":  # ESC & y c1 c2 [x d1..d(y*x)]… — define user-defined characters
            yield from self._esc_user_characters()
        elif c == "(":  # ESC ( x pL pH … — extended settings (beeper, …), skipped by length
            header = yield from reader.read(3)
            yield from reader.skip(header[1] | header[2] << 8)
        elif command in ESC_SETTINGS:
            yield from reader.skip(ESC_SETTINGS[command])
        else:
            self._note_unknown(_name(bytes((ESC, command))), start)

    def _esc_one(self, c: str, n: int) -> None:
        """The one-argument ESC commands."""
        modes, printer = self._modes, self._printer
        if c == "!":  # ESC ! n — print mode: font, emphasized, double height/width, underline
            modes.font = n & 1
            modes.emphasized = bool(n & 0x08)
            modes.height = 2 if n & 0x10 else 1
            modes.width = 2 if n & 0x20 else 1
            modes.underline = 1 if n & 0x80 else 0
        elif c == "E":  # ESC E n — emphasized
            modes.emphasized = _on(n)
        elif c == "G":  # ESC G n — double-strike
            modes.double_strike = _on(n)
        elif c == "-":  # ESC - n — underline 0/1/2 dots
            underline = _choice(n, 3)
            modes.underline = modes.underline if underline is None else underline
        elif c == "M":  # ESC M n — font A/B (C and beyond print as B)
            font = _choice(n, 5)
            modes.font = modes.font if font is None else min(font, 1)
        elif c == "a":  # ESC a n — justification
            align = _choice(n, 3)
            if align is not None:
                printer.set_align(align)
        elif c == "t":  # ESC t n — character code table
            modes.code_table = n
        elif c == "d":  # ESC d n — print and feed n lines
            printer.feed_lines(n)
        elif c == "J":  # ESC J n — print and feed n dots
            printer.feed_dots(n)
        elif c == "{":  # ESC { n — upside-down characters
            modes.upside_down = _on(n)
        elif c == "3":  # ESC 3 n — line spacing in dots
            printer.line_spacing = n
        elif c == " ":  # ESC SP n — right-side character spacing
            modes.spacing = n

    def _esc_tabs(self) -> Step:
        reader = self._reader
        end = yield from reader.find(NUL, TAB_LIMIT + 1)
        positions = yield from reader.read(TAB_LIMIT if end is None else end)
        if end is not None:
            reader.take_byte()  # the NUL
        column = self._column_width()
        stops: list[int] = []
        for n in positions:  # positions must ascend; the first that does not ends the list
            if stops and n * column <= stops[-1]:
                break
            stops.append(n * column)
        self._printer.tab_stops = [stop for stop in stops if stop > 0]

    def _esc_bit_image(self, start: int) -> Step:
        reader = self._reader
        header = yield from reader.read(3)
        mode, columns = header[0], header[1] | header[2] << 8
        # m: (bytes per column, vertical scale, horizontal scale) for 8-dot single/double, 24-dot single/double.
        layouts = {0: (1, 3, 2), 1: (1, 3, 1), 32: (3, 1, 2), 33: (3, 1, 1)}
        if mode not in layouts:
            self._note_unknown(f"ESC * m={mode}", start)
            return
        per_column, scale_y, scale_x = layouts[mode]
        kept = min(columns, self.dot_width // scale_x + 1)
        data = yield from reader.read(kept * per_column)
        yield from reader.skip((columns - kept) * per_column)
        if kept == 0:
            return
        column_bytes = np.frombuffer(data, dtype=np.uint8).reshape(kept, per_column)
        bits = np.unpackbits(column_bytes, axis=1).astype(bool).T  # rows = dots from the top, MSB first
        mask = np.repeat(np.repeat(bits, scale_y, axis=0), scale_x, axis=1)
        self._printer.add_graphic(mask)

    def _esc_user_characters(self) -> Step:
        reader = self._reader
        header = yield from reader.read(3)
        rows, first, last = header
        for _ in range(max(0, last - first + 1)):
            width = yield from reader.read_byte()
            yield from reader.skip(rows * width)

    # --- GS ------------------------------------------------------------------------------------------------
    def _gs(self, start: int) -> Step:
        reader, modes, printer = self._reader, self._modes, self._printer
        command = yield from reader.peek_byte()
        if command < 0x20:
            yield from self._unknown_prefix(bytes((GS,)), start)
            return
        reader.take_byte()
        c = chr(command)
        if c == "!":  # GS ! n — character size: width multiplier in the high nibble, height in the low
            n = yield from reader.read_byte()
            if n >> 4 < 8 and n & 0x0F < 8:
                modes.width, modes.height = (n >> 4) + 1, (n & 0x0F) + 1
        elif c == "B":  # GS B n — white/black reverse
            n = yield from reader.read_byte()
            modes.inverse = _on(n)
        elif c == "V":  # GS V — cut
            yield from self._gs_cut(start)
        elif c == "v":  # GS v 0 — raster bit image
            yield from self._gs_raster(start)
        elif c == "k":  # GS k — barcode
            yield from self._gs_barcode(start)
        elif c == "(":  # GS ( x pL pH … — extended commands, sized by pL pH
            yield from self._gs_paren(start)
        elif c == "8":  # GS 8 L p1 p2 p3 p4 … — graphics with a 32-bit length
            yield from self._gs_8(start)
        elif c in "whHf":
            n = yield from reader.read_byte()
            self._gs_barcode_setting(c, n)
        elif c in "LW":  # GS L — left margin / GS W — print area width, in dots
            low_high = yield from reader.read(2)
            value = int.from_bytes(low_high, "little")
            if c == "L":
                printer.left_margin = value
            else:
                printer.area_width = value
        elif c == "*":  # GS * x y d1..d(x*y*8) — define downloaded bit image (kept in the printer, not drawn)
            size = yield from reader.read(2)
            yield from reader.skip(size[0] * size[1] * 8)
        elif c == "C":  # GS C — serial counter settings
            yield from self._gs_counter_setting(start)
        elif c == "c":  # GS c — print the serial counter, then count
            self._print_counter()
        elif c == "/":  # GS / m — print downloaded bit image: its data lives in the printer, so not drawn
            yield from reader.skip(1)
            self._note_unknown("GS / (downloaded bit image)", start)
        elif command in GS_SETTINGS:
            yield from reader.skip(GS_SETTINGS[command])
        else:
            self._note_unknown(_name(bytes((GS, command))), start)

    def _gs_counter_setting(self, start: int) -> Step:
        reader, modes = self._reader, self._modes
        function = yield from reader.read_byte()
        if function in (0, 0x30):  # GS C 0 n m — digits and layout
            n, m = yield from reader.read(2)
            modes.counter_digits, modes.counter_layout = min(n, 5), m if m <= 2 else 0
        elif function in (1, 0x31):  # GS C 1 aL aH bL bH n r — count mode A: range, step, repeats
            a = yield from reader.read(6)
            first, last = a[0] | a[1] << 8, a[2] | a[3] << 8
            modes.counter_range = (first, last, a[4], max(1, a[5]))
            modes.counter, modes.counter_printed = first, 0
        elif function in (2, 0x32):  # GS C 2 nL nH — counter value
            value = yield from reader.read(2)
            modes.counter, modes.counter_printed = value[0] | value[1] << 8, 0
        elif function == ord(";"):  # GS C ; sa ; sb ; sn ; sr ; sc ; — count mode B, decimal text fields
            fields: list[int] = []
            for _ in range(5):
                end = yield from reader.find(ord(";"), 7)
                if end is None:
                    self._note_unknown("GS C ; (malformed)", start)
                    return
                text = yield from reader.read(end + 1)
                fields.append(int(text[:-1]) if text[:-1].isdigit() else 0)
            first, last, step, repeat, current = fields
            modes.counter_range = (first, last, step, max(1, repeat))
            modes.counter, modes.counter_printed = current, 0
        else:
            self._note_unknown(f"GS C {function}", start)

    def _print_counter(self) -> None:
        """GS c — the counter as text in the current line, then the next value once it has printed r times."""
        modes = self._modes
        text = str(modes.counter)
        if modes.counter_digits:
            text = text[-modes.counter_digits :]
            if modes.counter_layout == 2:
                text = text.ljust(modes.counter_digits)
            else:
                text = text.rjust(modes.counter_digits, "0" if modes.counter_layout == 1 else " ")
        self._print_text(text.encode("ascii"))
        first, last, step, repeat = modes.counter_range
        modes.counter_printed += 1
        if modes.counter_printed >= repeat:
            modes.counter_printed = 0
            low, high = min(first, last), max(first, last)
            following = modes.counter + (step if first <= last else -step)
            modes.counter = following if low <= following <= high else first

    def _gs_barcode_setting(self, c: str, n: int) -> None:
        modes = self._modes
        if c == "w" and 1 <= n <= 6:  # GS w n — module width
            modes.barcode_module = n
        elif c == "h" and n >= 1:  # GS h n — bar height in dots
            modes.barcode_height = n
        elif c == "H":  # GS H n — HRI position: none/above/below/both
            position = _choice(n, 4)
            modes.hri_position = modes.hri_position if position is None else position
        elif c == "f":  # GS f n — HRI font
            font = _choice(n, 5)
            modes.hri_font = modes.hri_font if font is None else min(font, 1)

    def _gs_cut(self, start: int) -> Step:
        m = yield from self._reader.read_byte()
        if m in (0, 48, 1, 49):  # GS V m — cut at the current position
            self._printer.cut(partial=m in (1, 49), feed=0)
        elif m in (65, 66, 97, 98, 103, 104):  # GS V m n — feed n dots, then cut (odd m: full, even m: partial)
            n = yield from self._reader.read_byte()
            self._printer.cut(partial=m % 2 == 0, feed=n)
        else:
            self._note_unknown(f"GS V m={m}", start)

    def _gs_raster(self, start: int) -> Step:
        reader = self._reader
        kind = yield from reader.peek_byte()
        if kind not in (0, 0x30):
            yield from self._unknown_prefix(bytes((GS, ord("v"))), start)
            return
        header = yield from reader.read(6)
        mode = header[1]
        width_bytes, height = header[2] | header[3] << 8, header[4] | header[5] << 8
        # m: 0 normal, 1 double width, 2 double height, 3 quadruple
        scale = ((1, 1), (2, 1), (1, 2), (2, 2))[_choice(mode, 4) or 0]
        if _choice(mode, 4) is None:
            self._note_unknown(f"GS v 0 m={mode}", start)  # same data layout: drawn plain rather than lose sync
        if width_bytes == 0 or height == 0:
            return
        block = self._printer.begin_raster(width_bytes * 8, height, *scale)
        for row in range(height):
            if block.y + row * block.scale_y >= MAX_PAGE_DOTS:  # off the end of the page: consume, do not keep
                yield from reader.skip((height - row) * width_bytes)
                self._printer.page.clipped = True
                break
            data = yield from reader.read(width_bytes)
            self._printer.raster_row(block, row, data)
        self._printer.end_raster(block, height)

    def _gs_barcode(self, start: int) -> Step:
        reader = self._reader
        m = yield from reader.read_byte()
        if m <= 6:  # GS k m d1..dk NUL
            length = yield from reader.find(NUL, NUL_DATA_LIMIT + 1)
            if length is None:
                self._note_unknown(f"GS k m={m} without NUL", start)
                return
            data = yield from reader.read(length)
            reader.take_byte()
            system = m + NUL_FORM_OFFSET
        elif m in barcodes.SYMBOLOGY_NAMES:  # GS k m n d1..dn
            n = yield from reader.read_byte()
            data = yield from reader.read(n)
            system = m
        else:
            self._note_unknown(f"GS k m={m}", start)
            return
        name = barcodes.SYMBOLOGY_NAMES[system]
        try:
            symbol = barcodes.encode(system, data)
        except barcodes.SymbolError as error:
            self._note_unknown(f"GS k {name} not printable ({error})", start)
            return
        modes = self._modes
        shown = replace(symbol, data=_one_line(symbol.data))
        hri_style = TextStyle(font=modes.hri_font)
        printed = self._printer.draw_barcode(
            shown, modes.barcode_module, modes.barcode_height, modes.hri_position, hri_style
        )
        if not printed:
            self._note_unknown(f"GS k {name} wider than the print area", start)

    def _gs_paren(self, start: int) -> Step:
        reader = self._reader
        header = yield from reader.read(3)
        family, length = header[0], header[1] | header[2] << 8
        if family == ord("k"):  # GS ( k — 2D symbols
            payload = yield from reader.read(length)
            self._symbol_function(payload, start)
        elif family == ord("L"):  # GS ( L — graphics
            payload = yield from reader.read(length)
            self._graphics_function(payload, start, "GS ( L")
        elif family in GS_PAREN_SETTINGS:
            yield from reader.skip(length)
        else:
            yield from reader.skip(length)
            self._note_unknown(_name(bytes((GS, ord("("), family))), start)

    def _gs_8(self, start: int) -> Step:
        reader = self._reader
        family = yield from reader.peek_byte()
        if family != ord("L"):
            yield from self._unknown_prefix(bytes((GS, ord("8"))), start)
            return
        header = yield from reader.read(5)
        length = int.from_bytes(header[1:], "little")
        if length <= 0xFFFF:  # the GS ( L limit: larger graphics are consumed but not kept
            payload = yield from reader.read(length)
            self._graphics_function(payload, start, "GS 8 L")
            return
        yield from reader.skip(length)
        self._note_unknown(f"GS 8 L larger than {0xFFFF} bytes", start)

    def _symbol_function(self, payload: bytes, start: int) -> None:
        """GS ( k cn fn … — cn 49 is QR Code; other symbols (PDF417, MaxiCode, …) are not drawn."""
        if len(payload) < 2:
            self._note_unknown("GS ( k (too short)", start)
            return
        cn, fn = payload[0], payload[1]
        modes = self._modes
        if cn != 49:
            if fn == 0x51:  # the print function of another symbol type
                self._note_unknown(f"GS ( k cn={cn} fn={fn}", start)
            return
        if fn == 0x41:  # fn 65 — select model (model 2 is drawn whatever is asked)
            return
        if fn == 0x43 and len(payload) >= 3:  # fn 67 — module size
            if 1 <= payload[2] <= 16:
                modes.qr_module = payload[2]
        elif fn == 0x45 and len(payload) >= 3:  # fn 69 — error correction level
            modes.qr_level = QR_LEVELS.get(payload[2], modes.qr_level)
        elif fn == 0x50:  # fn 80 — store data (m = 48, then the data)
            modes.qr_data = payload[3:]
        elif fn == 0x51:  # fn 81 — print the stored symbol
            self._print_qr(start)
        elif fn != 0x52:  # fn 82 — transmit size: a reply, nothing drawn
            self._note_unknown(f"GS ( k cn=49 fn={fn}", start)

    def _print_qr(self, start: int) -> None:
        modes = self._modes
        try:
            modules = barcodes.qr_modules(modes.qr_data, modes.qr_level)
        except barcodes.SymbolError as error:
            self._note_unknown(f"GS ( k QR not printable ({error})", start)
            return
        scale = modes.qr_module
        mask = np.repeat(np.repeat(modules, scale, axis=0), scale, axis=1)
        text = modes.qr_data.decode("utf-8", errors="replace")
        if mask.shape[1] > self._printer.area[1]:
            self._note_unknown("GS ( k QR wider than the print area", start)
        self._printer.draw_block(mask, f"[qr {_one_line(text)}]")

    def _graphics_function(self, payload: bytes, start: int, name: str) -> None:
        """GS ( L / GS 8 L m fn … — fn 112 stores a raster graphic, fn 50 (or 2) prints it; the rest (NV
        graphics, capacity queries) are not understood here."""
        if len(payload) < 2:
            self._note_unknown(f"{name} (too short)", start)
            return
        fn = payload[1]
        if fn == 112 and len(payload) >= 10:
            # m fn a bx by c xL xH yL yH d1..dk — a: 48 monochrome; bx/by: 1 or 2 times scale
            width, height = payload[6] | payload[7] << 8, payload[8] | payload[9] << 8
            self._modes.graphics = (width, height, payload[10:])
            if payload[2] != 48 or payload[3] != 1 or payload[4] != 1:
                self._note_unknown(f"{name} fn=112 tone/scale drawn as plain monochrome", start)
        elif fn in (2, 50):
            self._print_graphics()
        else:
            self._note_unknown(f"{name} fn={fn}", start)

    def _print_graphics(self) -> None:
        if self._modes.graphics is None:
            return
        width, height, data = self._modes.graphics
        row_bytes = (width + 7) // 8
        if width == 0 or height == 0:
            return
        block = self._printer.begin_raster(width, height, 1, 1)
        for row in range(min(height, len(data) // max(1, row_bytes))):
            self._printer.raster_row(block, row, data[row * row_bytes : (row + 1) * row_bytes])
        self._printer.end_raster(block, height)

    # --- FS and DLE ----------------------------------------------------------------------------------------
    def _fs(self, start: int) -> Step:
        reader = self._reader
        command = yield from reader.peek_byte()
        if command < 0x20:
            yield from self._unknown_prefix(bytes((FS,)), start)
            return
        reader.take_byte()
        if command == ord("."):  # FS . — cancel Kanji character mode
            self._modes.kanji = False
        elif command == ord("&"):  # FS & — select Kanji character mode
            self._modes.kanji = True
        elif command == ord("p"):  # FS p n m — print NV bit image: its data lives in the printer, so not drawn
            yield from reader.skip(2)
            self._note_unknown("FS p (NV bit image)", start)
        elif command in FS_SETTINGS:
            yield from reader.skip(FS_SETTINGS[command])
        else:
            self._note_unknown(_name(bytes((FS, command))), start)

    def _dle(self, start: int) -> Step:
        """DLE EOT n / DLE ENQ n — real-time status and requests (answered by a printer, nothing printed);
        DLE DC4 fn … — real-time pulse and friends."""
        reader = self._reader
        command = yield from reader.peek_byte()
        if command in (EOT, ENQ):
            reader.take_byte()
            yield from reader.skip(1)
        elif command == DC4:
            reader.take_byte()
            fn = yield from reader.read_byte()
            arguments = {1: 2, 2: 2, 7: 1, 8: 7}
            if fn not in arguments:
                self._note_unknown(f"DLE DC4 fn={fn}", start)
                return
            yield from reader.skip(arguments[fn])
            if fn == 1:  # DLE DC4 1 m t — real-time pulse
                self._printer.note("[pulse]")
        else:
            self._note_unknown("DLE", start)


@dataclass(frozen=True)
class Emulation:
    png: bytes
    transcript: str
    width: int
    height: int
    unknown: tuple[str, ...]


def emulate(data: bytes, dot_width: int = 576) -> Emulation:
    """Everything ``data`` prints on a ``dot_width``-dot printer, in one call."""
    emulator = Emulator(dot_width)
    emulator.feed(data)
    image = emulator.page()
    return Emulation(
        png=emulator.page_png(),
        transcript=emulator.transcript(),
        width=image.width,
        height=image.height,
        unknown=tuple(emulator.unknown),
    )
