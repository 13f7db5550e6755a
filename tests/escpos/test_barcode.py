"""A POS prints a barcode: the printer gets GS w, GS h, GS H, GS f, then GS k in its length-prefixed form
(docs/document.md "barcode"; Epson ESC/POS GS k m=65..73)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from ticket_daemon.document import DocumentError, parse_document
from ticket_daemon.document.model import BarcodeData
from ticket_daemon.emulator import emulate
from ticket_daemon.escpos import profile_for, render_job
from ticket_daemon.escpos.barcode import barcode_bytes, barcode_dots, barcode_payload, code128_data
from ticket_daemon.escpos.commandset import find_realtime

ALIGN_LEFT, ALIGN_CENTER, ALIGN_RIGHT = b"\x1b\x61\x00", b"\x1b\x61\x01", b"\x1b\x61\x02"
# Defaults: GS w 3, GS h 64, GS H 2 (below), GS f 0 (font A).
DEFAULT_SETTINGS = b"\x1d\x77\x03" + b"\x1d\x68\x40" + b"\x1d\x48\x02" + b"\x1d\x66\x00"


def barcode(data: dict[str, Any]) -> bytes:
    return barcode_bytes(BarcodeData.model_validate(data))


@pytest.mark.parametrize(
    ("symbology", "data", "gs_k"),
    [
        ("UPC-A", "012345678905", b"\x1d\x6b\x41\x0c012345678905"),
        ("upce", "01234565", b"\x1d\x6b\x42\x0801234565"),
        ("EAN13", "1234567890128", b"\x1d\x6b\x43\x0d1234567890128"),
        ("jan13", "1234567890128", b"\x1d\x6b\x43\x0d1234567890128"),
        ("EAN-8", "12345670", b"\x1d\x6b\x44\x0812345670"),
        ("CODE39", "CODE39 TEST", b"\x1d\x6b\x45\x0bCODE39 TEST"),
        ("ITF", "1234567890", b"\x1d\x6b\x46\x0a1234567890"),
        ("codabar", "A40156B", b"\x1d\x6b\x47\x07A40156B"),
        ("code128", "ABC123", b"\x1d\x6b\x49\x08{BABC123"),
    ],
)
def test_each_symbology_is_sent_with_its_length_prefixed_gs_k(symbology: str, data: str, gs_k: bytes) -> None:
    assert barcode({"symbology": symbology, "data": data}) == ALIGN_CENTER + DEFAULT_SETTINGS + gs_k + ALIGN_LEFT


def test_settings_follow_the_document() -> None:
    data = {
        "symbology": "code39",
        "data": "A1",
        "width": 2,
        "height": 255,
        "hri_position": "both",
        "hri_font": "B",
        "align": "right",
    }
    expected = ALIGN_RIGHT + b"\x1d\x77\x02\x1d\x68\xff\x1d\x48\x03\x1d\x66\x01" + b"\x1d\x6b\x45\x02A1" + ALIGN_LEFT
    assert barcode(data) == expected


@pytest.mark.parametrize(("position", "n"), [("none", 0), ("above", 1), ("below", 2), ("both", 3)])
def test_hri_position(position: str, n: int) -> None:
    assert b"\x1d\x48" + bytes((n,)) in barcode({"symbology": "code39", "data": "A", "hri_position": position})


def test_left_aligned_barcode_sends_no_alignment_command() -> None:
    assert barcode({"symbology": "code39", "data": "A", "align": "left"}) == DEFAULT_SETTINGS + b"\x1d\x6b\x45\x01A"


def test_code128_all_digits_even_length_is_packed_in_code_set_c() -> None:
    assert code128_data("20250109") == b"{C\x14\x19\x01\x09"
    assert barcode({"symbology": "code128", "data": "20250109"}) == (
        ALIGN_CENTER + DEFAULT_SETTINGS + b"\x1d\x6b\x49\x06{C\x14\x19\x01\x09" + ALIGN_LEFT
    )


def test_code128_odd_digit_count_uses_code_set_b() -> None:
    assert code128_data("12345") == b"{B12345"


def test_code128_doubles_a_literal_brace() -> None:
    assert code128_data("A{B") == b"{BA{{B"


def test_code128_control_characters_switch_to_code_set_a() -> None:
    assert code128_data("AB\tC") == b"{BAB{A\x09C"
    assert code128_data("\tab") == b"{A\x09{Bab"


def test_code128_that_grows_past_255_bytes_is_refused_naming_the_command() -> None:
    document = parse_document(
        {
            "version": "1.0",
            "profile": {"model": "x"},
            "commands": [{"type": "barcode", "data": {"symbology": "code128", "data": "{" * 200}}],
        }
    )
    with pytest.raises(DocumentError) as caught:
        render_job(document)
    assert str(caught.value) == (
        "BARCODE: field 'data' needs 402 bytes once encoded, at most 255 fit at command 0 (barcode)"
    )


@pytest.mark.parametrize(
    ("symbology", "data"),
    [("ean13", "1234567890123"), ("upca", "12345"), ("itf", "123"), ("code39", "abc"), ("codabar", "123")],
)
def test_data_a_symbology_cannot_carry_is_refused_before_printing(symbology: str, data: str) -> None:
    document = {
        "version": "1.0",
        "profile": {"model": "x"},
        "commands": [{"type": "barcode", "data": {"symbology": symbology, "data": data}}],
    }
    with pytest.raises(DocumentError) as caught:
        parse_document(document)
    message = str(caught.value)
    assert message.startswith("BARCODE: field 'data'")
    assert message.endswith(" at command 0 (barcode)")


def test_unknown_symbology_is_an_error_not_code128_in_strict_mode() -> None:
    document = {
        "version": "1.0",
        "profile": {"model": "x"},
        "commands": [{"type": "barcode", "data": {"symbology": "pdf417", "data": "x"}}],
    }
    with pytest.raises(DocumentError) as caught:
        parse_document(document, strict=True)
    message = str(caught.value)
    assert message.startswith("BARCODE: field 'symbology'")
    assert message.endswith(" at command 0 (barcode)")


def test_a_document_built_without_parsing_is_still_checked() -> None:
    data = BarcodeData.model_construct(
        symbology="ean8", data="1234", width=3, height=64, hri_position="below", hri_font="A"
    )
    with pytest.raises(DocumentError) as caught:
        barcode_bytes(data)
    assert str(caught.value).startswith("BARCODE: field 'data': EAN8 needs 7 or 8 digits")


# --- docs/document.md "barcode": a barcode fits the paper ------------------------------------------------------

FIT_CASES = [
    ("upca", "012345678905"),
    ("upce", "01234565"),
    ("ean13", "1234567890128"),
    ("ean8", "12345670"),
    ("code39", "CODE39 TEST"),
    ("itf", "1234567890"),
    ("codabar", "A40156B"),
    ("code128", "ABC123456"),
    ("code128", "20250109"),
    ("code128", "A{B\tc"),
    ("code128", "00161627282999"),  # pairs 16, 27, 28, 29 are sent in code set B
]


@pytest.mark.parametrize(("symbology", "data"), FIT_CASES)
@pytest.mark.parametrize("module", [2, 3, 4, 5, 6])
def test_the_computed_width_is_what_the_emulated_printer_draws(symbology: str, data: str, module: int) -> None:
    command = BarcodeData.model_validate({"symbology": symbology, "data": data, "width": module, "align": "left"})
    payload = barcode_payload(command)
    drawn = emulate(b"\x1b\x40" + barcode_bytes(command), 4096).png
    image = Image.open(io.BytesIO(drawn)).convert("L")
    bars = np.asarray(image) < 128
    rows = np.flatnonzero(bars.any(axis=1))
    columns = np.flatnonzero(bars[rows[0]])  # the top row of the bars: HRI text is below
    assert columns[-1] - columns[0] + 1 == barcode_dots(command.symbology, payload, module)


def dashboard_barcode_template() -> dict[str, Any]:
    """The original dashboard's CODE128 template: 58 mm paper, the default module width (3)."""
    return {
        "version": "1.0",
        "profile": {"model": "58mm PT-210", "paper_width": 58},
        "commands": [
            {"type": "text", "data": {"content": {"text": "PRUEBA CODIGO BARRAS", "align": "center"}}},
            {"type": "feed", "data": {"lines": 1}},
            {
                "type": "barcode",
                "data": {"symbology": "code128", "data": "ABC123456", "height": 60, "hri_position": "below"},
            },
            {"type": "feed", "data": {"lines": 3}},
            {"type": "cut", "data": {"mode": "partial"}},
        ],
    }


def test_an_over_wide_barcode_is_printed_at_the_largest_module_width_that_fits() -> None:
    document = parse_document(dashboard_barcode_template())
    profile = profile_for(document.profile)
    job = render_job(document, profile)
    # {B + 9 characters: start, 9 symbols, check (11 modules each) and the 13-module stop = 134 modules.
    assert job.notes == (
        "BARCODE: barcode at command 2 printed at module width 2 to fit the paper "
        "(it needs 402 dots at width 3, the paper has 384)",
    )
    assert b"\x1d\x77\x02" in job.data and b"\x1d\x77\x03" not in job.data  # GS w 2
    emulation = emulate(job.data, profile.dot_width)
    assert "[barcode CODE128 ABC123456]" in emulation.transcript
    image = Image.open(io.BytesIO(emulation.png)).convert("L")
    framed = Image.new("L", (image.width + 80, image.height + 80), 255)
    framed.paste(image, (40, 40))
    assert "ABC123456" in [result.text for result in zxingcpp.read_barcodes(framed)]


def test_the_same_barcode_on_80mm_paper_keeps_its_module_width() -> None:
    template = dashboard_barcode_template()
    template["profile"] = {"model": "80mm EC-PM-80250"}
    job = render_job(parse_document(template))
    assert job.notes == ()
    assert b"\x1d\x77\x03" in job.data


def test_a_barcode_too_wide_at_every_module_width_is_a_barcode_error() -> None:
    document = parse_document(
        {
            "version": "1.0",
            "profile": {"model": "58mm GP-58N"},
            "commands": [{"type": "barcode", "data": {"symbology": "code39", "data": "ABCDEFGHIJKLMNOP"}}],
        }
    )
    with pytest.raises(DocumentError) as caught:
        render_job(document)
    # 18 characters of 3 wide (5 dots) and 6 narrow (2 dots) elements, 17 narrow gaps.
    assert str(caught.value) == (
        "BARCODE: barcode needs 520 dots even at module width 2, the paper has 384 at command 0 (barcode)"
    )


# --- docs/document.md "barcode": no printer command on the wire, under every policy ---------------------------------


@pytest.mark.parametrize(("character", "name"), [("\x10", "DLE"), ("\x1b", "ESC"), ("\x1c", "FS"), ("\x1d", "GS")])
def test_code128_data_holding_a_command_character_is_refused(character: str, name: str) -> None:
    data = f"AB{character}\x14\x01\x00\x01"
    document = {
        "version": "1.0",
        "profile": {"model": "x"},
        "commands": [{"type": "barcode", "data": {"symbology": "code128", "data": data}}],
    }
    expected = (
        f"BARCODE: field 'data': CODE128 data cannot hold the control character {name} "
        f"(0x{ord(character):02x}, at position 2): printers take it for a command at command 0 (barcode)"
    )
    for strict in (True, False):
        with pytest.raises(DocumentError) as caught:
            parse_document(document, strict=strict)
        assert str(caught.value) == expected
    # A document built without parsing meets the same check when it is rendered, under every policy.
    built = BarcodeData.model_validate({"symbology": "code128", "data": "A"}).model_copy(update={"data": data})
    with pytest.raises(DocumentError) as rendered:
        barcode_bytes(built)
    assert str(rendered.value).startswith("BARCODE: field 'data': CODE128 data cannot hold the control character")


@pytest.mark.parametrize("digits", ["1620010001", "1604", "16051605", "2764", "2840", "2969", "00161627282999"])
def test_code128_digits_that_would_spell_a_command_byte_are_sent_in_code_set_b_and_scan(digits: str) -> None:
    command = BarcodeData.model_validate({"symbology": "code128", "data": digits, "align": "left"})
    printed = barcode_bytes(command)
    data = printed[printed.index(b"\x1d\x6b\x49") + 4 :]
    assert not {0x10, 0x1B, 0x1C, 0x1D} & set(data)
    assert find_realtime(printed) < 0
    image = Image.open(io.BytesIO(emulate(b"\x1b\x40" + printed, 4096).png)).convert("L")
    assert [result.text for result in zxingcpp.read_barcodes(image)] == [digits]


def test_code128_set_c_packing_is_unchanged_for_other_digits() -> None:
    assert code128_data("1620010001") == b"{B16{C\x14\x01\x00\x01"
    assert code128_data("20250109") == b"{C\x14\x19\x01\x09"


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), min_size=1, max_size=40))
def test_no_code128_puts_a_real_time_sequence_or_a_command_byte_on_the_wire(data: str) -> None:
    try:
        command = BarcodeData.model_validate({"symbology": "code128", "data": data})
        printed = barcode_bytes(command)
    except (ValueError, DocumentError):
        return  # refused with a sentence
    assert find_realtime(printed) < 0
    assert not {0x10, 0x1B, 0x1C, 0x1D} & set(barcode_payload(command))
