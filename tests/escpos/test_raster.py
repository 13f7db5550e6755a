"""GS v 0 raster output: bit order, alignment by padding, and 255-row bands (docs/document.md "image")."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ticket_daemon.document.model import Align
from ticket_daemon.escpos.raster import (
    Bitmap,
    bitmap_from_image,
    bitmap_from_mask,
    image_from_bitmap,
    mask_from_bitmap,
    raster_bytes,
)

GS_V_0 = bytes.fromhex("1d 76 30 00")


def mode_1_image(rows: list[str]) -> Image.Image:
    """A mode "1" image from strings where '#' is black and '.' is white."""
    image = Image.new("1", (len(rows[0]), len(rows)), 1)
    for y, row in enumerate(rows):
        for x, dot in enumerate(row):
            image.putpixel((x, y), 0 if dot == "#" else 1)
    return image


def test_an_8x2_image_is_one_gs_v_0_command_msb_first_with_1_as_black() -> None:
    bitmap = bitmap_from_image(mode_1_image(["#.#.#.#.", "########"]))

    printed = raster_bytes(bitmap, Align.LEFT, dot_width=384)

    assert printed == bytes.fromhex("1d 76 30 00  01 00  02 00  aa  ff")


def test_a_row_that_is_not_a_multiple_of_8_is_padded_with_white_bits() -> None:
    bitmap = bitmap_from_image(mode_1_image(["##########"]))

    assert bitmap == Bitmap(width=10, height=1, rows=bytes.fromhex("ff c0"))
    assert raster_bytes(bitmap, Align.LEFT, 384) == bytes.fromhex("1d 76 30 00 02 00 01 00 ff c0")


def test_centred_bitmap_is_shifted_right_by_white_dots_not_by_esc_a() -> None:
    bitmap = bitmap_from_image(mode_1_image(["########"]))

    printed = raster_bytes(bitmap, Align.CENTER, dot_width=32)

    # (32 - 8) / 2 = 12 white dots, then 8 black: 00000000 00001111 11110000.
    assert printed == bytes.fromhex("1d 76 30 00 03 00 01 00 00 0f f0")
    assert b"\x1b\x61" not in printed


def test_right_aligned_bitmap_ends_at_the_last_dot_of_the_line() -> None:
    bitmap = bitmap_from_image(mode_1_image(["#..#"]))

    printed = raster_bytes(bitmap, Align.RIGHT, dot_width=16)

    assert printed == bytes.fromhex("1d 76 30 00 02 00 01 00 00 09")


def test_a_300_row_image_is_sent_as_two_bands_of_255_and_45_rows() -> None:
    black = np.zeros((300, 16), dtype=np.bool_)
    black[:, 0] = True  # leftmost dot of every row
    black[299, :] = True  # last row all black

    printed = raster_bytes(bitmap_from_mask(black), Align.LEFT, dot_width=384)

    first_band = GS_V_0 + bytes.fromhex("02 00 ff 00") + b"\x80\x00" * 255
    second_band = GS_V_0 + bytes.fromhex("02 00 2d 00") + b"\x80\x00" * 44 + b"\xff\xff"
    assert printed == first_band + second_band


def test_no_band_is_taller_than_255_rows_for_a_long_image() -> None:
    bitmap = bitmap_from_mask(np.ones((1000, 8), dtype=np.bool_))

    printed = raster_bytes(bitmap, Align.LEFT, 384)

    heights = []
    at = 0
    while at < len(printed):
        assert printed[at : at + 4] == GS_V_0
        width_bytes = printed[at + 4] | printed[at + 5] << 8
        height = printed[at + 6] | printed[at + 7] << 8
        heights.append(height)
        at += 8 + width_bytes * height
    assert heights == [255, 255, 255, 235]


def test_a_bitmap_wider_than_the_paper_is_cut_to_the_paper_width() -> None:
    bitmap = bitmap_from_mask(np.ones((2, 40), dtype=np.bool_))

    printed = raster_bytes(bitmap, Align.CENTER, dot_width=16)

    assert printed == bytes.fromhex("1d 76 30 00 02 00 02 00 ff ff ff ff")


def test_an_empty_bitmap_prints_nothing() -> None:
    assert raster_bytes(Bitmap(width=0, height=0, rows=b""), Align.CENTER, 384) == b""
    assert raster_bytes(bitmap_from_mask(np.zeros((0, 8), dtype=np.bool_)), Align.LEFT, 384) == b""


def test_greyscale_images_are_black_below_128() -> None:
    image = Image.frombytes("L", (4, 1), bytes([0, 127, 128, 255]))

    assert mask_from_bitmap(bitmap_from_image(image)).tolist() == [[True, True, False, False]]


def test_bitmap_survives_a_round_trip_through_a_preview_image() -> None:
    rng = np.random.default_rng(7)
    black = rng.random((13, 21)) < 0.5
    bitmap = bitmap_from_mask(black)

    preview = image_from_bitmap(bitmap, margin=3)

    assert preview.size == (27, 19)
    assert bitmap_from_image(preview.crop((3, 3, 24, 16))) == bitmap


def test_a_bitmap_with_the_wrong_number_of_bytes_is_refused() -> None:
    with pytest.raises(ValueError):
        Bitmap(width=9, height=2, rows=b"\x00\x00\x00")
