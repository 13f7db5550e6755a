"""The ``image`` command: base64 picture → 1-bit raster (docs/document.md "image").

Pipeline: check the header (format, size) before decoding any pixel, decode the first frame, turn it upright
(EXIF orientation), composite transparency over white, convert to luma, scale to ``pixel_width`` (capped at the
paper), then threshold or Atkinson. Receipts repeat the same logo on every ticket, so the caller may hand in a cache of
finished bitmaps (``imagecache``), keyed here by a hash of the image and every parameter.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import struct
from functools import lru_cache

import numpy as np

# The *ImagePlugin imports register exactly the accepted formats. Image.init() would import every plugin Pillow has
# (tens of milliseconds in each process that meets its first image, and their memory) for formats refused anyway.
from PIL import (  # noqa: F401
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageFile,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    WebPImagePlugin,
)

from ..document.errors import Category, DocumentError
from ..document.limits import MAX_IMAGE_PIXELS
from ..document.model import ImageData
from .dither import dither
from .imagecache import BitmapCache
from .profiles import PrinterProfile
from .raster import Bitmap, bitmap_from_mask, raster_bytes

# docs/document.md "image": PNG, JPEG, BMP, GIF and WEBP are accepted (Pillow format names).
ACCEPTED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
# EXIF orientations 5..8 rotate the picture by 90°, swapping width and height.
_EXIF_ORIENTATION = 0x0112
_SIDEWAYS = (5, 6, 7, 8)
_WHITE = (255, 255, 255, 255)
# Pillow modes of 16-bit greyscale PNGs.
_SIXTEEN_BIT_GREY = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def image_error(sentence: str) -> DocumentError:
    """An ``IMAGE: …`` error; the renderer adds the command index."""
    return DocumentError(sentence, category=Category.IMAGE)


def open_image(payload: bytes) -> Image.Image:
    """Parse only the header of ``payload`` and refuse what must not be decoded (unknown format, no pixels,
    more than MAX_IMAGE_PIXELS — a decompression bomb is refused before its pixels are inflated)."""
    formats = ", ".join(ACCEPTED_FORMATS[:-1]) + " or " + ACCEPTED_FORMATS[-1]
    try:
        image = _open_header(payload)
    except Exception:  # Pillow raises assorted errors for junk headers; all mean "not an image we read"
        image = None
    if image is None:
        raise image_error(f"data is not a {formats} image")
    width, height = image.size
    if width <= 0 or height <= 0:
        raise image_error(f"image is {width}x{height} pixels, it has nothing to print")
    # limits.py MAX_IMAGE_PIXELS: checked on the header, before decoding.
    if width * height > MAX_IMAGE_PIXELS:
        raise image_error(f"image is {width}x{height} pixels, at most {MAX_IMAGE_PIXELS} pixels are accepted")
    return image


def _open_header(payload: bytes) -> ImageFile.ImageFile | None:
    """What ``Image.open(..., formats=ACCEPTED_FORMATS)`` does, without its decompression-bomb warning: that
    warning can only be silenced by changing the process-wide warning filters, and the limit checked right after
    (MAX_IMAGE_PIXELS) is lower than Pillow's anyway."""
    prefix = payload[:16]
    for name in ACCEPTED_FORMATS:
        factory, accept = Image.OPEN[name]
        recognised = accept(prefix) if accept is not None else True
        if not recognised or isinstance(recognised, str):  # a str says why the format refuses this header
            continue
        try:
            return factory(io.BytesIO(payload), "")
        except (SyntaxError, IndexError, TypeError, struct.error):  # not this format after all: try the next
            continue
    return None


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
    """docs/document.md "image": composite transparency over white, then convert to luminance (ITU-R 601-2 luma)."""
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
    # docs/document.md "image": scaling=bilinear|nearest ("nns" is mapped to nearest by the model).
    return Image.Resampling.NEAREST if scaling == "nearest" else Image.Resampling.BILINEAR


def rasterize_image(
    payload: bytes,
    *,
    pixel_width: int,
    max_width: int,
    threshold: int,
    dithering: str,
    scaling: str,
    cache: BitmapCache | None = None,
) -> Bitmap:
    """Decode, scale to ``pixel_width`` dots (at most ``max_width``) and dither ``payload`` to a bitmap.

    Raises ``DocumentError`` (category IMAGE) for anything that cannot be printed. With a ``cache``, results are
    kept by a hash of the payload and all parameters, so printing the same logo again costs one hash.
    """
    if cache is None:
        return _rasterize(payload, pixel_width, max_width, threshold, dithering, scaling)
    key = (_digest(payload), pixel_width, max_width, threshold, dithering, scaling)
    cached = cache.get(key)
    if cached is not None:
        return cached
    bitmap = _rasterize(payload, pixel_width, max_width, threshold, dithering, scaling)
    cache.put(key, bitmap)
    return bitmap


# Hashing a photo for the cache key would read all of its bytes on every render. The payload is usually the very bytes
# object the decoding of its base64 remembered (``document.payloads``), so its digest is remembered as well: a
# hit is one dictionary lookup (the bytes object keeps its own hash; equal objects are compared in full, so a hit
# is always the same image). Few entries, as each keeps its payload alive.
@lru_cache(maxsize=4)
def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=16).digest()


def _rasterize(
    payload: bytes, pixel_width: int, max_width: int, threshold: int, dithering: str, scaling: str
) -> Bitmap:
    if pixel_width < 1 or max_width < 1:
        raise image_error(f"pixel_width {pixel_width} leaves nothing to print")
    image = open_image(payload)
    width, height = upright_size(image)
    # docs/document.md "image": scale to pixel_width, capped at the profile's dot width.
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


def image_bytes(data: ImageData, profile: PrinterProfile, cache: BitmapCache | None = None) -> bytes:
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
        cache=cache,
    )
    return raster_bytes(bitmap, data.align, profile.dot_width)
