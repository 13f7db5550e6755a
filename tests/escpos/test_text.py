"""A POS sends text: it prints in the styles and alignment asked for, and nothing carries over to the next command.

Expected bytes are typed from the ESC/POS reference (ESC E, GS !, ESC -, GS B, ESC M, ESC a) and
docs/document.md "text".
"""

from __future__ import annotations

from typing import Any

import pytest

from ticket_daemon.document import DocumentError, Profile, parse_document
from ticket_daemon.document.model import SeparatorData, TextData
from ticket_daemon.escpos import profile_for
from ticket_daemon.escpos.text import separator_bytes, text_bytes

PRINTER_80 = profile_for(Profile(model="80mm EC-PM-80250"))  # WPC1252, 48 characters per line
PRINTER_58 = profile_for(Profile(model="58mm PT-210"))  # 32 characters per line

ESC_E_ON, ESC_E_OFF = b"\x1b\x45\x01", b"\x1b\x45\x00"
ALIGN_LEFT, ALIGN_CENTER, ALIGN_RIGHT = b"\x1b\x61\x00", b"\x1b\x61\x01", b"\x1b\x61\x02"


def text(data: dict[str, Any]) -> bytes:
    return text_bytes(TextData.model_validate(data), PRINTER_80).data


def test_plain_text_prints_its_characters_then_a_line_feed() -> None:
    assert text({"content": {"text": "Hola"}}) == b"Hola\n"


def test_new_line_false_leaves_the_line_open_for_the_next_command() -> None:
    assert text({"content": {"text": "Hola"}, "new_line": False}) == b"Hola"


@pytest.mark.parametrize(
    ("style", "on", "off"),
    [
        ({"bold": True}, b"\x1b\x45\x01", b"\x1b\x45\x00"),
        ({"size": "2x1"}, b"\x1d\x21\x10", b"\x1d\x21\x00"),
        ({"size": "1x2"}, b"\x1d\x21\x01", b"\x1d\x21\x00"),
        ({"size": "2x2"}, b"\x1d\x21\x11", b"\x1d\x21\x00"),
        ({"size": "8x8"}, b"\x1d\x21\x77", b"\x1d\x21\x00"),
        ({"size": "3X5"}, b"\x1d\x21\x24", b"\x1d\x21\x00"),
        ({"underline": "1pt"}, b"\x1b\x2d\x01", b"\x1b\x2d\x00"),
        ({"underline": "2pt"}, b"\x1b\x2d\x02", b"\x1b\x2d\x00"),
        ({"inverse": True}, b"\x1d\x42\x01", b"\x1d\x42\x00"),
        ({"font": "B"}, b"\x1b\x4d\x01", b"\x1b\x4d\x00"),
        ({"font": "b"}, b"\x1b\x4d\x01", b"\x1b\x4d\x00"),
    ],
)
def test_each_style_is_switched_on_before_the_text_and_off_right_after(
    style: dict[str, Any], on: bytes, off: bytes
) -> None:
    assert text({"content": {"text": "Hi", "content_style": style}}) == on + b"Hi" + off + b"\n"


def test_default_styles_send_no_commands_at_all() -> None:
    style = {"bold": False, "size": "1x1", "underline": "0pt", "inverse": False, "font": "A"}
    assert text({"content": {"text": "Hi", "content_style": style}}) == b"Hi\n"


def test_all_styles_together_are_undone_in_reverse_order() -> None:
    style = {"bold": True, "size": "2x2", "underline": "2pt", "inverse": True, "font": "B"}
    expected = (
        b"\x1b\x4d\x01"  # ESC M 1 — font B
        b"\x1d\x21\x11"  # GS ! 0x11 — double width and height
        b"\x1b\x45\x01"  # ESC E 1 — bold
        b"\x1b\x2d\x02"  # ESC - 2 — two-dot underline
        b"\x1d\x42\x01"  # GS B 1 — inverse
        b"TOTAL"
        b"\x1d\x42\x00\x1b\x2d\x00\x1b\x45\x00\x1d\x21\x00\x1b\x4d\x00"
        b"\n"
    )
    assert text({"content": {"text": "TOTAL", "content_style": style}}) == expected


@pytest.mark.parametrize(
    ("align", "command"), [("center", ALIGN_CENTER), ("right", ALIGN_RIGHT), ("CENTER", ALIGN_CENTER)]
)
def test_aligned_text_returns_alignment_to_left_afterwards(align: str, command: bytes) -> None:
    assert text({"content": {"text": "Hi", "align": align}}) == command + b"Hi\n" + ALIGN_LEFT


def test_left_aligned_text_sends_no_alignment_command() -> None:
    assert text({"content": {"text": "Hi", "align": "left"}}) == b"Hi\n"


def test_label_and_content_with_the_same_alignment_share_a_line() -> None:
    data = {"label": {"text": "Total"}, "content": {"text": "$5.00"}}
    assert text(data) == b"Total: $5.00\n"


def test_label_keeps_its_own_style_and_separator() -> None:
    data = {
        "label": {"text": "Folio", "separator": " = ", "label_style": {"bold": True}},
        "content": {"text": "0002"},
    }
    assert text(data) == ESC_E_ON + b"Folio = " + ESC_E_OFF + b"0002\n"


def test_centred_label_and_content_are_centred_together() -> None:
    data = {"label": {"text": "A", "align": "center"}, "content": {"text": "B", "align": "center"}}
    assert text(data) == ALIGN_CENTER + b"A: B\n" + ALIGN_LEFT


def test_label_gets_its_own_line_when_its_alignment_differs_from_the_content() -> None:
    data = {"label": {"text": "Precio"}, "content": {"text": "$10.00", "align": "right"}}
    assert text(data) == b"Precio:\n" + ALIGN_RIGHT + b"$10.00\n" + ALIGN_LEFT


def test_centred_label_over_left_content() -> None:
    data = {"label": {"text": "Cliente", "align": "center"}, "content": {"text": "Ana"}}
    assert text(data) == ALIGN_CENTER + b"Cliente:\n" + ALIGN_LEFT + b"Ana\n"


def test_empty_label_prints_nothing_not_even_its_separator() -> None:
    assert text({"label": {"text": ""}, "content": {"text": "x"}}) == b"x\n"


def test_text_is_encoded_in_the_documents_code_page() -> None:
    pc850 = profile_for(Profile(model="58mm PT-210", code_table="PC850"))
    data = TextData.model_validate({"content": {"text": "Mañana"}})
    assert text_bytes(data, pc850).data == b"Ma\xa4ana\n"
    assert text({"content": {"text": "Mañana"}}) == b"Ma\xf1ana\n"  # WPC1252


def test_control_characters_cannot_smuggle_commands_into_text() -> None:
    # ESC @ (reset) and GS V (cut) lose their ESC/GS and print as the harmless letters that followed.
    assert text({"content": {"text": "a\x1b@b\x1dV\x00c\x07"}}) == b"a@bVc\n"


def test_line_breaks_and_tabs_in_text_are_kept() -> None:
    assert text({"content": {"text": "a\r\nb\tc"}}) == b"a\r\nb\tc\n"


def test_invalid_size_is_refused_before_printing_in_strict_mode() -> None:
    document = {
        "version": "1.0",
        "profile": {"model": "x"},
        "commands": [{"type": "text", "data": {"content": {"text": "a", "content_style": {"size": "9x1"}}}}],
    }
    with pytest.raises(DocumentError) as caught:
        parse_document(document, strict=True)
    message = str(caught.value)
    assert message.startswith("VALIDATION: field 'content.content_style.size'")
    assert message.endswith(" at command 0 (text)")


# --- separator -----------------------------------------------------------------------------------------------


def separator(data: dict[str, Any], printer: Any = PRINTER_80) -> bytes:
    return separator_bytes(SeparatorData.model_validate(data), printer).data


def test_separator_defaults_to_a_full_line_of_dashes_centred() -> None:
    assert separator({}) == ALIGN_CENTER + b"-" * 48 + b"\n" + ALIGN_LEFT
    assert separator({}, PRINTER_58) == ALIGN_CENTER + b"-" * 32 + b"\n" + ALIGN_LEFT


def test_separator_prints_exactly_length_characters() -> None:
    assert separator({"char": "=", "length": 10}) == ALIGN_CENTER + b"==========\n" + ALIGN_LEFT


def test_multi_character_separator_is_repeated_then_cut_to_length() -> None:
    assert separator({"char": "-++-", "length": 10}) == ALIGN_CENTER + b"-++--++--+\n" + ALIGN_LEFT


def test_separator_character_goes_through_the_code_page() -> None:
    pc437 = profile_for(Profile(model="x", code_table="PC437"))
    data = SeparatorData.model_validate({"char": "═", "length": 3})
    assert separator_bytes(data, pc437).data == ALIGN_CENTER + b"\xcd\xcd\xcd\n" + ALIGN_LEFT
