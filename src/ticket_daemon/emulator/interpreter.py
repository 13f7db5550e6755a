"""ESC/POS interpreter: bytes in (in chunks of any size), a picture of the receipt and a transcript out.

``Emulator`` is sans-I/O like python-websockets' protocol objects: ``feed`` pushes bytes into a parser written as a
generator that pulls them back out (``reader.ByteReader``), so a command cut between two ``feed`` calls simply
waits for the rest. Command meanings follow the Epson ESC/POS reference; docs/document.md "Commands" lists the ones
our renderer emits. Anything not understood is recorded in ``unknown`` with its byte offset and skipped. The command
families live in ``esc`` (ESC, FS, DLE), ``gs`` and ``extended`` (GS ( and GS 8 L); their shared state in ``state``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PIL import Image

from ticket_daemon.document.codetables import CODECS_BY_NUMBER
from ticket_daemon.emulator.esc import EscCommands
from ticket_daemon.emulator.gs import GsCommands
from ticket_daemon.emulator.page import MAX_PAGE_DOTS
from ticket_daemon.emulator.printer import Printer
from ticket_daemon.emulator.state import CAN, CR, FF, HT, KANJI_CODEC, LF, NUL, TEXT_RUN, Step
from ticket_daemon.escpos.commands import DLE, ESC, FS, GS
from ticket_daemon.escpos.commandset import command_name
from ticket_daemon.escpos.typefaces import BUILT_IN, Typefaces

MIN_DOT_WIDTH, MAX_DOT_WIDTH = 48, 4096  # a print head between 6 mm and 50 cm wide


class Emulator(EscCommands, GsCommands):
    """Feed it ESC/POS bytes; read back the receipt as a picture and a transcript.

    ``typefaces`` draw the printer's characters (the caller finds the font files; without them Pillow's built-in
    font is used, so the picture is the same on every machine either way). ``codecs`` is the printer's ``ESC t``
    table (number → Python codec; a model's from ``escpos.printerdb.ModelProfile.codecs``); by default the six
    Epson-numbered pages of a printer of no known model.
    """

    def __init__(
        self, dot_width: int = 576, *, typefaces: Typefaces = BUILT_IN, codecs: Mapping[int, str] = CODECS_BY_NUMBER
    ) -> None:
        if not MIN_DOT_WIDTH <= dot_width <= MAX_DOT_WIDTH:
            raise ValueError(f"dot_width must be {MIN_DOT_WIDTH}..{MAX_DOT_WIDTH}, got {dot_width}")
        super().__init__(dot_width, Printer(dot_width, typefaces), codecs)
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
                self._note_unknown(command_name(bytes((byte,))), start)


@dataclass(frozen=True)
class Emulation:
    png: bytes
    transcript: str
    width: int
    height: int
    unknown: tuple[str, ...]


def emulate(
    data: bytes,
    dot_width: int = 576,
    *,
    typefaces: Typefaces = BUILT_IN,
    codecs: Mapping[int, str] = CODECS_BY_NUMBER,
) -> Emulation:
    """Everything ``data`` prints on a ``dot_width``-dot printer with the ``ESC t`` table ``codecs``, in one call."""
    emulator = Emulator(dot_width, typefaces=typefaces, codecs=codecs)
    emulator.feed(data)
    image = emulator.page()
    return Emulation(
        png=emulator.page_png(),
        transcript=emulator.transcript(),
        width=image.width,
        height=image.height,
        unknown=tuple(emulator.unknown),
    )
