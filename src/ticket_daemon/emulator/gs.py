"""GS commands: character size, reverse, cuts, raster images, barcodes and the serial counter."""

from __future__ import annotations

from dataclasses import replace

from ticket_daemon.emulator import barcodes
from ticket_daemon.emulator.extended import ExtendedCommands
from ticket_daemon.emulator.page import MAX_PAGE_DOTS
from ticket_daemon.emulator.printer import TextStyle
from ticket_daemon.emulator.state import NUL, NUL_DATA_LIMIT, Step, choice, one_line, switched_on
from ticket_daemon.escpos.commands import GS
from ticket_daemon.escpos.commandset import GS_PARAMETERS, command_name

# Commands that change nothing drawn here, skipped by their length in the shared table (escpos/commandset.py).
# GS : … GS : defines a macro and GS ^ r t m runs it r times (m = 1: once per FEED button press). The commands
# inside a definition are interpreted as they arrive, so a preview shows the macro once.
GS_NOT_DRAWN = frozenset(b"abrIjTP$\\^:gz")
# GS k m = 0..6 are the NUL-terminated forms of m = 65..71.
NUL_FORM_OFFSET = 65


class GsCommands(ExtendedCommands):
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
            modes.inverse = switched_on(n)
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
        elif command in GS_NOT_DRAWN:
            yield from reader.skip(GS_PARAMETERS[command])
        else:
            self._note_unknown(command_name(bytes((GS, command))), start)

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
            position = choice(n, 4)
            modes.hri_position = modes.hri_position if position is None else position
        elif c == "f":  # GS f n — HRI font
            font = choice(n, 5)
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
        scale = ((1, 1), (2, 1), (1, 2), (2, 2))[choice(mode, 4) or 0]
        if choice(mode, 4) is None:
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
        shown = replace(symbol, data=one_line(symbol.data))
        hri_style = TextStyle(font=modes.hri_font)
        printed = self._printer.draw_barcode(
            shown, modes.barcode_module, modes.barcode_height, modes.hri_position, hri_style
        )
        if not printed:
            self._note_unknown(f"GS k {name} wider than the print area", start)
