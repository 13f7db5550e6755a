"""GS ( and GS 8 L: length-prefixed extended commands — QR codes (GS ( k) and graphics (GS ( L, GS 8 L)."""

from __future__ import annotations

import numpy as np

from ticket_daemon.emulator import barcodes
from ticket_daemon.emulator.state import QR_LEVELS, InterpreterState, Step, one_line
from ticket_daemon.escpos.commands import GS
from ticket_daemon.escpos.commandset import command_name

GS_PAREN_SETTINGS = frozenset(b"CDEHKMNP")  # GS ( C/D/E/H/K/M/N/P — memory, real-time, setup, density, colour …


class ExtendedCommands(InterpreterState):
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
            self._note_unknown(command_name(bytes((GS, ord("("), family))), start)

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
        self._printer.draw_block(mask, f"[qr {one_line(text)}]")

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
