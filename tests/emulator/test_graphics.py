"""Raster images (GS v 0, GS ( L) and bit images (ESC *): drawn dot for dot, bounded whatever sizes they declare."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ticket_daemon.emulator import Emulator
from ticket_daemon.emulator.page import MAX_PAGE_DOTS
from ticket_daemon.escpos import commands as c

INIT = c.INITIALIZE


def run(data: bytes, dot_width: int = 576) -> Emulator:
    emulator = Emulator(dot_width)
    emulator.feed(data)
    return emulator


def ink(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L")) < 128


def pattern(width_bytes: int, height: int, seed: int = 7) -> tuple[bytes, np.ndarray]:
    """Random raster data and the dots it stands for (MSB first, 1 = black)."""
    rows = np.random.default_rng(seed).integers(0, 256, size=(height, width_bytes), dtype=np.uint8)
    return rows.tobytes(), np.unpackbits(rows, axis=1).astype(bool)


def test_raster_image_is_drawn_bit_exact_at_the_left() -> None:
    data, dots = pattern(10, 37)
    emulator = run(INIT + c.raster_image(10, 37, data))
    picture = ink(emulator.page())
    assert picture.shape[0] == 37
    assert (picture[:, :80] == dots).all()
    assert not picture[:, 80:].any()
    assert emulator.transcript() == "[image 80x37]"


def test_raster_image_is_centred_by_esc_a() -> None:
    data, dots = pattern(8, 20)
    picture = ink(run(INIT + c.align(1) + c.raster_image(8, 20, data)).page())
    left = (576 - 64) // 2
    assert (picture[:20, left : left + 64] == dots).all()
    assert not picture[:, :left].any()


def test_raster_double_width_and_height_modes() -> None:
    data, dots = pattern(2, 5)
    quadruple = ink(run(INIT + b"\x1d\x76\x30\x03\x02\x00\x05\x00" + data).page())  # GS v 0 m=3
    assert (quadruple[:10, :32] == np.repeat(np.repeat(dots, 2, axis=0), 2, axis=1)).all()
    wide = ink(run(INIT + b"\x1d\x76\x30\x31\x02\x00\x05\x00" + data).page())  # m='1': double width
    assert (wide[:5, :32] == np.repeat(dots, 2, axis=1)).all()


def test_image_bands_read_as_one_image_in_the_transcript() -> None:
    top, top_dots = pattern(32, 255, seed=1)
    bottom, bottom_dots = pattern(32, 45, seed=2)
    emulator = run(INIT + c.raster_image(32, 255, top) + c.raster_image(32, 45, bottom) + b"after\n")
    assert emulator.transcript() == "[image 256x300]\nafter"
    picture = ink(emulator.page())
    assert (picture[:300, :256] == np.vstack((top_dots, bottom_dots))).all()


def test_image_wider_than_the_paper_is_clipped() -> None:
    data, dots = pattern(60, 4)  # 480 dots on a 384-dot printer
    picture = ink(run(INIT + c.raster_image(60, 4, data), dot_width=384).page())
    assert picture.shape[1] == 384
    assert (picture[:4] == dots[:, :384]).all()


def test_truncated_raster_draws_only_the_rows_that_arrived() -> None:
    data, dots = pattern(4, 10)
    emulator = run(INIT + c.raster_image(4, 10, data)[: 8 + 4 * 6 + 2])  # 6 whole rows and part of the 7th
    picture = ink(emulator.page())
    assert picture.shape[0] == 6
    assert (picture[:6, :32] == dots[:6]).all()


def test_huge_declared_raster_does_not_allocate_the_declared_size() -> None:
    emulator = Emulator(576)
    emulator.feed(b"\x1d\x76\x30\x00\xff\xff\xff\xff" + b"\xff" * 200_000)  # claims 65535 x 65535 bytes
    image = emulator.page()
    assert image.width == 576
    assert image.height <= 4  # three whole rows of 65535 bytes arrived
    assert ink(image)[:3].all()
    emulator.feed(b"\x00" * 10)  # still inside the image: no crash, no growth
    assert emulator.page().height <= MAX_PAGE_DOTS


def test_page_stops_growing_at_its_cap() -> None:
    row = b"\xff" * 72
    band = c.raster_image(72, 255, row * 255)
    emulator = run(INIT + band * 100 + b"after\n")  # 25500 rows of image
    assert emulator.page().height == MAX_PAGE_DOTS
    assert emulator.transcript().splitlines()[-2:] == ["after", f"[page truncated at {MAX_PAGE_DOTS} dots]"]


def test_gs_paren_l_graphics_are_stored_then_printed() -> None:
    data, dots = pattern(2, 3)
    store = bytes((48, 112, 48, 1, 1, 49, 16, 0, 3, 0)) + data  # m fn a bx by c xL xH yL yH
    emulator = run(INIT + b"\x1d\x28\x4c" + len(store).to_bytes(2, "little") + store + b"\x1d\x28\x4c\x02\x00\x30\x32")
    assert emulator.unknown == []
    assert emulator.transcript() == "[image 16x3]"
    assert (ink(emulator.page())[:3, :16] == dots).all()


def test_esc_star_bit_image_prints_in_the_line() -> None:
    # ESC * 33 — 24-dot double density: 3 bytes per column, top dot = MSB of the first byte.
    columns = [b"\x80\x00\x01", b"\xff\xff\xff"]
    emulator = run(INIT + b"\x1b\x33\x18" + b"\x1b\x2a\x21\x02\x00" + b"".join(columns) + b"\n")
    picture = ink(emulator.page())
    assert picture[0, 0] and picture[23, 0] and not picture[1:23, 0].any()
    assert picture[:24, 1].all()
    assert not picture[:, 2:].any()
    assert emulator.unknown == []
