"""Decoding the binary payloads a document carries as text: base64 images and logos, and ``raw`` command bytes.

Shared by the model (which refuses what does not decode before a job is queued) and the renderer (which decodes
again to print), so both read the same bytes from the same text.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache

from .limits import MAX_RAW_BYTES

_DATA_URI = re.compile(r"^data:[^,]*?;base64,", re.IGNORECASE)
_HEX_PREFIX = re.compile(r"0x", re.IGNORECASE)
_HEX_SEPARATORS = re.compile(r"[\s,:;]+")


# Every image and logo is decoded when its document is checked and again when it is printed, and a shop sends the
# same logo on every ticket. So decoded texts are remembered with their bytes, in two bounded LRUs: logos (up to
# 64 KiB of text: 32 of them, ~3.5 MiB at most) and the last 2 larger images (up to the 4 MiB limit: ~14 MiB at
# most), enough for a render to reuse what the check of its document decoded. A hit costs hashing the text once
# (nothing when it is the same string object again).
_SMALL_TEXT_CHARS = 64 * 1024
_SMALL_TEXTS = 32
_LARGE_TEXTS = 2


def decode_base64_payload(value: str) -> bytes:
    """Decode base64 that may carry a ``data:`` URI prefix, whitespace, or the URL-safe alphabet."""
    if len(value) <= _SMALL_TEXT_CHARS:
        return _decode_small(value)
    return _decode_large(value)


# Only decoded bytes are remembered: a text that does not decode raises again on every call.
@lru_cache(maxsize=_SMALL_TEXTS)
def _decode_small(value: str) -> bytes:
    return _decode_base64(value)


@lru_cache(maxsize=_LARGE_TEXTS)
def _decode_large(value: str) -> bytes:
    return _decode_base64(value)


def _decode_base64(value: str) -> bytes:
    text = _DATA_URI.sub("", value.strip())
    text = "".join(text.split())
    if "-" in text or "_" in text:
        text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    return base64.b64decode(text, validate=True)


def decode_raw(text: str, fmt: str) -> bytes:
    """Decode the ``hex`` field of a raw command; raises ValueError with a client-facing sentence."""
    if fmt == "base64":
        try:
            payload = decode_base64_payload(text)
        except (binascii.Error, ValueError):
            raise ValueError("field 'hex' is not valid base64") from None
    else:
        digits = _HEX_SEPARATORS.sub("", _HEX_PREFIX.sub("", text))
        if not re.fullmatch(r"[0-9a-fA-F]*", digits):
            bad = next(c for c in digits if c not in "0123456789abcdefABCDEF")
            raise ValueError(f"field 'hex' has a character that is not hex: {bad!r}")
        if len(digits) % 2:
            raise ValueError(f"field 'hex' has an odd number of hex digits ({len(digits)})")
        payload = bytes.fromhex(digits)
    if not 1 <= len(payload) <= MAX_RAW_BYTES:
        raise ValueError(f"field 'hex' decodes to {len(payload)} bytes; 1 to {MAX_RAW_BYTES} are accepted")
    return payload
