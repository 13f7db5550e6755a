"""The renderer's shortcuts give the very bytes (and notes) of the general code they skip: text, text commands,
separators and table rows that print as sent, code pages encoded through their single bytes, and a QR symbol with
square modules rastered a module row at a time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ticket_daemon.document import Align, DocumentError
from ticket_daemon.document.codetables import CODE_TABLE_NAMES
from ticket_daemon.document.model import Profile, QrData, TableData
from ticket_daemon.document.plaindoc import LabelSpan, Span
from ticket_daemon.document.spellings import QR_MIN_WIDTH
from ticket_daemon.escpos import codepages
from ticket_daemon.escpos import table as table_module
from ticket_daemon.escpos import text as text_module
from ticket_daemon.escpos.codepages import (
    NO_SUBSTITUTIONS,
    Placement,
    PreparedText,
    as_is,
    default_pages,
    encode_text,
    encode_text_general,
    lines_as_is,
    prepare_text,
    prepare_text_general,
)
from ticket_daemon.escpos.printerdb import CodePage, model_profiles
from ticket_daemon.escpos.profiles import profile_for
from ticket_daemon.escpos.qr import qr_bitmap, qr_bytes, raster_module_size, square_qr_raster
from ticket_daemon.escpos.qrmatrix import qr_modules
from ticket_daemon.escpos.raster import (
    Bitmap,
    banded_raster,
    bitmap_from_mask,
    left_padding,
    mask_from_bitmap,
    raster_bytes,
)
from ticket_daemon.escpos.table import _cell_lines, fit_widths, table_bytes
from ticket_daemon.escpos.text import separator_line, text_as_sent, text_line, text_line_general

PLACEMENT = Placement(dot_width=384, align=Align.CENTER)
# Letters a receipt really has, plus what must not take the shortcut: controls, LF/TAB, lone surrogates,
# decomposed accents, characters only another page or an image can print, invisible formatting.
ALPHABET = st.sampled_from(
    [
        *"Aa zZ09$.,:-=*#()",
        *"áéíóúñÑüÜ¿¡€£ç",
        *"\x00\x07\x1b\x7f\x85\x9f\n\r\t",
        *"\ud800\udce9",
        "e\u0301",
        "\u0301",
        *"ЖжΩ中€…“”\u200b\u00a0\u2028",
    ]
)
TEXTS = st.lists(ALPHABET, max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXTS, st.sampled_from(CODE_TABLE_NAMES), st.booleans())
def test_text_that_prints_as_sent_gets_the_bytes_of_the_general_encoder(
    text: str, table: str, line_start: bool
) -> None:
    assert prepare_text(text, default_pages(table)) == prepare_text_general(text, default_pages(table))
    fast = encode_text(text, default_pages(table), PLACEMENT, line_start=line_start)
    assert fast == encode_text_general(text, default_pages(table), PLACEMENT, line_start=line_start)


@pytest.mark.parametrize(
    ("text", "table"),
    [("Total: $12.50", "WPC1252"), ("CAFÉ LA ESQUINA", "WPC1252"), ("Ñandú", "PC850"), ("Привет", "PC866")],
)
def test_everyday_text_takes_the_shortcut(text: str, table: str) -> None:
    assert as_is(text, default_pages(table)) == encode_text_general(text, default_pages(table), PLACEMENT).data


@pytest.mark.parametrize(
    ("text", "table"),
    [
        *[(text, "WPC1252") for text in ("two\nlines", "tab\there", "cafe\u0301", "bell\x07", "caf\udce9", "中文")],
        ("a\u200bb", "WPC1252"),
        ("“quoted”", "PC437"),
        ("Привет", "WPC1252"),
    ],
)
def test_text_the_general_encoder_changes_does_not_take_the_shortcut(text: str, table: str) -> None:
    assert as_is(text, default_pages(table)) is None


QR_DATA = st.sampled_from(
    ["1", "HELLO WORLD", "https://example.com/factura?folio=A-000123", "0" * 300, "x" * 900, "ñandú €"]
)


@settings(max_examples=200, deadline=None)
@given(
    QR_DATA,
    st.sampled_from("LMQH"),
    st.integers(1, 700),
    st.sampled_from([8, 20, 57, 100, 203, 384, 576, 832]),
    st.sampled_from(list(Align)),
)
def test_square_qr_raster_is_the_raster_of_the_drawn_bitmap(
    data: str, correction: str, pixel_width: int, dot_width: int, alignment: Align
) -> None:
    qr = QrData(data=data, correction=correction, pixel_width=max(pixel_width, QR_MIN_WIDTH), align=alignment)
    symbol = qr_modules(data.encode("utf-8"), correction)
    size = raster_module_size(symbol.shape[0], qr.pixel_width, dot_width)
    drawn = raster_bytes(qr_bitmap(qr, dot_width), alignment, dot_width)
    assert square_qr_raster(symbol, size, alignment, dot_width) == drawn


def test_a_raster_qr_command_prints_the_drawn_bitmap() -> None:
    profile = profile_for(Profile(model="80mm EC-PM-80250"))
    qr = QrData(data="https://example.com/factura?folio=A-000123", pixel_width=200)
    expected = raster_bytes(qr_bitmap(qr, profile.dot_width), qr.align, profile.dot_width)
    assert qr_bytes(qr, profile) == expected
    assert np.frombuffer(expected, dtype=np.uint8).any()


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.integers(1, 16), st.sampled_from(CODE_TABLE_NAMES), st.booleans())
def test_a_table_cell_that_prints_as_sent_and_fits_is_one_unchanged_line(
    text: str, width: int, table: str, word_wrap: bool
) -> None:
    # The table takes such a cell as it is; the general preparation and layout must agree.
    assume(len(text) <= width and as_is(text, default_pages(table)) is not None)
    prepared = prepare_text_general(text, default_pages(table))
    assert prepared == PreparedText(text, NO_SUBSTITUTIONS)
    assert _cell_lines(prepared.text, width, word_wrap=word_wrap) == [text]


def raster_by_dots(bitmap: Bitmap, alignment: Align, dot_width: int) -> bytes:
    """``raster_bytes`` the obvious way, one dot at a time: unpack, cut at the paper, pad on the left, pack."""
    width = min(bitmap.width, dot_width)
    if width <= 0 or bitmap.height == 0:
        return b""
    pad = left_padding(width, alignment, dot_width)
    black = np.pad(mask_from_bitmap(bitmap)[:, :width], ((0, 0), (pad, 0)), constant_values=False)
    return banded_raster(np.packbits(black, axis=1))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 70),
    st.integers(0, 300),
    st.sampled_from([8, 16, 24, 48, 57, 384, 576]),
    st.sampled_from(list(Align)),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_raster_bytes_shift_packed_rows_like_placing_every_dot(
    width: int, height: int, dot_width: int, alignment: Align, seed: int, junk_padding: bool
) -> None:
    rng = np.random.default_rng(seed)
    row_bytes = (width + 7) // 8
    rows = rng.integers(0, 256, size=(height, row_bytes), dtype=np.uint8)
    if not junk_padding and width % 8:  # bitmaps made by packbits have white padding; others may not
        rows[:, -1] &= (0xFF << (8 - width % 8)) & 0xFF
    bitmap = Bitmap(width=width, height=height, rows=rows.tobytes())
    assert raster_bytes(bitmap, alignment, dot_width) == raster_by_dots(bitmap, alignment, dot_width)


def test_a_remembered_raster_is_placed_for_each_alignment_and_paper_every_time() -> None:
    # The raster of a small bitmap (a logo) is remembered: the alignment and the paper are part of what is kept.
    bitmap = bitmap_from_mask(np.random.default_rng(7).random((20, 37)) < 0.5)
    for _ in range(2):
        for dot_width in (48, 384, 576):
            for alignment in Align:
                assert raster_bytes(bitmap, alignment, dot_width) == raster_by_dots(bitmap, alignment, dot_width)


def fit_one_at_a_time(widths: list[int], spacing: int, limit: int) -> list[int] | None:
    """docs/document.md "table" auto_reduce as written: take one character from the widest column still wider than 3
    (ties: leftmost) until the row fits; None when it cannot."""
    fitted = list(widths)
    excess = sum(widths) + spacing * (len(widths) - 1) - limit
    while excess > 0:
        candidates = [i for i, width in enumerate(fitted) if width > 3]
        if not candidates:
            return None
        fitted[max(candidates, key=lambda i: (fitted[i], -i))] -= 1
        excess -= 1
    return fitted


@settings(max_examples=500, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=8), st.integers(0, 4), st.integers(1, 120))
def test_auto_reduce_takes_the_characters_the_rule_takes_one_at_a_time(
    widths: list[int], spacing: int, limit: int
) -> None:
    expected = fit_one_at_a_time(widths, spacing, limit)
    if expected is None:
        with pytest.raises(DocumentError, match=r"^TABLE: Columns exceed paper width"):
            fit_widths(widths, spacing, limit, auto_reduce=True)
    else:
        assert fit_widths(widths, spacing, limit, auto_reduce=True) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(TEXTS, min_size=3, max_size=3), min_size=1, max_size=6),
    st.lists(st.sampled_from(["left", "center", "right"]), min_size=3, max_size=3),
    st.sampled_from(["left", "center", "right"]),
    st.sampled_from(CODE_TABLE_NAMES),
    st.booleans(),
)
def test_a_table_row_laid_out_in_bytes_is_the_row_the_general_layout_gives(
    rows: list[list[str]], aligns: list[str], table_align: str, table: str, header: bool
) -> None:
    columns = [
        {"name": name, "width": width, "align": a} for name, width, a in zip("ABC", (6, 3, 9), aligns, strict=True)
    ]
    data = TableData.model_validate(
        {"definition": {"columns": columns}, "rows": rows, "show_headers": header, "options": {"align": table_align}}
    )
    profile = profile_for(Profile(model="80mm EC-PM-80250", code_table=table))

    fast = table_bytes(data, profile)
    with pytest.MonkeyPatch.context() as patch:
        # Every row the general way: no stretch of fitting rows encoded at once, no row laid out in bytes.
        patch.setattr(table_module, "lines_as_is", lambda *arguments: None)
        patch.setattr(table_module, "_row_as_sent", lambda *arguments: None)
        general = table_bytes(data, profile)

    assert fast.data == general.data
    assert fast.tally == general.tally


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXTS, max_size=5), st.sampled_from(CODE_TABLE_NAMES))
def test_lines_encoded_at_once_are_the_lines_encoded_one_by_one(lines: list[str], table: str) -> None:
    pages = default_pages(table)
    one_by_one = [as_is(line, pages) for line in lines]
    expected = None if None in one_by_one else b"".join(line + b"\n" for line in one_by_one if line is not None)
    assert lines_as_is(lines, pages) == expected


def every_page() -> list[CodePage]:
    pages = {page for model in model_profiles().values() for page in model.code_pages}
    return sorted(pages | set(default_pages("WPC1252").pages), key=lambda page: (page.codec, page.number))


def test_every_page_encodes_each_character_as_its_codec_does() -> None:
    # Text is encoded through a table of each page's single bytes; a character the table lacks goes to the codec.
    pages = every_page()
    chars = {bytes((byte,)).decode(page.codec, "ignore") for page in pages for byte in range(256)}
    chars |= {"€", "ő", "中", "\u0301", "\ufffe", "\u2028", "\U0001f600"}
    for page in pages:
        for char in sorted(chars):
            try:
                by_codec = char.encode(page.codec)
            except UnicodeEncodeError:
                by_codec = None
            expected = by_codec if by_codec is not None and len(by_codec) == len(char) else None
            assert codepages._encode(char, page) == expected, (page, char)


STYLE_KEYS = st.tuples(
    st.sampled_from("AB"),
    st.sampled_from(["1x1", "2x2", "3x1"]),
    st.booleans(),
    st.sampled_from(["0pt", "1pt", "2pt"]),
    st.booleans(),
)
SPANS = st.tuples(TEXTS, STYLE_KEYS, st.sampled_from(list(Align)))
LABELS = st.none() | st.tuples(TEXTS, st.sampled_from([": ", " ", ""]), STYLE_KEYS, st.sampled_from(list(Align)))


@settings(max_examples=400, deadline=None)
@given(LABELS, SPANS, st.booleans(), st.sampled_from(CODE_TABLE_NAMES))
def test_a_text_command_that_prints_as_sent_gets_the_bytes_of_the_general_layout(
    label: LabelSpan | None, content: Span, new_line: bool, table: str
) -> None:
    profile = profile_for(Profile(model="80mm EC-PM-80250", code_table=table))
    shortcut = text_as_sent(label, content, new_line, profile)
    general = text_line_general(label, content, new_line, profile)
    if shortcut is not None:
        assert shortcut == general.data
        assert general.tally == NO_SUBSTITUTIONS
    assert text_line(label, content, new_line, profile) == general


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.integers(1, 60), st.sampled_from(CODE_TABLE_NAMES))
def test_a_separator_of_one_plain_character_is_the_general_separator(char: str, length: int, table: str) -> None:
    profile = profile_for(Profile(model="58mm PT-210", code_table=table))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text_module, "as_is", lambda *arguments: None)  # every character the general way
        general = separator_line(char or "-", length, profile)
    assert separator_line(char or "-", length, profile) == general
