"""Threshold and Atkinson dithering (docs/document.md "image"), checked dot for dot against a plain reference loop."""

from __future__ import annotations

import numpy as np
import pytest

from ticket_daemon.escpos import dither as dither_module
from ticket_daemon.escpos.dither import atkinson, dither, threshold

# Atkinson (docs/document.md "image"): 1/8 of the error to x+1, x+2, (x-1,y+1), (x,y+1), (x+1,y+1), (x,y+2).
ATKINSON_NEIGHBOURS = ((1, 0), (2, 0), (-1, 1), (0, 1), (1, 1), (0, 2))


def reference_atkinson(luma: np.ndarray, level: int) -> np.ndarray:
    """The textbook row-by-row loop; shares are the error / 8 rounded toward zero."""
    height, width = luma.shape
    values = [[int(v) for v in row] for row in luma]
    black = [[False] * width for _ in range(height)]
    for y in range(height):
        for x in range(width):
            old = values[y][x]
            black[y][x] = old < level
            share = int((old - (0 if black[y][x] else 255)) / 8)
            for dx, dy in ATKINSON_NEIGHBOURS:
                if 0 <= x + dx < width and y + dy < height:
                    values[y + dy][x + dx] += share
    return np.array(black, dtype=np.bool_).reshape(height, width)


def random_images(seed: int, count: int, max_side: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        height, width = (int(n) for n in rng.integers(1, max_side + 1, size=2))
        images.append(rng.integers(0, 256, size=(height, width), dtype=np.uint8))
    return images


@pytest.mark.parametrize("level", [0, 1, 64, 128, 200, 255])
def test_atkinson_matches_the_reference_loop_dot_for_dot(level: int) -> None:
    for luma in random_images(seed=level, count=40, max_side=17):
        assert np.array_equal(atkinson(luma, level), reference_atkinson(luma, level)), luma.shape


def test_atkinson_matches_the_reference_on_single_rows_and_columns() -> None:
    rng = np.random.default_rng(3)
    for shape in [(1, 1), (1, 2), (2, 1), (1, 40), (40, 1), (2, 2), (3, 40), (40, 3)]:
        luma = rng.integers(0, 256, size=shape, dtype=np.uint8)
        assert np.array_equal(atkinson(luma, 128), reference_atkinson(luma, 128)), shape


def test_atkinson_matches_the_reference_across_strips_of_a_tall_image(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tall images are dithered in strips; error must carry across the strip boundary exactly.
    monkeypatch.setattr(dither_module, "STRIP_ROWS", 5)
    for luma in random_images(seed=99, count=30, max_side=23):
        assert np.array_equal(atkinson(luma, 128), reference_atkinson(luma, 128)), luma.shape


def test_atkinson_of_a_smooth_gradient_matches_the_reference() -> None:
    gradient = np.tile(np.linspace(0, 255, 48).astype(np.uint8), (30, 1))

    assert np.array_equal(atkinson(gradient, 128), reference_atkinson(gradient, 128))


def test_atkinson_keeps_pure_white_white_and_pure_black_black() -> None:
    assert not atkinson(np.full((20, 30), 255, dtype=np.uint8), 128).any()
    assert atkinson(np.zeros((20, 30), dtype=np.uint8), 128).all()


def test_atkinson_prints_mid_grey_as_a_pattern_of_roughly_half_the_dots() -> None:
    grey = np.full((64, 64), 128, dtype=np.uint8)

    coverage = atkinson(grey, 128).mean()

    assert 0.3 < coverage < 0.7


def test_atkinson_of_a_photo_sized_image_matches_a_strip_by_strip_run(monkeypatch: pytest.MonkeyPatch) -> None:
    photo = np.random.default_rng(11).integers(0, 256, size=(432, 576), dtype=np.uint8)
    whole = atkinson(photo, 128)

    monkeypatch.setattr(dither_module, "STRIP_ROWS", 100)

    assert np.array_equal(atkinson(photo, 128), whole)


def test_threshold_is_black_where_luma_is_below_the_threshold() -> None:
    luma = np.array([[0, 99, 100, 101, 255]], dtype=np.uint8)

    assert threshold(luma, 100).tolist() == [[True, True, False, False, False]]
    assert not threshold(luma, 0).any()


def test_dither_picks_the_method_named_in_the_document() -> None:
    grey = np.full((8, 8), 100, dtype=np.uint8)

    assert dither(grey, "threshold", 128).all()
    assert 0 < dither(grey, "atkinson", 128).sum() < 64


def test_empty_images_dither_to_empty_masks() -> None:
    assert atkinson(np.zeros((0, 5), dtype=np.uint8), 128).shape == (0, 5)
    assert atkinson(np.zeros((5, 0), dtype=np.uint8), 128).shape == (5, 0)
