"""Text no code page has is printed as an image of the real characters, not as boxes."""

from __future__ import annotations

import os

import pytest

from ticket_daemon.escpos.textraster import text_bitmaps
from ticket_daemon.resources import FALLBACK_FONT_FILES, system_typefaces


def drawn(text: str) -> bytes:
    return b"".join(bitmap.rows for bitmap in text_bitmaps(text, system_typefaces(), height=24, max_width=576))


def test_chinese_characters_are_drawn_with_a_fallback_font_not_as_missing_glyph_boxes() -> None:
    if not any(path.is_file() for path in FALLBACK_FONT_FILES[:3]):
        if os.environ.get("CI"):
            pytest.fail("the CJK fallback font (Debian fonts-wqy-microhei) must be installed in CI")
        pytest.skip("no CJK font installed")
    first, second, missing = drawn("漢"), drawn("字"), drawn("\uffff")
    assert first != missing and second != missing and first != second


def test_long_fallback_text_wraps_within_the_paper_width() -> None:
    bitmaps = text_bitmaps("漢字" * 60, system_typefaces(), height=24, max_width=384)
    assert len(bitmaps) > 1
    assert all(bitmap.width <= 384 for bitmap in bitmaps)
