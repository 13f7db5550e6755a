"""A receipt with characters the printer's code page lacks still prints, and the client is told what changed.

Expected bytes come from the code page charts (PC437, PC850, PC858, PC866, Windows-1252) and ESC t n
(Epson's numbers, docs/document.md "Profile": PC437=0, PC850=2, PC852=18, PC858=19, PC866=17, WPC1252=16).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticket_daemon.document import Align
from ticket_daemon.escpos.codepages import Placement, Tally, default_pages, encode_text, prepare_text
from ticket_daemon.escpos.typefaces import BUILT_IN
from ticket_daemon.resources import system_typefaces

SOURCE = Path(__file__).resolve().parents[2] / "src"

PLACEMENT = Placement(dot_width=576)
TABLES = ["PC437", "PC850", "PC852", "PC858", "PC866", "WPC1252"]
TABLE_NUMBERS = {0, 2, 16, 17, 18, 19}


def encoded(text: str, table: str, placement: Placement = PLACEMENT) -> bytes:
    return encode_text(text, default_pages(table), placement).data


def test_characters_of_the_active_page_print_as_its_bytes() -> None:
    assert encoded("Mañana é", "PC850") == b"Ma\xa4ana \x82"
    assert encoded("Mañana é", "WPC1252") == b"Ma\xf1ana \xe9"
    assert encoded("Жук", "PC866") == b"\x86\xe3\xaa"
    assert encoded("½°", "PC437") == b"\xab\xf8"


def test_a_character_missing_from_the_page_is_printed_from_another_page_and_the_page_restored() -> None:
    # € is not in PC437; PC858 has it at D5. ESC t 19, the euro, ESC t 0.
    assert encoded("€5", "PC437") == b"\x1b\x74\x13\xd5\x1b\x74\x005"


def test_a_foreign_word_is_one_page_switch_not_one_per_letter() -> None:
    # PC866: Д=84 а=A0 д=A4. The space between the words stays in the run.
    assert encoded("Да да!", "WPC1252") == b"\x1b\x74\x11\x84\xa0 \xa4\xa0\x1b\x74\x10!"


def test_typographic_quotes_come_from_windows_1252_when_the_page_is_pc850() -> None:
    assert encoded("“Hi”", "PC850") == b"\x1b\x74\x10\x93Hi\x94\x1b\x74\x02"


def test_a_character_no_page_has_is_transliterated_and_the_client_told() -> None:
    result = encode_text("a→b ǎ", default_pages("WPC1252"), PLACEMENT)
    assert result.data == b"a>b a"
    assert result.tally.notes(4) == ("TEXT: 2 characters printed as a close match in command 4 (e.g. '→' as '>')",)


def test_decomposed_accents_print_as_the_accented_letter() -> None:
    result = encode_text("Jose\u0301", default_pages("WPC1252"), PLACEMENT)
    assert result.data == b"Jos\xe9"
    assert result.tally == Tally()


def test_control_characters_other_than_lf_cr_tab_are_stripped() -> None:
    text = "".join(chr(c) for c in range(0x20)) + "\x7f\x85\x9f\ud800ok"
    assert encoded(text, "PC437") == b"\t\n\rok"


def test_invisible_formatting_characters_are_dropped_silently() -> None:
    result = encode_text("a\u200db\ufeffc", default_pages("PC850"), PLACEMENT)
    assert result.data == b"abc"
    assert result.tally.notes(0) == ()


def test_prepared_text_counts_characters_as_they_will_be_printed() -> None:
    prepared = prepare_text("→ok", default_pages("PC850"))
    assert prepared.text == ">ok"
    assert prepared.tally.transliterated == 1


def graphics(data: bytes) -> list[tuple[int, int]]:
    """(width in bytes, rows) of every GS v 0 command in ``data``."""
    found = []
    i = data.find(b"\x1d\x76\x30\x00")
    while i >= 0:
        width, rows = data[i + 4] | data[i + 5] << 8, data[i + 6] | data[i + 7] << 8
        found.append((width, rows))
        i = data.find(b"\x1d\x76\x30\x00", i + 8 + width * rows)
    return found


def test_characters_no_page_or_transliteration_covers_print_as_an_image() -> None:
    result = encode_text("A 你好 B", default_pages("WPC1252"), PLACEMENT)
    # The image starts on its own line, then the text goes on after it.
    assert result.data.startswith(b"A \n\x1d\x76\x30\x00")
    assert result.data.endswith(b" B")
    assert [rows for _, rows in graphics(result.data)] == [24]  # one font A line at 203 dpi
    assert result.tally.notes(5) == ("TEXT: 2 characters printed as image in command 5",)


def test_image_text_is_as_tall_as_the_text_size_and_keeps_the_alignment() -> None:
    placement = Placement(dot_width=384, align=Align.CENTER, width_multiplier=2, height_multiplier=2)
    data = encode_text("✈", default_pages("PC850"), placement).data
    assert data.startswith(b"\x1b\x61\x00\x1d\x76\x30\x00")  # ESC a 0: the raster is positioned by padding
    assert data.endswith(b"\x1b\x61\x01")  # ESC a 1: the text that follows is centred again
    ((width_bytes, rows),) = graphics(data)
    assert rows == 48
    assert width_bytes * 8 > 384 // 2  # padded on the left to sit in the middle of the line


def test_image_text_wider_than_the_paper_is_split_into_lines() -> None:
    data = encoded("你" * 40, "PC850", Placement(dot_width=384))
    shapes = graphics(data)
    assert len(shapes) >= 2
    assert all(width * 8 <= 384 for width, _ in shapes)


MIXED_TEXT = "Día €5 “ok” Привет 你好 ǎ"
# Encodes MIXED_TEXT in a fresh interpreter (cold caches, another hash seed) with the fonts read from the same files.
ENCODE_IN_ANOTHER_PROCESS = """
import sys
from ticket_daemon.escpos.codepages import Placement, default_pages, encode_text
from ticket_daemon.resources import system_typefaces
placement = Placement(dot_width=576, typefaces=system_typefaces())
sys.stdout.buffer.write(encode_text(sys.argv[1], default_pages("PC437"), placement).data)
"""


def test_the_same_text_and_fonts_give_the_same_bytes_in_another_process() -> None:
    """Same document + same fonts ⇒ same bytes: nothing depends on process state (hash seed, caches, threads)."""
    here = encoded(MIXED_TEXT, "PC437", Placement(dot_width=576, typefaces=system_typefaces()))
    environment = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(SOURCE)}
    there = subprocess.run(
        [sys.executable, "-c", ENCODE_IN_ANOTHER_PROCESS, MIXED_TEXT],
        capture_output=True,
        env=environment,
        timeout=60,
        check=True,
    ).stdout
    assert there == here
    assert graphics(here)  # the CJK run is an image: the fonts were part of what was compared


def test_the_fonts_handed_in_are_the_ones_text_images_are_drawn_with() -> None:
    if not system_typefaces().fallbacks:
        pytest.skip("no CJK font installed")
    with_system_fonts = encoded("你好", "PC437", Placement(dot_width=576, typefaces=system_typefaces()))
    with_built_in_font = encoded("你好", "PC437", Placement(dot_width=576, typefaces=BUILT_IN))
    assert graphics(with_system_fonts) and graphics(with_built_in_font)
    assert with_system_fonts != with_built_in_font


ALLOWED_COMMAND_STARTS = (b"\x1b\x74", b"\x1b\x61", b"\x1d\x76\x30\x00")


def stray_controls(data: bytes) -> list[int]:
    """Control bytes in ``data`` outside the commands the encoder may emit (ESC t n, ESC a n, GS v 0)."""
    stray: list[int] = []
    i = 0
    while i < len(data):
        if data.startswith(b"\x1b\x74", i):
            assert data[i + 2] in TABLE_NUMBERS
            i += 3
        elif data.startswith(b"\x1b\x61", i):
            assert data[i + 2] in (0, 1, 2)
            i += 3
        elif data.startswith(b"\x1d\x76\x30\x00", i):
            width, rows = data[i + 4] | data[i + 5] << 8, data[i + 6] | data[i + 7] << 8
            i += 8 + width * rows
        else:
            if (data[i] < 0x20 and data[i] not in (0x09, 0x0A, 0x0D)) or data[i] == 0x7F:
                stray.append(data[i])
            i += 1
    return stray


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=24),
    st.sampled_from(TABLES),
    st.sampled_from(list(Align)),
    st.integers(1, 8),
    st.integers(1, 8),
)
def test_any_unicode_text_encodes_without_error_or_stray_control_bytes(
    text: str, table: str, alignment: Align, width: int, height: int
) -> None:
    placement = Placement(dot_width=384, align=alignment, width_multiplier=width, height_multiplier=height)
    result = encode_text(text, default_pages(table), placement, line_start=False)
    assert stray_controls(result.data) == []
    for note in result.tally.notes(0):
        assert note.startswith("TEXT: ")
