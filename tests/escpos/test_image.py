"""The image command: decode, scale, composite, dither and raster (docs/document.md "image"), and refusing bad data."""

from __future__ import annotations

import base64
import io
import random
import struct
import zlib
from typing import Any

import numpy as np
import pytest
from PIL import Image

from conftest import command_data, require_shared, shared_examples
from ticket_daemon.document.errors import Category, DocumentError
from ticket_daemon.document.model import ImageData, Profile
from ticket_daemon.escpos.codepages import default_pages
from ticket_daemon.escpos.image import image_bytes, rasterize_image
from ticket_daemon.escpos.imagecache import BoundedBitmapCache
from ticket_daemon.escpos.profiles import PrinterProfile, profile_for
from ticket_daemon.escpos.raster import Bitmap, mask_from_bitmap

PAPER_80MM = profile_for(Profile(model="80mm EC-PM-80250"))  # 576 dots
PAPER_58MM = profile_for(Profile(model="58mm GP-58N"))  # 384 dots


def encode(image: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def b64(payload: bytes) -> str:
    return base64.b64encode(payload).decode()


def image_command(payload: bytes, **fields: Any) -> ImageData:
    return ImageData(code=b64(payload), **fields)


def raster(payload: bytes, **overrides: Any) -> Bitmap:
    options: dict[str, Any] = dict(
        pixel_width=256, max_width=576, threshold=128, dithering="threshold", scaling="bilinear"
    )
    options.update(overrides)
    return rasterize_image(payload, **options)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` with a few bytes of pixel data: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def refusal(call: Any) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        call()
    assert caught.value.category is Category.IMAGE
    return caught.value


# --- what prints -----------------------------------------------------------------------------------------------


def test_a_black_square_prints_centred_on_58mm_paper_as_exact_raster_bytes() -> None:
    square = encode(Image.new("L", (16, 16), 0))

    printed = image_bytes(image_command(square, pixel_width=16, dithering="threshold"), PAPER_58MM)

    # (384 - 16) / 2 = 184 white dots = 23 zero bytes, then two black bytes; 25 bytes per row, 16 rows.
    assert printed == bytes.fromhex("1d 76 30 00 19 00 10 00") + (b"\x00" * 23 + b"\xff\xff") * 16


def test_left_aligned_image_starts_at_the_first_dot() -> None:
    square = encode(Image.new("L", (8, 2), 0))

    printed = image_bytes(image_command(square, pixel_width=8, align="left", dithering="threshold"), PAPER_80MM)

    assert printed == bytes.fromhex("1d 76 30 00 01 00 02 00 ff ff")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "WEBP"])
def test_every_accepted_format_prints(fmt: str) -> None:
    picture = Image.new("RGB", (100, 50), "white")
    picture.paste((0, 0, 0), (0, 0, 50, 50))  # left half black

    bitmap = raster(encode(picture, fmt), pixel_width=100)

    black = mask_from_bitmap(bitmap)
    assert (bitmap.width, bitmap.height) == (100, 50)
    assert black[:, 5:45].all()
    assert not black[:, 55:95].any()


def test_image_is_scaled_to_pixel_width_keeping_its_aspect_ratio() -> None:
    bitmap = raster(encode(Image.new("L", (400, 300), 0)), pixel_width=200)

    assert (bitmap.width, bitmap.height) == (200, 150)


def test_pixel_width_is_capped_at_the_paper_width() -> None:
    wide = encode(Image.new("L", (1000, 100), 0))

    printed = image_bytes(image_command(wide, pixel_width=2000), PAPER_58MM)

    width_bytes = printed[4] | printed[5] << 8
    assert width_bytes == 384 // 8
    assert raster(wide, pixel_width=2000, max_width=384).width == 384


def test_nearest_scaling_keeps_hard_edges_that_bilinear_blends() -> None:
    checker = Image.fromarray(np.kron([[0, 255], [255, 0]], np.ones((2, 2))).astype(np.uint8), mode="L")
    payload = encode(checker)

    nearest = raster(payload, pixel_width=8, scaling="nearest")

    assert mask_from_bitmap(nearest).tolist() == [[True] * 4 + [False] * 4] * 4 + [[False] * 4 + [True] * 4] * 4
    assert raster(payload, pixel_width=3, scaling="bilinear").width == 3


def test_threshold_dithering_honours_the_threshold() -> None:
    grey = encode(Image.new("L", (8, 8), 100))

    assert mask_from_bitmap(raster(grey, pixel_width=8, threshold=101)).all()
    assert not mask_from_bitmap(raster(grey, pixel_width=8, threshold=100)).any()


def test_atkinson_prints_a_grey_area_as_a_pattern_not_a_solid_block() -> None:
    grey = encode(Image.new("L", (64, 64), 128))

    black = mask_from_bitmap(raster(grey, pixel_width=64, dithering="atkinson"))

    assert 0.3 < black.mean() < 0.7


def palette_with_alpha() -> bytes:
    picture = Image.new("P", (20, 20), 0)
    picture.putpalette([0, 0, 0] * 256)
    return encode(picture, "PNG", transparency=bytes([0]))  # tRNS: palette entry 0 fully transparent


@pytest.mark.parametrize(
    "payload",
    [
        encode(Image.new("RGBA", (20, 20), (0, 0, 0, 0))),
        encode(Image.new("LA", (20, 20), (0, 0))),
        palette_with_alpha(),
        encode(Image.new("RGBA", (20, 20), (0, 0, 0, 0)), "WEBP", lossless=True),
    ],
    ids=["RGBA", "LA", "P+tRNS", "WEBP-alpha"],
)
def test_fully_transparent_black_pixels_print_as_white_paper(payload: bytes) -> None:
    bitmap = raster(payload, pixel_width=20)

    assert not mask_from_bitmap(bitmap).any()


def test_palette_image_with_a_transparent_colour_composites_over_white() -> None:
    picture = Image.new("P", (20, 10), 0)
    picture.putpalette([0, 0, 0, 0, 0, 0] + [0] * 762)
    picture.paste(1, (10, 0, 20, 10))  # right half: colour 1, black but opaque
    payload = encode(picture, "GIF", transparency=0)

    black = mask_from_bitmap(raster(payload, pixel_width=20, scaling="nearest"))

    assert not black[:, :10].any()
    assert black[:, 10:].all()


def test_half_transparent_black_prints_as_mid_grey() -> None:
    picture = Image.new("RGBA", (8, 8), (0, 0, 0, 128))

    assert not mask_from_bitmap(raster(encode(picture), pixel_width=8, threshold=100)).any()
    assert mask_from_bitmap(raster(encode(picture), pixel_width=8, threshold=140)).all()


def test_sixteen_bit_greyscale_png_keeps_its_tones() -> None:
    mid_grey = Image.fromarray(np.full((8, 8), 30000, dtype=np.uint16))  # ~46% of full scale

    black = mask_from_bitmap(raster(encode(mid_grey), pixel_width=8, threshold=128))

    assert black.all()  # 30000 / 257 ≈ 117 < 128; clipping to 255 would have printed nothing


def test_only_the_first_frame_of_an_animated_gif_prints() -> None:
    frames = [Image.new("L", (10, 10), 0), Image.new("L", (10, 10), 255)]
    payload = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])

    assert mask_from_bitmap(raster(payload, pixel_width=10)).all()


def test_a_phone_photo_is_printed_upright_using_its_exif_orientation() -> None:
    photo = Image.new("RGB", (80, 40), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    payload = encode(photo, "JPEG", exif=exif.tobytes())

    bitmap = raster(payload, pixel_width=40)

    assert (bitmap.width, bitmap.height) == (40, 80)


def test_a_large_jpeg_photo_prints_at_the_paper_width() -> None:
    gradient = np.tile(np.linspace(0, 255, 2000).astype(np.uint8), (1500, 1))
    payload = encode(Image.fromarray(gradient, mode="L").convert("RGB"), "JPEG", quality=80)

    bitmap = raster(payload, pixel_width=576, dithering="atkinson")

    assert (bitmap.width, bitmap.height) == (576, 432)
    black = mask_from_bitmap(bitmap)
    assert black[:, :20].mean() > 0.9 and black[:, -20:].mean() < 0.1


def test_a_data_uri_prefix_is_accepted() -> None:
    payload = encode(Image.new("L", (8, 8), 0))
    command = ImageData(code="data:image/png;base64," + b64(payload), pixel_width=8, align="left")

    assert image_bytes(command, PAPER_80MM).endswith(b"\xff" * 8)


def test_printing_the_same_image_again_reuses_the_finished_bitmap() -> None:
    payload = encode(Image.new("L", (300, 200), 90))
    cache = BoundedBitmapCache()

    first = raster(payload, dithering="atkinson", cache=cache)

    assert raster(payload, dithering="atkinson", cache=cache) is first
    assert raster(payload, dithering="threshold", cache=cache) is not first  # every parameter is part of the key
    assert raster(payload, dithering="atkinson") is not first  # without a cache nothing is kept
    assert raster(payload, dithering="atkinson") == first


def test_images_sharing_a_cache_each_print_their_own_pixels() -> None:
    # More images than the remembered payload digests, printed in turn, several times: each keeps its own bitmap.
    shades = [0, 40, 80, 120, 160, 200, 240]
    payloads = [encode(Image.new("L", (16, 4), shade)) for shade in shades]
    cache = BoundedBitmapCache()
    for _ in range(3):
        for payload in payloads:
            assert raster(bytes(payload), cache=cache) == raster(payload)


def test_the_image_cache_is_bounded_by_entries_and_by_bytes() -> None:
    bitmaps = [raster(encode(Image.new("L", (64, 8), shade))) for shade in (0, 60, 120)]
    by_entries = BoundedBitmapCache(entries=2)
    for key, bitmap in enumerate(bitmaps):
        by_entries.put(key, bitmap)
    assert len(by_entries) == 2 and by_entries.get(0) is None and by_entries.get(2) is bitmaps[2]
    by_bytes = BoundedBitmapCache(max_bytes=len(bitmaps[0].rows) * 2)
    for key, bitmap in enumerate(bitmaps):
        by_bytes.put(key, bitmap)
    assert len(by_bytes) == 2 and by_bytes.get(0) is None


# --- what is refused -------------------------------------------------------------------------------------------


def test_data_that_is_not_an_image_is_refused_with_the_accepted_formats() -> None:
    error = refusal(lambda: raster(b"hello, this is not a picture"))

    assert str(error) == "IMAGE: data is not a PNG, JPEG, BMP, GIF or WEBP image"


def test_an_image_in_another_format_is_refused() -> None:
    tiff = encode(Image.new("L", (8, 8), 0), "TIFF")

    assert str(refusal(lambda: raster(tiff))) == "IMAGE: data is not a PNG, JPEG, BMP, GIF or WEBP image"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP"])
def test_a_truncated_image_is_refused(fmt: str) -> None:
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    payload = encode(noise, fmt)

    error = refusal(lambda: raster(payload[: len(payload) // 2]))

    assert str(error).startswith("IMAGE: ")


@pytest.mark.parametrize("side", [10_000, 100_000], ids=["past Pillow's warning", "past Pillow's error"])
def test_a_decompression_bomb_is_refused_from_its_header(side: int, recwarn: pytest.WarningsRecorder) -> None:
    bomb = png_header_only(side, side)

    error = refusal(lambda: raster(bomb))

    assert "16000000 pixels" in str(error)
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_an_image_over_the_pixel_limit_is_refused_with_its_size() -> None:
    big = png_header_only(5000, 4000)

    error = refusal(lambda: raster(big))

    assert str(error) == "IMAGE: image is 5000x4000 pixels, at most 16000000 pixels are accepted"


def test_an_image_with_no_pixels_is_refused() -> None:
    refusal(lambda: raster(png_header_only(0, 10)))
    refusal(lambda: raster(png_header_only(10, 0)))


def test_a_sliver_that_would_be_scaled_to_an_endless_strip_is_refused() -> None:
    sliver = encode(Image.new("L", (1, 60_000), 0))

    error = refusal(lambda: raster(sliver, pixel_width=576))

    assert "once scaled" in str(error)


def test_an_image_command_with_bad_base64_reports_an_image_error() -> None:
    command = ImageData.model_construct(code="!!!not base64!!!", pixel_width=8)

    assert str(refusal(lambda: image_bytes(command, PAPER_80MM))).startswith("IMAGE: ")


def test_corrupted_images_never_raise_anything_but_an_image_error() -> None:
    rng = random.Random(5)
    noise = Image.fromarray(np.random.default_rng(2).integers(0, 256, (24, 24, 3), dtype=np.uint8))
    samples = [encode(noise, fmt) for fmt in ("PNG", "JPEG", "BMP", "GIF", "WEBP")]
    for _ in range(150):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            raster(bytes(data), pixel_width=24)
        except DocumentError as error:
            assert error.category is Category.IMAGE


# --- real documents --------------------------------------------------------------------------------------------


def test_images_in_the_real_service_documents_print_within_the_paper() -> None:
    require_shared()
    commands = [data for path in shared_examples("service") for data in command_data(path, "image")]
    assert commands
    for data in commands:
        command = ImageData.model_validate(data)
        for profile in (PAPER_58MM, PAPER_80MM):
            printed = image_bytes(command, profile)
            assert printed.startswith(bytes.fromhex("1d 76 30 00"))
            assert (printed[4] | printed[5] << 8) * 8 <= profile.dot_width


def test_profile_dot_width_at_300_dpi_bounds_the_image() -> None:
    profile = PrinterProfile(
        model="wide",
        paper_width_mm=80,
        dpi=300,
        dot_width=848,
        code_table="WPC1252",
        has_qr=False,
        chars_per_line=48,
        chars_per_line_b=64,
        code_pages=default_pages("WPC1252"),
    )
    payload = encode(Image.new("L", (2000, 10), 0))

    printed = image_bytes(image_command(payload, pixel_width=5000), profile)

    assert printed[4] | printed[5] << 8 == 106
