"""Barcodes (GS k) and QR codes (GS ( k) are drawn from their data, so a scanner reads back exactly that data."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageOps

from ticket_daemon.emulator import Emulator
from ticket_daemon.escpos import commands as c

INIT = c.INITIALIZE
F = zxingcpp.BarcodeFormat


def run(data: bytes, dot_width: int = 576) -> Emulator:
    emulator = Emulator(dot_width)
    emulator.feed(data)
    return emulator


def scan(image: Image.Image, formats: zxingcpp.BarcodeFormat) -> list[str]:
    """What a scanner reads off the receipt (with a white margin, as the paper around it would give)."""
    return [
        result.text
        for result in zxingcpp.read_barcodes(
            ImageOps.expand(image, 40, fill=255), formats=zxingcpp.BarcodeFormats(formats)
        )
    ]


# (GS k m, data sent, zxing format, what the scanner reads, transcript name)
LINEAR = [
    (65, b"03600029145", F.UPCA, "0036000291452", "UPC-A"),  # the printer adds the check digit
    (65, b"036000291452", F.UPCA, "0036000291452", "UPC-A"),
    (66, b"0425261", F.UPCE, "0042100005264", "UPC-E"),  # zxing reports UPC-E expanded
    (66, b"04252614", F.UPCE, "0042100005264", "UPC-E"),
    (67, b"590123412345", F.EAN13, "5901234123457", "EAN13"),
    (67, b"5901234123457", F.EAN13, "5901234123457", "EAN13"),
    (68, b"9638507", F.EAN8, "96385074", "EAN8"),
    (69, b"A-1 $/+%.", F.Code39, "A-1 $/+%.", "CODE39"),
    (70, b"0123456789", F.ITF, "0123456789", "ITF"),
    (71, b"A40156B", F.Codabar, "A40156B", "CODABAR"),
    (72, b"Code 93!", F.Code93, "Code 93!", "CODE93"),
    (73, b"{B123456", F.Code128, "123456", "CODE128"),
    (73, b"{C\x0c\x22\x38", F.Code128, "123456", "CODE128"),  # code set C: digit pairs packed in bytes
    (73, b"{BTicket-42 {{ok}", F.Code128, "Ticket-42 {ok}", "CODE128"),  # {{ is a literal {
    (73, b"{Babc{C\x01\x17{ATAIL", F.Code128, "abc0123TAIL", "CODE128"),  # switching code sets
]


@pytest.mark.parametrize(("m", "data", "fmt", "expected", "name"), LINEAR)
@pytest.mark.parametrize("module", [2, 3])
def test_linear_barcode_scans_back_to_its_data(
    m: int, data: bytes, fmt: zxingcpp.BarcodeFormat, expected: str, name: str, module: int
) -> None:
    emulator = run(INIT + c.align(1) + c.barcode_width(module) + c.barcode_height(80) + c.barcode(m, data) + b"\n")
    assert scan(emulator.page(), fmt) == [expected]
    shown = expected if name == "CODE128" else data.decode()
    assert emulator.transcript().splitlines()[0] == f"[barcode {name} {shown}]"
    assert emulator.unknown == []


NUL_FORMS = [
    (0, b"03600029145", F.UPCA, "0036000291452"),
    (1, b"0425261", F.UPCE, "0042100005264"),
    (2, b"590123412345", F.EAN13, "5901234123457"),
    (3, b"9638507", F.EAN8, "96385074"),
    (4, b"ABC123", F.Code39, "ABC123"),
    (5, b"1234", F.ITF, "1234"),
    (6, b"A123B", F.Codabar, "A123B"),
]


@pytest.mark.parametrize(("m", "data", "fmt", "expected"), NUL_FORMS)
def test_nul_terminated_barcode_forms_scan_too(m: int, data: bytes, fmt: zxingcpp.BarcodeFormat, expected: str) -> None:
    emulator = run(INIT + bytes((0x1D, 0x6B, m)) + data + b"\x00" + b"after\n")  # GS k m d1..dk NUL
    assert scan(emulator.page(), fmt) == [expected]
    assert emulator.transcript().splitlines()[-1] == "after"


def bar_rows(image: Image.Image) -> np.ndarray:
    """Rows that cross every bar (the most black runs in the picture), as opposed to HRI text."""
    dots = np.asarray(image) < 128
    runs = (np.diff(dots.astype(np.int8), axis=1) == 1).sum(axis=1)
    return np.flatnonzero(runs == runs.max())


def test_barcode_height_comes_from_gs_h() -> None:
    image = run(INIT + c.barcode_height(50) + c.barcode(73, b"{B42")).page()
    assert len(bar_rows(image)) == 50


def test_hri_text_is_printed_below_or_above_the_bars() -> None:
    data = c.barcode_height(40) + c.barcode(67, b"590123412345")
    none = run(INIT + data).page()
    below = run(INIT + c.barcode_hri_position(2) + data).page()
    above = run(INIT + c.barcode_hri_position(1) + data).page()
    both = run(INIT + c.barcode_hri_position(3) + data).page()
    assert none.height == 40
    assert bar_rows(below)[0] == 0 and below.height > 40 + 17
    assert bar_rows(above)[0] >= 17
    assert both.height > below.height
    assert scan(below, F.EAN13) == ["5901234123457"]


def test_hri_font_b_is_smaller_than_font_a() -> None:
    data = c.barcode_hri_position(2) + c.barcode_height(40) + c.barcode(69, b"HRI")
    font_a = run(INIT + data).page()
    font_b = run(INIT + c.barcode_hri_font(1) + data).page()
    assert font_b.height < font_a.height


def test_invalid_barcode_data_is_reported_not_drawn() -> None:
    emulator = run(INIT + c.barcode(67, b"12AB") + b"next\n")
    assert emulator.transcript() == "next"
    assert emulator.unknown == ["GS k EAN13 not printable (EAN13 needs 12 or 13 digits, got '12AB') at byte 2"]


def test_barcode_wider_than_the_paper_is_not_printed() -> None:
    emulator = run(INIT + c.barcode_width(6) + c.barcode(73, b"{B" + b"W" * 40), dot_width=384)
    assert emulator.transcript() == ""
    assert emulator.unknown == ["GS k CODE128 wider than the print area at byte 5"]


def qr(data: bytes, module: int = 4, level: str = "M") -> bytes:
    return c.QR_SELECT_MODEL_2 + c.qr_module_size(module) + c.qr_error_level(level) + c.qr_store(data) + c.QR_PRINT


@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
@pytest.mark.parametrize("module", [3, 6])
def test_qr_code_scans_back_to_its_data(level: str, module: int) -> None:
    data = "https://example.com/ticket?id=42&name=Niño".encode()
    emulator = run(INIT + c.align(1) + qr(data, module, level))
    assert scan(emulator.page(), F.QRCode) == [data.decode()]
    assert emulator.transcript() == f"[qr {data.decode()}]"


def test_qr_module_size_sets_the_symbol_size() -> None:
    small = run(INIT + qr(b"12345", module=3)).page()
    large = run(INIT + qr(b"12345", module=8)).page()
    # version 1 (21 modules) plus a 4-module quiet zone on each side
    assert small.height == 29 * 3
    assert large.height == 29 * 8


def test_qr_without_stored_data_prints_nothing() -> None:
    emulator = run(INIT + c.QR_PRINT + b"after\n")
    assert emulator.transcript() == "after"


def test_other_2d_symbols_are_reported() -> None:
    pdf417_print = b"\x1d\x28\x6b\x03\x00\x30\x51\x30"  # GS ( k cn=48 fn=81
    emulator = run(INIT + pdf417_print + b"after\n")
    assert emulator.unknown == ["GS ( k cn=48 fn=81 at byte 2"]
    assert emulator.transcript() == "after"
