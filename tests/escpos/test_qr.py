"""The qr command's symbol: native GS ( k bytes, or a raster symbol that scans back (docs/document.md "qr")."""

from __future__ import annotations

import base64
import io
from dataclasses import replace

import numpy as np
import pytest
import segno
import segno.consts
import zxingcpp
from PIL import Image, ImageDraw

from conftest import command_data, require_shared, shared_examples
from ticket_daemon.document import parse_document
from ticket_daemon.document.errors import Category, DocumentError
from ticket_daemon.document.model import Profile, QrData
from ticket_daemon.escpos import RawPolicy, render_job
from ticket_daemon.escpos.commandset import find_realtime
from ticket_daemon.escpos.profiles import PrinterProfile, profile_for
from ticket_daemon.escpos.qr import module_size, qr_bitmap, qr_bytes, qr_matrix
from ticket_daemon.escpos.qrmatrix import position_patterns, qr_modules, version_of
from ticket_daemon.escpos.raster import Bitmap, bitmap_from_image, image_from_bitmap, mask_from_bitmap

NATIVE_58MM = profile_for(Profile(model="58mm PT-210"))  # 384 dots, has_qr
RASTER_58MM = profile_for(Profile(model="58mm GP-58N"))  # 384 dots, no native QR
RASTER_80MM = profile_for(Profile(model="80mm EC-PM-80250"))  # 576 dots, no native QR
NATIVE_80MM = profile_for(Profile(model="Generic", paper_width=80, has_qr=True))  # 576 dots, has_qr
GS_V_0 = bytes.fromhex("1d 76 30 00")


def logo_png() -> str:
    logo = Image.new("RGB", (120, 90), "white")
    draw = ImageDraw.Draw(logo)
    draw.ellipse((4, 4, 116, 86), fill="black")
    draw.rectangle((40, 30, 80, 60), fill="white")
    out = io.BytesIO()
    logo.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


LOGO = logo_png()


def raster_of(printed: bytes) -> Bitmap:
    """Reassemble the GS v 0 bands sent to the printer into one bitmap (what the paper shows)."""
    rows: list[bytes] = []
    width_bytes = 0
    at = 0
    while at < len(printed):
        assert printed[at : at + 4] == GS_V_0
        width_bytes = printed[at + 4] | printed[at + 5] << 8
        height = printed[at + 6] | printed[at + 7] << 8
        body = printed[at + 8 : at + 8 + width_bytes * height]
        rows += [body[i : i + width_bytes] for i in range(0, len(body), width_bytes)]
        at += 8 + width_bytes * height
    return Bitmap(width=width_bytes * 8, height=len(rows), rows=b"".join(rows))


def scan(bitmap: Bitmap) -> list[str]:
    """What a phone reads from the printed dots (with white paper around them)."""
    return [result.text for result in zxingcpp.read_barcodes(image_from_bitmap(bitmap, margin=16))]


def printed_and_scanned(data: QrData, profile: PrinterProfile) -> list[str]:
    return scan(raster_of(qr_bytes(data, profile)))


# --- native GS ( k ---------------------------------------------------------------------------------------------


def test_native_qr_for_hello_at_m_is_the_exact_gs_k_sequence() -> None:
    printed = qr_bytes(QrData(data="HELLO", correction="M"), NATIVE_58MM)

    # "HELLO" is a 21-module symbol: 256 // (21 + 8) = 8 dots per module.
    assert printed == bytes.fromhex(
        "1b 61 01"  # ESC a 1 — centre
        "1d 28 6b 04 00 31 41 32 00"  # model 2
        "1d 28 6b 03 00 31 43 08"  # module size 8
        "1d 28 6b 03 00 31 45 31"  # error correction M
        "1d 28 6b 08 00 31 50 30 48 45 4c 4c 4f"  # store "HELLO"
        "1d 28 6b 03 00 31 51 30"  # print
        "1b 61 00"  # ESC a 0 — back to left
    )


@pytest.mark.parametrize(("align", "code"), [("left", 0), ("center", 1), ("right", 2)])
def test_native_qr_is_aligned_with_esc_a_and_returns_to_left(align: str, code: int) -> None:
    printed = qr_bytes(QrData(data="x", align=align), NATIVE_58MM)

    assert printed.startswith(bytes((0x1B, 0x61, code)))
    assert printed.endswith(b"\x1b\x61\x00")


@pytest.mark.parametrize(("level", "byte"), [("L", 0x30), ("M", 0x31), ("Q", 0x32), ("H", 0x33)])
def test_native_qr_sends_the_requested_error_correction_level(level: str, byte: int) -> None:
    printed = qr_bytes(QrData(data="abc", correction=level), NATIVE_58MM)

    assert bytes.fromhex("1d 28 6b 03 00 31 45") + bytes((byte,)) in printed


def test_native_qr_stores_utf8_data_with_a_two_byte_length() -> None:
    data = "Ñandú " * 50  # 400 UTF-8 bytes
    payload = data.encode("utf-8")

    printed = qr_bytes(QrData(data=data), NATIVE_58MM)

    size = len(payload) + 3
    assert b"\x1d\x28\x6b" + bytes((size & 0xFF, size >> 8)) + b"\x31\x50\x30" + payload in printed


def test_module_size_follows_the_width_rule_and_is_clamped() -> None:
    assert module_size(21, 87, 384) == 3  # 87 // 29
    assert module_size(21, 256, 384) == 8
    assert module_size(21, 576, 576) == 16  # 19, clamped to 16
    assert module_size(177, 576, 576) == 3  # 3 (576 // 185), never below 3
    assert module_size(21, 5000, 384) == 13  # width capped at the paper: 384 // 29


def test_native_module_size_uses_the_paper_width_when_pixel_width_is_larger() -> None:
    printed = qr_bytes(QrData(data="HELLO", pixel_width=2000), NATIVE_58MM)

    assert bytes.fromhex("1d 28 6b 03 00 31 43 0d") in printed  # 384 // 29 = 13


# --- raster symbol ---------------------------------------------------------------------------------------------


def test_a_printer_without_native_qr_gets_a_raster_symbol() -> None:
    printed = qr_bytes(QrData(data="HELLO"), RASTER_80MM)

    assert printed.startswith(GS_V_0)
    assert b"\x1d\x28\x6b" not in printed


@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
def test_raster_symbol_scans_back_to_exactly_the_data(level: str) -> None:
    data = "https://factura.ejemplo.com/verify?folio=2&total=1060&fecha=2025-11-19"

    assert printed_and_scanned(QrData(data=data, correction=level), RASTER_80MM) == [data]


def test_raster_symbol_has_a_4_module_quiet_zone_and_the_rule_module_size() -> None:
    bitmap = qr_bitmap(QrData(data="HELLO", pixel_width=256), 576)

    black = mask_from_bitmap(bitmap)
    assert bitmap.width == bitmap.height == (21 + 8) * 8
    assert not black[:32].any() and not black[:, :32].any()
    assert black[32:88, 32].all()  # left edge of the top-left finder pattern: 7 modules of 8 dots


def test_raster_symbol_modules_match_the_qr_matrix() -> None:
    matrix = np.array(qr_matrix("HELLO", "M"))
    bitmap = qr_bitmap(QrData(data="HELLO", pixel_width=87), 576)  # 3 dots per module

    black = mask_from_bitmap(bitmap)
    sampled = black[12 + 1 : 12 + 63 : 3, 12 + 1 : 12 + 63 : 3]  # centre dot of each module
    assert matrix.shape == (21, 21)
    assert np.array_equal(sampled, matrix)


@pytest.mark.parametrize("align", ["left", "center", "right"])
def test_raster_symbol_is_aligned_by_padding_and_still_scans(align: str) -> None:
    printed = qr_bytes(QrData(data="HELLO", align=align, pixel_width=150), RASTER_80MM)

    black = mask_from_bitmap(raster_of(printed))
    columns = np.flatnonzero(black.any(axis=0))
    middle = (columns[0] + columns[-1]) / 2
    expected = {"left": middle < 200, "center": abs(middle - 288) <= 8, "right": middle > 376}
    assert expected[align]
    assert scan(raster_of(printed)) == ["HELLO"]


def test_a_logo_in_the_middle_still_scans_at_any_requested_level() -> None:
    for level in "LMQH":
        data = f"https://example.com/{level}/logo"
        command = QrData(data=data, correction=level, logo=LOGO, pixel_width=300)

        assert printed_and_scanned(command, RASTER_80MM) == [data]


def test_a_logo_forces_error_correction_h() -> None:
    data = "x" * 1500  # fits a version 40 symbol at L (2953 bytes) but not at H (1273)
    assert qr_matrix(data, "L")

    with pytest.raises(DocumentError) as caught:
        qr_bytes(QrData(data=data, correction="L", logo=LOGO), RASTER_80MM)

    assert str(caught.value).startswith("QR: data is 1500 bytes, too long for a QR code at error correction H")


def test_a_logo_is_drawn_in_the_middle_of_the_symbol() -> None:
    bitmap = qr_bitmap(QrData(data="HELLO LOGO", logo=LOGO, pixel_width=300), 576)

    black = mask_from_bitmap(bitmap)
    centre = bitmap.width // 2
    # LOGO is a black ellipse around a white rectangle, so the middle is white with solid black to its left.
    assert not black[centre, centre - 10 : centre + 10].any()
    assert black[centre, centre - 35 : centre - 18].all()
    assert scan(bitmap) == ["HELLO LOGO"]


def test_even_a_tiny_text_with_a_logo_gets_a_symbol_large_enough_to_scan() -> None:
    for data in ("A", "HELLO", "ab12", "0"):
        bitmap = qr_bitmap(QrData(data=data, logo=LOGO, pixel_width=87), 576)

        assert bitmap.width >= (37 + 8) * 3  # version 5 or larger
        assert scan(bitmap) == [data]


def test_a_native_printer_draws_a_symbol_with_a_logo_as_raster() -> None:
    printed = qr_bytes(QrData(data="HELLO", logo=LOGO), NATIVE_58MM)

    assert printed.startswith(GS_V_0)
    assert scan(raster_of(printed)) == ["HELLO"]


def test_round_modules_scan_and_use_fewer_dots_than_square_ones() -> None:
    data = "https://github.com/adcondev/ticket-daemon"
    square = qr_bitmap(QrData(data=data, pixel_width=384), 576)
    round_ = qr_bitmap(QrData(data=data, pixel_width=384, circle_shape=True), 576)

    assert scan(round_) == [data]
    assert mask_from_bitmap(round_).sum() < mask_from_bitmap(square).sum()
    assert qr_bytes(QrData(data=data, circle_shape=True), NATIVE_58MM).startswith(GS_V_0)


@pytest.mark.parametrize("pixel_width", [87, 150, 384])
def test_round_modules_with_a_logo_scan(pixel_width: int) -> None:
    data = "https://factura.ejemplo.com/verify?folio=2"
    command = QrData(data=data, logo=LOGO, circle_shape=True, pixel_width=pixel_width)

    assert printed_and_scanned(command, RASTER_80MM) == [data]


@pytest.mark.parametrize(
    "data",
    ["Ñandú € ¿qué?", "ああ", "漢字テスト", "0123456789" * 10, "HELLO WORLD $%*+-./:", "line 1\nline 2\ttab", "🙂"],
)
def test_any_text_scans_back_unchanged(data: str) -> None:
    assert printed_and_scanned(QrData(data=data), RASTER_80MM) == [data]


def test_the_largest_symbol_fits_58mm_paper_and_scans() -> None:
    data = "A" * 4296  # fills a version 40 symbol at L (177 modules)

    printed = qr_bytes(QrData(data=data, correction="L", pixel_width=384), RASTER_58MM)

    bitmap = raster_of(printed)
    assert bitmap.width <= RASTER_58MM.dot_width
    assert scan(bitmap) == [data]


def test_raster_symbol_is_never_wider_than_the_pixel_width_or_the_paper() -> None:
    for pixel_width in (87, 100, 256, 1000):
        bitmap = qr_bitmap(QrData(data="https://example.com", pixel_width=pixel_width), 384)
        assert bitmap.width <= min(max(pixel_width, 3 * (25 + 8)), 384)


# --- refusals --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "level", "message"),
    [
        ("x" * 2332, "M", "QR: data is 2332 bytes, too long for a QR code at error correction M (at most 2331 bytes)"),
        ("1" * 3058, "H", "QR: data is 3058 bytes, too long for a QR code at error correction H (at most 3057 digits)"),
        ("é" * 1000, "Q", "QR: data is 2000 bytes, too long for a QR code at error correction Q (at most 1663 bytes)"),
    ],
)
def test_data_that_does_not_fit_version_40_is_refused(data: str, level: str, message: str) -> None:
    for profile in (NATIVE_58MM, RASTER_80MM):
        with pytest.raises(DocumentError) as caught:
            qr_bytes(QrData(data=data, correction=level), profile)
        assert caught.value.category is Category.QR
        assert str(caught.value) == message


def test_the_most_a_qr_code_holds_still_prints() -> None:
    # Version 40 is 177 modules: at the smallest native module (3 dots) it needs 531 dots, so 80 mm paper.
    printed = qr_bytes(QrData(data="7" * 7089, correction="L"), NATIVE_80MM)

    assert bytes.fromhex("1d 28 6b b4 1b 31 50 30") in printed  # 7089 + 3 = 0x1bb4


def test_a_native_symbol_wider_than_the_head_is_printed_as_a_raster_that_fits_and_scans() -> None:
    data = "A" * 2900  # 149 modules at L: at 3 dots each 447 dots, more than the 384 of 58 mm paper

    printed = qr_bytes(QrData(data=data, correction="L"), NATIVE_58MM)

    assert printed.startswith(GS_V_0)
    bitmap = raster_of(printed)
    assert bitmap.width <= NATIVE_58MM.dot_width
    assert scan(bitmap) == [data]


def test_a_pixel_width_far_wider_than_the_paper_is_capped_not_refused() -> None:
    printed = qr_bytes(QrData(data="HELLO", pixel_width=50_000), RASTER_58MM)

    assert raster_of(printed).width <= RASTER_58MM.dot_width
    assert printed_and_scanned(QrData(data="HELLO", pixel_width=50_000), RASTER_58MM) == ["HELLO"]


@pytest.mark.parametrize(
    "logo",
    [
        base64.b64encode(b"not a picture at all").decode(),
        base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40).decode(),
    ],
)
def test_a_logo_that_is_not_an_image_is_a_qr_error(logo: str) -> None:
    with pytest.raises(DocumentError) as caught:
        qr_bytes(QrData(data="HELLO", logo=logo), RASTER_80MM)

    assert caught.value.category is Category.QR
    assert str(caught.value).startswith("QR: field 'logo': ")


def test_a_palette_logo_with_transparency_is_composited_over_white() -> None:
    logo = Image.new("P", (40, 40), 0)
    logo.putpalette([0, 0, 0] * 256)
    out = io.BytesIO()
    logo.save(out, "PNG", transparency=0)  # entirely transparent black
    command = QrData(data="HELLO", logo=base64.b64encode(out.getvalue()).decode(), pixel_width=300)

    with_logo = mask_from_bitmap(qr_bitmap(command, 576))

    side = with_logo.shape[0]
    assert not with_logo[side // 2 - 10 : side // 2 + 10, side // 2 - 10 : side // 2 + 10].any()


# --- real documents --------------------------------------------------------------------------------------------


def test_every_qr_in_the_real_documents_scans_back_from_paper() -> None:
    require_shared()
    commands = [
        data for group in ("legacy-format", "service") for p in shared_examples(group) for data in command_data(p, "qr")
    ]
    assert commands
    for raw in commands:
        command = QrData.model_validate(raw)
        for profile in (RASTER_58MM, RASTER_80MM):
            assert printed_and_scanned(command, profile) == [command.data], (raw, profile.model)


def test_bitmap_preview_of_a_symbol_reads_like_the_paper() -> None:
    bitmap = qr_bitmap(QrData(data="HELLO"), 576)

    assert bitmap_from_image(image_from_bitmap(bitmap)) == bitmap


@pytest.mark.parametrize("version", range(1, 41))
def test_finder_and_alignment_pattern_positions_match_an_independent_encoder(version: int) -> None:
    """Round modules keep these patterns square; the positions come from a formula, checked against segno's own
    module types for every version."""
    symbol = segno.make_qr("A", version=version, error="L")
    kinds = np.array(list(symbol.matrix_iter(scale=1, border=0, verbose=True)))
    patterns = (
        segno.consts.TYPE_FINDER_PATTERN_DARK,
        segno.consts.TYPE_FINDER_PATTERN_LIGHT,
        segno.consts.TYPE_ALIGNMENT_PATTERN_DARK,
        segno.consts.TYPE_ALIGNMENT_PATTERN_LIGHT,
    )
    assert np.array_equal(position_patterns(kinds.shape[0]), np.isin(kinds, patterns))


@pytest.mark.parametrize("data", ["HELLO", "0123456789" * 30, "https://example.com/a?b=c", "Ñandú €", "漢字"])
def test_symbols_are_the_smallest_that_hold_the_data(data: str) -> None:
    """zxing-cpp (ASCII) and segno (UTF-8 bytes) both give the smallest version; a larger one would print smaller
    modules for the same width."""
    payload = data.encode()
    mode = "byte" if not payload.isascii() else None
    expected = segno.make_qr(payload, error="M", mode=mode, boost_error=False).version
    assert isinstance(expected, int)  # a full QR symbol, never a Micro QR one ("M1"…)
    assert version_of(qr_modules(payload, "M")) <= expected


# --- docs/document.md "qr": data that would carry a printer command is drawn, under every policy ------------------

SMUGGLED = [
    "\x10\x14\x01\x00\x01",  # DLE DC4 1 0 1 — open the drawer in real time
    "pay \x1bp\x00\x19\xfa",  # ESC p
    "\x1d(E\x04\x00\x05\x01\x01\x00",  # GS ( E — change a printer setting
    "total\x1c\x67\x31",  # FS g
    "A" * 1037,  # GS ( k pL pH would be 10 04: DLE EOT in the command's own length
]


@pytest.mark.parametrize("data", SMUGGLED, ids=["dle-dc4", "esc-p", "gs-(-e", "fs-g", "length-dle-eot"])
@pytest.mark.parametrize("policy", ["allow", "safe"])
def test_qr_data_that_would_carry_a_printer_command_is_drawn_as_an_image_that_scans(
    data: str, policy: RawPolicy
) -> None:
    document = {
        "version": "1.0",
        "profile": {"model": "Generic", "paper_width": 80, "has_qr": True},
        "commands": [{"type": "qr", "data": {"data": data, "align": "left"}}],
    }
    job = render_job(parse_document(document), raw_policy=policy).data
    assert b"\x1d\x28\x6b" not in job  # no GS ( k
    assert find_realtime(job) < 0
    symbol = job[5:]  # after ESC @ and ESC t n
    results = zxingcpp.read_barcodes(image_from_bitmap(raster_of(symbol), margin=16))
    assert [result.bytes for result in results] == [data.encode("utf-8")]


def test_ordinary_qr_data_still_goes_native() -> None:
    for data in ("HELLO", "https://factura.ejemplo.com/v?folio=2&total=1060", "línea 1\nlínea 2\ttab", "A" * 1036):
        assert qr_bytes(QrData(data=data), NATIVE_80MM).startswith(b"\x1b\x61\x01\x1d\x28\x6b")


def test_a_symbol_whose_one_dot_raster_would_spell_a_real_time_command_is_refused() -> None:
    # Modules of 1 dot (a 96-dot print head): this symbol's rows happen to hold DLE DC4 / DLE EOT bytes, which a
    # printer would act on. With modules of 2 dots or more no byte can be 0x10 (an isolated dot), so it prints.
    data = "gxvI8DLh4xQ4W0sagFaRPDakHoshosr89EgsmFW7vIv2lqxfOuI8fjujOdvHj4nccqWHcDvEJ6Nhaup5N1iX47rzKD0T"
    with pytest.raises(DocumentError) as caught:
        qr_bytes(QrData(data=data), replace(RASTER_58MM, dot_width=96))
    assert str(caught.value) == "QR: the symbol, drawn for this paper, would carry a printer real-time command"
    printed = qr_bytes(QrData(data=data), RASTER_58MM)
    assert find_realtime(printed) < 0 and scan(raster_of(printed)) == [data]
