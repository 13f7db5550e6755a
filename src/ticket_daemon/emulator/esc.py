"""ESC, FS and DLE commands: print modes, positions, line spacing, bit images, Kanji mode, real-time requests."""

from __future__ import annotations

import numpy as np

from ticket_daemon.emulator.printer import DEFAULT_LINE_SPACING
from ticket_daemon.emulator.state import NUL, TAB_LIMIT, InterpreterState, Modes, Step, choice, switched_on
from ticket_daemon.escpos.commands import EOT, ESC, FS
from ticket_daemon.escpos.commandset import (
    DC4,
    DLE_DC4_ARGUMENTS,
    ENQ,
    ESC_PARAMETERS,
    FS_PARAMETERS,
    FS_USER_KANJI_BYTES,
    command_name,
)

# Commands that change nothing drawn here, skipped by their length in the shared table (escpos/commandset.py).
ESC_NOT_DRAWN = frozenset(b"=RrVUT%?uecWSLv<\x0c")
FS_NOT_DRAWN = frozenset(b"!-CWS?")


class EscCommands(InterpreterState):
    def _esc(self, start: int) -> Step:
        reader, printer = self._reader, self._printer
        command = yield from reader.peek_byte()
        if command < 0x20 and command not in ESC_NOT_DRAWN:
            yield from self._unknown_prefix(bytes((ESC,)), start)
            return
        reader.take_byte()
        c = chr(command)
        if c == "@":  # ESC @ — initialize
            self._modes = Modes()
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
        elif command in ESC_NOT_DRAWN:
            yield from reader.skip(ESC_PARAMETERS[command])
        else:
            self._note_unknown(command_name(bytes((ESC, command))), start)

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
            modes.emphasized = switched_on(n)
        elif c == "G":  # ESC G n — double-strike
            modes.double_strike = switched_on(n)
        elif c == "-":  # ESC - n — underline 0/1/2 dots
            underline = choice(n, 3)
            modes.underline = modes.underline if underline is None else underline
        elif c == "M":  # ESC M n — font A/B (C and beyond print as B)
            font = choice(n, 5)
            modes.font = modes.font if font is None else min(font, 1)
        elif c == "a":  # ESC a n — justification
            align = choice(n, 3)
            if align is not None:
                printer.set_align(align)
        elif c == "t":  # ESC t n — character code table
            modes.code_table = n
        elif c == "d":  # ESC d n — print and feed n lines
            printer.feed_lines(n)
        elif c == "J":  # ESC J n — print and feed n dots
            printer.feed_dots(n)
        elif c == "{":  # ESC { n — upside-down characters
            modes.upside_down = switched_on(n)
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
            yield from reader.skip(FS_PARAMETERS[command])
            self._note_unknown("FS p (NV bit image)", start)
        elif command == ord("2"):  # FS 2 c1 c2 d1..d72 — define a user-defined Kanji (kept in the printer)
            yield from reader.skip(2 + FS_USER_KANJI_BYTES)
        elif command in FS_NOT_DRAWN:
            yield from reader.skip(FS_PARAMETERS[command])
        else:
            self._note_unknown(command_name(bytes((FS, command))), start)

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
            if fn not in DLE_DC4_ARGUMENTS:
                self._note_unknown(f"DLE DC4 fn={fn}", start)
                return
            yield from reader.skip(DLE_DC4_ARGUMENTS[fn])
            if fn == 1:  # DLE DC4 1 m t — real-time pulse
                self._printer.note("[pulse]")
        else:
            self._note_unknown("DLE", start)
