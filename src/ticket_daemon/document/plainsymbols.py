"""Images, barcodes and QR codes of a plain document (``plaindoc.py``), read without validating them through the
models: each value is checked here as the model checks it, and only in the spelling docs/document.md gives (lower
case names, no nulls, no unknown keys, no logo or circle on a QR code). What is read is the model's own data
object, built from those values without a second check, so the renderer draws it exactly as it draws the data the
models read. Anything else is left to the general reading (None), which says what is wrong or what it changed.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from typing import Any, TypeGuard

from .barcodes import SYMBOLOGIES, barcode_problem
from .limits import MAX_BARCODE_BYTES, MAX_IMAGE_BASE64_CHARS, MAX_QR_BYTES, MAX_TEXT_CHARS
from .model import BarcodeData, ImageData, QrData
from .payloads import decode_base64_payload
from .plainvalues import ALIGN_SPELLINGS, is_text, whole_number
from .spellings import QR_MIN_WIDTH

PlainSymbol = ImageData | BarcodeData | QrData

_IMAGE_KEYS = frozenset({"code", "pixel_width", "align", "threshold", "dithering", "scaling"})
_BARCODE_KEYS = frozenset({"symbology", "data", "width", "height", "hri_position", "hri_font", "align"})
_QR_KEYS = frozenset({"data", "human_text", "pixel_width", "correction", "align"})
_DITHERINGS = frozenset({"atkinson", "threshold"})
_SCALINGS = frozenset({"bilinear", "nearest"})
_HRI_POSITIONS = frozenset({"none", "above", "below", "both"})
_HRI_FONTS = frozenset({"A", "B"})
_CORRECTIONS = frozenset({"L", "M", "Q", "H"})
_SYMBOLOGIES = frozenset(SYMBOLOGIES)


def _one_of(value: Any, spellings: frozenset[str]) -> TypeGuard[str]:
    return type(value) is str and value in spellings


def _fields(data: Any, keys: frozenset[str]) -> dict[str, Any] | None:
    """The client's fields when they are all known ones, with the alignment read (absent: the model's default)."""
    if type(data) is not dict or not keys.issuperset(data):
        return None
    fields = dict(data)
    if "align" in fields:
        align = ALIGN_SPELLINGS.get(fields["align"]) if type(fields["align"]) is str else None
        if align is None:
            return None
        fields["align"] = align
    return fields


def read_image(data: Any) -> ImageData | None:
    fields = _fields(data, _IMAGE_KEYS)
    if fields is None:
        return None
    code = fields.get("code")
    if type(code) is not str or not code.isascii() or len(code) > MAX_IMAGE_BASE64_CHARS or not code.strip():
        return None
    try:
        if not decode_base64_payload(code):
            return None
    except (binascii.Error, ValueError):
        return None
    checks = (
        whole_number(fields.get("pixel_width", 1), 1, 1 << 62),
        whole_number(fields.get("threshold", 0), 0, 255),
        _one_of(fields.get("dithering", "atkinson"), _DITHERINGS),
        _one_of(fields.get("scaling", "bilinear"), _SCALINGS),
    )
    return ImageData.model_construct(**fields) if all(checks) else None


def read_barcode(data: Any) -> BarcodeData | None:
    fields = _fields(data, _BARCODE_KEYS)
    if fields is None:
        return None
    symbology, text = fields.get("symbology"), fields.get("data")
    if not _one_of(symbology, _SYMBOLOGIES) or not is_text(text, MAX_BARCODE_BYTES):
        return None
    checks = (
        whole_number(fields.get("width", 2), 2, 6),
        whole_number(fields.get("height", 1), 1, 255),
        _one_of(fields.get("hri_position", "none"), _HRI_POSITIONS),
        _one_of(fields.get("hri_font", "A"), _HRI_FONTS),
        barcode_problem(symbology, text) is None,
    )
    return BarcodeData.model_construct(**fields) if all(checks) else None


def read_qr(data: Any) -> QrData | None:
    fields = _fields(data, _QR_KEYS)
    if fields is None:
        return None
    text = fields.get("data")
    if not is_text(text, MAX_QR_BYTES) or not text or len(text.encode("utf-8")) > MAX_QR_BYTES:
        return None
    checks = (
        is_text(fields.get("human_text", ""), MAX_TEXT_CHARS),
        whole_number(fields.get("pixel_width", QR_MIN_WIDTH), QR_MIN_WIDTH, 1 << 62),
        _one_of(fields.get("correction", "M"), _CORRECTIONS),
    )
    return QrData.model_construct(**fields) if all(checks) else None


SYMBOL_READERS: dict[str, Callable[[Any], PlainSymbol | None]] = {
    "image": read_image,
    "barcode": read_barcode,
    "qr": read_qr,
}
