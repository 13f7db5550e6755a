"""Glyphs come from the fonts handed in (DejaVu Sans Mono on a daemon), else Pillow's own font; the cell layout is
the same."""

from __future__ import annotations

import numpy as np

from ticket_daemon.emulator import Emulator, fonts
from ticket_daemon.escpos.typefaces import BUILT_IN, Typefaces
from ticket_daemon.resources import system_typefaces


def columns_and_rows(data: bytes, typefaces: Typefaces = BUILT_IN) -> tuple[np.ndarray, np.ndarray]:
    emulator = Emulator(typefaces=typefaces)
    emulator.feed(data)
    dots = np.asarray(emulator.page()) < 128
    return np.flatnonzero(dots.any(axis=0)), np.flatnonzero(dots.any(axis=1))


def test_fallback_font_keeps_the_printer_cell_layout() -> None:
    columns, rows = columns_and_rows(b"\x1b\x40MMMMMMMMMM\n\xa5g\n")
    assert 108 <= columns.max() < 120  # ten 12-dot cells
    assert rows.max() < 2 * 30
    font_b_columns, font_b_rows = columns_and_rows(b"\x1b\x40\x1b\x4d\x01MMMMMMMMMM\n")
    assert 81 <= font_b_columns.max() < 90
    assert font_b_rows.max() < 17


def test_every_glyph_stays_inside_its_cell() -> None:
    for font in (fonts.FONT_A, fonts.FONT_B):
        for bold in (False, True):
            for char in "ÑÁÇgjW|@%":
                mask = fonts.glyph(system_typefaces(), char, font, bold, font.width)
                assert mask.shape == (font.height, font.width)
                assert mask.any()
