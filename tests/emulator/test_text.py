"""Text on the receipt: what the transcript says and where the dots land."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ticket_daemon.emulator import Emulator, emulate
from ticket_daemon.escpos import commands as c
from ticket_daemon.resources import system_typefaces

INIT = c.INITIALIZE


def run(data: bytes, dot_width: int = 576) -> Emulator:
    emulator = Emulator(dot_width, typefaces=system_typefaces())  # drawn as a daemon draws it
    emulator.feed(data)
    return emulator


def ink(image: Image.Image) -> np.ndarray:
    """True where a dot is printed."""
    return np.asarray(image.convert("L")) < 128


def black_columns(image: Image.Image) -> np.ndarray:
    return np.flatnonzero(ink(image).any(axis=0))


def black_rows(image: Image.Image) -> np.ndarray:
    return np.flatnonzero(ink(image).any(axis=1))


def test_plain_lines_appear_in_the_transcript_one_per_printed_line() -> None:
    emulator = run(INIT + b"Hello\n" + c.bold(True) + b"Bold\n")
    assert emulator.transcript() == "Hello\nBold"
    assert emulator.unknown == []


def test_page_is_as_wide_as_the_print_head_and_never_empty() -> None:
    assert run(b"").page().size[0] == 576
    assert run(b"").page().size[1] >= 1
    narrow = run(INIT + b"Hi\n", dot_width=384).page()
    assert narrow.width == 384
    assert narrow.mode in ("L", "1")


def test_bold_line_has_more_black_dots_than_plain() -> None:
    plain = ink(run(INIT + b"Receipt total\n").page()).sum()
    bold = ink(run(INIT + c.bold(True) + b"Receipt total\n").page()).sum()
    double_strike = ink(run(INIT + c.double_strike(True) + b"Receipt total\n").page()).sum()
    assert bold > plain * 1.15
    assert double_strike > plain * 1.15


def test_characters_sit_in_font_a_cells_of_12_by_24_dots() -> None:
    image = run(INIT + b"MMMMMMMMMM\n").page()
    columns = black_columns(image)
    assert columns.min() < 12
    assert 108 <= columns.max() < 120  # ten 12-dot cells
    assert black_rows(image).max() < 24


def test_font_b_is_narrower_and_shorter() -> None:
    font_a = run(INIT + b"MMMMMMMMMM\n").page()
    font_b = run(INIT + c.font(1) + b"MMMMMMMMMM\n").page()
    assert 81 <= black_columns(font_b).max() < 90  # ten 9-dot cells
    assert black_rows(font_b).max() < 17
    assert black_columns(font_b).max() < black_columns(font_a).max()


def test_centred_text_starts_near_the_middle() -> None:
    image = run(INIT + c.align(1) + b"TOTAL\n").page()
    first = black_columns(image).min()
    assert abs(first - (576 - 5 * 12) // 2) <= 3


def test_right_aligned_text_ends_at_the_right_edge() -> None:
    image = run(INIT + c.align(2) + b"12.00\n").page()
    assert black_columns(image).max() >= 576 - 4
    assert black_columns(image).min() >= 576 - 5 * 12 - 1


def test_alignment_applies_per_line_and_resets_with_esc_a_0() -> None:
    image = run(INIT + c.align(1) + b"centre\n" + c.align(0) + b"left\n").page()
    ink_map = ink(image)
    assert np.flatnonzero(ink_map[:30].any(axis=0)).min() > 200
    assert np.flatnonzero(ink_map[30:60].any(axis=0)).min() < 12


def test_double_size_characters_are_twice_as_wide_and_tall() -> None:
    normal = run(INIT + b"WWWW\n").page()
    double = run(INIT + c.character_size(2, 2) + b"WWWW\n").page()
    assert black_columns(double).max() >= 2 * black_columns(normal).max()
    assert black_rows(double).max() >= 24
    assert black_rows(double).max() < 48


def test_esc_bang_selects_double_height_and_width() -> None:
    image = run(INIT + b"\x1b\x21\x30" + b"AB\n").page()  # ESC ! — double height + double width
    assert 24 < black_rows(image).max() < 48
    assert 24 < black_columns(image).max() < 48


def test_line_advances_by_the_tallest_character() -> None:
    transcript_image = run(INIT + c.character_size(1, 3) + b"X\n" + c.character_size(1, 1) + b"X\n").page()
    rows = black_rows(transcript_image)
    gaps = np.flatnonzero(np.diff(rows) > 1)
    assert len(gaps) == 1
    assert rows[gaps[0] + 1] >= 72  # the second line starts below the triple-height one


def test_underline_adds_a_rule_below_the_text() -> None:
    for dots in (1, 2):
        image = run(INIT + c.underline(dots) + b"under\n").page()
        bottom = ink(image)[24 - dots : 24]
        assert bottom[:, : 5 * 12 - 2].all(), f"{dots}-dot underline missing"
    plain = ink(run(INIT + b"under\n").page())
    assert not plain[23, :60].all()


def test_inverse_prints_white_text_on_black() -> None:
    image = ink(run(INIT + c.reverse(True) + b"PAID\n").page())
    cells = image[:24, : 4 * 12]
    assert cells.mean() > 0.6  # mostly black background
    assert not cells.all()  # with white letters in it
    assert not image[:24, 4 * 12 + 2 :].any()


def test_long_lines_wrap_at_the_paper_width() -> None:
    emulator = run(INIT + b"x" * 60 + b"\n")
    assert emulator.transcript() == "x" * 48 + "\n" + "x" * 12
    narrow = run(INIT + b"y" * 40 + b"\n", dot_width=384)
    assert narrow.transcript() == "y" * 32 + "\n" + "y" * 8


def test_transcript_lines_have_no_trailing_spaces() -> None:
    assert run(INIT + b"Name      \nQty   \n").transcript() == "Name\nQty"


def test_code_tables_decode_high_bytes() -> None:
    assert run(INIT + c.select_code_table(16) + b"Ni\xf1o \x80\n").transcript() == "Niño €"  # WPC1252
    assert run(INIT + c.select_code_table(2) + b"Ni\xa4o\n").transcript() == "Niño"  # PC850
    assert run(INIT + c.select_code_table(0) + b"\xc9\xcd\xbb\n").transcript() == "╔═╗"  # PC437
    assert run(INIT + c.select_code_table(17) + b"\x8c\xa8\xe0\n").transcript() == "Мир"  # PC866
    assert run(INIT + c.select_code_table(18) + b"\xa5\n").transcript() == "ą"  # PC852
    assert run(INIT + c.select_code_table(19) + b"\xd5\n").transcript() == "€"  # PC858
    assert run(INIT + c.select_code_table(99) + b"\x9b\n").transcript() == "¢"  # unknown table: PC437


def test_kanji_mode_reads_two_byte_characters_until_cancelled() -> None:
    emulator = run(INIT + b"\x1c\x26" + "中文".encode("gb18030") + b"\n" + c.CANCEL_KANJI + b"\xa4\n")
    assert emulator.transcript() == "中文\nñ"


def test_tab_moves_to_the_next_eight_column_stop() -> None:
    emulator = run(INIT + b"Qty\tItem\n")
    assert emulator.transcript() == "Qty     Item"
    image = ink(emulator.page())
    assert image[:24, 8 * 12 : 8 * 12 + 12].any()
    assert not image[:24, 3 * 12 + 2 : 8 * 12].any()


def test_esc_d_and_esc_j_feed_paper() -> None:
    short = run(INIT + b"A\n").page().height
    lines = run(INIT + b"A" + c.feed_lines(4)).page().height
    dots = run(INIT + b"A" + c.feed_dots(200)).page().height
    assert lines >= short + 3 * 30
    assert dots >= 200
    assert run(INIT + b"A" + c.feed_lines(3)).transcript() == "A\n\n"


def test_line_spacing_commands_change_the_pitch() -> None:
    tight = run(INIT + b"\x1b\x33\x18" + b"a\nb\nc\n").page().height  # ESC 3 24
    loose = run(INIT + b"\x1b\x33\x3c" + b"a\nb\nc\n").page().height  # ESC 3 60
    default = run(INIT + b"\x1b\x33\x3c\x1b\x32" + b"a\nb\nc\n").page().height  # ESC 2 back to default
    assert tight == 72
    assert loose == 180
    assert default == 90


def test_character_spacing_widens_each_cell() -> None:
    image = run(INIT + b"\x1b\x20\x06" + b"IIII\n").page()  # ESC SP 6
    assert 3 * 18 <= black_columns(image).max() < 4 * 18


def test_upside_down_characters_are_flipped() -> None:
    upright = ink(run(INIT + b"T\n").page())[:24, :12]
    flipped = ink(run(INIT + b"\x1b\x7b\x01T\n").page())[:24, :12]
    assert (flipped == upright[::-1, ::-1]).all()


def test_esc_at_resets_styles_and_discards_unprinted_text() -> None:
    emulator = run(c.character_size(4, 4) + c.bold(True) + b"lost" + INIT + b"plain\n")
    assert emulator.transcript() == "plain"
    assert black_rows(emulator.page()).max() < 24


def test_text_without_a_final_line_feed_is_still_shown() -> None:
    emulator = run(INIT + b"no newline")
    assert emulator.transcript() == "no newline"
    assert ink(emulator.page()).any()
    emulator.feed(b" yet\n")  # looking did not print it: it continues on the same line
    assert emulator.transcript() == "no newline yet"


def test_left_margin_and_print_area_width() -> None:
    image = run(INIT + b"\x1d\x4c\x64\x00" + b"M\n").page()  # GS L 100
    assert 100 <= black_columns(image).min() < 112
    wrapped = run(INIT + b"\x1d\x57\x78\x00" + b"abcdefghijklm\n")  # GS W 120: ten font A columns
    assert wrapped.transcript() == "abcdefghij\nklm"


def test_absolute_position_moves_the_next_character() -> None:
    image = run(INIT + b"A\x1b\x24\xc8\x00B\n").page()  # ESC $ 200
    columns = black_columns(image)
    assert columns.min() < 12
    assert 200 <= columns[columns > 12].min() < 212


def test_emulate_returns_png_transcript_and_size() -> None:
    result = emulate(INIT + b"Hello\n", dot_width=384)
    assert result.transcript == "Hello"
    assert result.width == 384
    assert result.unknown == ()
    picture = Image.open(io.BytesIO(result.png))
    assert picture.size == (result.width, result.height)
    assert ink(picture).any()


def test_serial_counter_prints_and_counts_up() -> None:
    setup = b"\x1d\x43\x31\x05\x00\x07\x00\x01\x01"  # GS C 1 — count 5..7 by 1
    layout = b"\x1d\x43\x30\x03\x01"  # GS C 0 — three digits, leading zeros
    emulator = run(INIT + setup + layout + b"No. \x1d\x63\n" * 4)  # GS c
    assert emulator.transcript() == "No. 005\nNo. 006\nNo. 007\nNo. 005"
    assert emulator.unknown == []
