"""The ``image`` command: base64 picture → 1-bit raster (DOCUMENT.md "image").

Pipeline: check the header (format, size) before decoding any pixel, decode the first frame, turn it upright
(EXIF orientation), composite transparency over white, convert to luma, scale to ``pixel_width`` (capped at the
paper), then threshold or Atkinson. Receipts repeat the same logo on every ticket, so finished bitmaps are kept in
a small cache keyed by a hash of the image and every parameter.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import threading
import warnings
from collections import OrderedDict

import numpy as np
from PIL import Image, ImageOps

from ..document.errors import Category, DocumentError
from ..document.limits import MAX_IMAGE_PIXELS
from ..document.model import ImageData
from .dither import dither
from .profiles import PrinterProfile
from .raster import Bitmap, bitmap_from_mask, raster_bytes

# DOCUMENT.md "image": "PNG, JPEG, BMP, GIF, WEBP accepted" (Pillow format names).
ACCEPTED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
# Finished bitmaps kept for reuse: a shop prints the same few logos all day. Bounded by count and by bytes, so
# the cache costs at most ~32 MB however large the images are.
CACHE_ENTRIES = 64
CACHE_BYTES = 32 * 1024 * 1024
# EXIF orientations 5..8 rotate the picture by 90°, swapping width and height.
_EXIF_ORIENTATION = 0x0112
_SIDEWAYS = (5, 6, 7, 8)
_WHITE = (255, 255, 255, 255)
# Pillow modes of 16-bit greyscale PNGs.
_SIXTEEN_BIT_GREY = ("I", "I;16", "I;16B", "I;16L", "I;16N")

# Image.open's decompression-bomb warning is turned into an error with warnings.catch_warnings, which swaps the
# process-wide filter list; the lock keeps our own concurrent renders from restoring each other's filters.
_open_lock = threading.Lock()


def image_error(sentence: str) -> DocumentError:
    """An ``IMAGE: …`` error; the renderer adds the command index."""
    return DocumentError(sentence, category=Category.IMAGE)


def open_image(payload: bytes) -> Image.Image:
    """Parse only the header of ``payload`` and refuse what must not be decoded (unknown format, no pixels,
    more than MAX_IMAGE_PIXELS — a decompression bomb is refused before its pixels are inflated)."""
    formats = ", ".join(ACCEPTED_FORMATS[:-1]) + " or " + ACCEPTED_FORMATS[-1]
    try:
        with _open_lock, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(payload), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise image_error(f"image has more than {MAX_IMAGE_PIXELS} pixels, which is refused as unsafe") from None
    except Exception:  # Pillow raises assorted errors for junk headers; all mean "not an image we read"
        raise image_error(f"data is not a {formats} image") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise image_error(f"image is {width}x{height} pixels, it has nothing to print")
    # limits.py MAX_IMAGE_PIXELS: checked on the header, before decoding.
    if width * height > MAX_IMAGE_PIXELS:
        raise image_error(f"image is {width}x{height} pixels, at most {MAX_IMAGE_PIXELS} pixels are accepted")
    return image


def upright_size(image: Image.Image) -> tuple[int, int]:
    """The image's size once its EXIF orientation is applied."""
    width, height = image.size
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a damaged EXIF block only loses the rotation
        orientation = 1
    return (height, width) if orientation in _SIDEWAYS else (width, height)


def decode_luma(image: Image.Image, *, draft: tuple[int, int] | None = None) -> Image.Image:
    """Decode the first frame as an upright "L" image with transparency composited over white.

    ``draft`` (upright width, height) lets JPEG decode at a reduced scale no smaller than that size.
    """
    try:
        if draft is not None and image.format == "JPEG":
            width, height = image.size
            upright = upright_size(image)
            wanted = draft if upright == (width, height) else (draft[1], draft[0])
            image.draft("L", wanted)  # JPEG decodes straight to luma at 1/2, 1/4 or 1/8 scale
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        return _luminance(image)
    except Exception:  # truncated or corrupt data surfaces as OSError, SyntaxError, ValueError... from decoders
        raise image_error(f"the {image.format or 'image'} data is damaged or truncated and cannot be decoded") from None


def _luminance(image: Image.Image) -> Image.Image:
    """DOCUMENT.md "image": composite transparency over white, then convert to luminance (ITU-R 601-2 luma)."""
    if image.mode in _SIXTEEN_BIT_GREY:
        # Pillow's "L" conversion clips 16-bit values instead of scaling them, which would print almost white.
        wide = np.asarray(image, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(wide, 0, 255).astype(np.uint8), mode="L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return image.convert("L")
    background = Image.new("RGBA", image.size, _WHITE)
    background.alpha_composite(image.convert("RGBA"))
    return background.convert("L")


def scaled_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """Keep the aspect ratio at ``target_width`` dots; never less than one row."""
    return target_width, max(1, round(height * target_width / width))


def _resample(scaling: str) -> Image.Resampling:
    # DOCUMENT.md "image": scaling=bilinear|nearest ("nns" is mapped to nearest by the model).
    return Image.Resampling.NEAREST if scaling == "nearest" else Image.Resampling.BILINEAR


class _BitmapCache:
    """A least-recently-used map of finished bitmaps, bounded by entries and by bytes; safe across threads."""

    def __init__(self, entries: int, max_bytes: int) -> None:
        self._entries = entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._items: OrderedDict[tuple[object, ...], Bitmap] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> Bitmap | None:
        with self._lock:
            bitmap = self._items.get(key)
            if bitmap is not None:
                self._items.move_to_end(key)
            return bitmap

    def put(self, key: tuple[object, ...], bitmap: Bitmap) -> None:
        size = len(bitmap.rows)
        if size > self._max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes -= len(old.rows) if old is not None else 0
            self._items[key] = bitmap
            self._bytes += size
            while len(self._items) > self._entries or self._bytes > self._max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted.rows)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


_cache = _BitmapCache(CACHE_ENTRIES, CACHE_BYTES)


def rasterize_image(
    payload: bytes, *, pixel_width: int, max_width: int, threshold: int, dithering: str, scaling: str
) -> Bitmap:
    """Decode, scale to ``pixel_width`` dots (at most ``max_width``) and dither ``payload`` to a bitmap.

    Raises ``DocumentError`` (category IMAGE) for anything that cannot be printed. Results are cached by a hash
    of the payload and all parameters, so printing the same logo again costs one hash.
    """
    key = (hashlib.blake2b(payload, digest_size=16).digest(), pixel_width, max_width, threshold, dithering, scaling)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    bitmap = _rasterize(payload, pixel_width, max_width, threshold, dithering, scaling)
    _cache.put(key, bitmap)
    return bitmap


def _rasterize(
    payload: bytes, pixel_width: int, max_width: int, threshold: int, dithering: str, scaling: str
) -> Bitmap:
    if pixel_width < 1 or max_width < 1:
        raise image_error(f"pixel_width {pixel_width} leaves nothing to print")
    image = open_image(payload)
    width, height = upright_size(image)
    # DOCUMENT.md "image": scale to pixel_width, capped at the profile's dot width.
    target = scaled_size(width, height, min(pixel_width, max_width))
    if target[0] * target[1] > MAX_IMAGE_PIXELS:
        raise image_error(
            f"image would be {target[0]}x{target[1]} dots once scaled, at most {MAX_IMAGE_PIXELS} are accepted"
        )
    luma = decode_luma(image, draft=target)
    if luma.size != target:
        luma = luma.resize(target, _resample(scaling))
    black = dither(np.asarray(luma, dtype=np.uint8), dithering, threshold)
    return bitmap_from_mask(black)


def image_bytes(data: ImageData, profile: PrinterProfile) -> bytes:
    """The raster commands for an ``image`` command, aligned on the paper (no trailing line feed)."""
    try:
        payload = data.payload
    except (binascii.Error, ValueError):
        raise image_error("field 'code' is not valid base64 image data") from None
    bitmap = rasterize_image(
        payload,
        pixel_width=data.pixel_width,
        max_width=profile.dot_width,
        threshold=data.threshold,
        dithering=data.dithering,
        scaling=data.scaling,
    )
    return raster_bytes(bitmap, data.align, profile.dot_width)


def clear_cache() -> None:
    """Forget every cached bitmap (tests; a daemon never needs to)."""
    _cache.clear()
