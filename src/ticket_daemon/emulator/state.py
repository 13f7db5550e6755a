"""The interpreter's state and the helpers every command family uses: the modes ESC @ resets, text printing,
and the list of what was not understood."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from ticket_daemon.document.codetables import CODECS_BY_NUMBER
from ticket_daemon.emulator import fonts
from ticket_daemon.emulator.printer import Printer, TextStyle
from ticket_daemon.emulator.reader import ByteReader
from ticket_daemon.escpos.commandset import command_name

Step = Generator[None, None, None]

MAX_UNKNOWN = 1000  # entries kept in ``unknown``: a stream of garbage must not grow it without bound
TEXT_RUN = 4096  # printable bytes taken at a time by the text fast path (no generator step per character)
NUL_DATA_LIMIT = 255  # GS k m=0..6: data longer than this without its NUL is not a barcode
TAB_LIMIT = 32  # ESC D: at most 32 tab positions
QR_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}  # GS ( k fn=69 n
# ESC t n — a number the printer has no page for decodes as PC437.
FALLBACK_CODEC = "cp437"
KANJI_CODEC = "gb18030"  # FS & — two-byte characters of Chinese-market printers
HT, LF, CR, FF, CAN, NUL = 0x09, 0x0A, 0x0D, 0x0C, 0x18, 0x00


@lru_cache(maxsize=128)  # bounded: one entry per code page (escpos-printer-db lists about 50 with a codec)
def high_half(codec: str) -> str:
    """Characters 0x80..0xFF of a code table; bytes the table leaves undefined print as '?'. Each byte is read on
    its own: in an ``ESC t`` page a byte is one character (CP932's lead bytes alone are undefined)."""
    chars = (bytes((byte,)).decode(codec, errors="replace")[:1] or "?" for byte in range(0x80, 0x100))
    return "".join(chars).replace("\ufffd", "?")


def one_line(text: str) -> str:
    """Data shown inside a transcript marker, with control characters escaped so a marker stays on one line."""
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)


@dataclass
class Modes:
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


def switched_on(n: int) -> bool:
    return bool(n & 1)


def choice(n: int, count: int) -> int | None:
    """ESC/POS selectors accept both n and the ASCII digit '0' + n; anything else leaves the setting alone."""
    if 0 <= n < count:
        return n
    if 0x30 <= n < 0x30 + count:
        return n - 0x30
    return None


class InterpreterState:
    """What every command family reads and changes: the byte reader, the print mechanism, the modes."""

    def __init__(self, dot_width: int, printer: Printer, codecs: Mapping[int, str] = CODECS_BY_NUMBER) -> None:
        self.dot_width = dot_width
        self._codecs = codecs  # ESC t n → the codec of the page this printer selects with n
        self._reader = ByteReader()
        self._printer = printer
        self._modes = Modes()
        self._unknown: list[str] = []

    def _note_unknown(self, description: str, offset: int) -> None:
        if len(self._unknown) < MAX_UNKNOWN:
            self._unknown.append(f"{description} at byte {offset}")

    def _column_width(self) -> int:
        """Dots one character of the current font and size takes, spacing included (tabs count in these)."""
        style = self._modes.style()
        return (fonts.cell_font(style.font).width + style.spacing) * style.width

    def _print_text(self, run: bytes) -> None:
        style = self._modes.style()
        high = high_half(self._codecs.get(self._modes.code_table, FALLBACK_CODEC))
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
            self._note_unknown(command_name(prefix), start)
            return
        self._reader.take_byte()
        self._note_unknown(command_name(prefix + bytes((following,))), start)
