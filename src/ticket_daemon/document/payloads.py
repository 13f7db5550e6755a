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

# DOCUMENT.md "raw": commands refused under safe_mode, with the name reported to the client.
SAFE_MODE_BLOCKED: tuple[tuple[bytes, str], ...] = (
    (b"\x1b\x40", "ESC @ (initialize)"),
    (b"\x1b\x3d\x00", "ESC = 0 (disable printer)"),
    (b"\x1b\x70", "ESC p (cash drawer pulse)"),
    (b"\x1d\x3a", "GS : (macro definition)"),
)


# A shop sends the same logo on every ticket, and each is decoded when the document is checked and again when it
# is printed (~3 µs per KB of base64). Texts up to this size are remembered with their bytes: at most
# _MEMO_ENTRIES x (64 KiB of text + 48 KiB of bytes), ~3.5 MB. A hit costs hashing the text (~0.3 µs per KB).
_MEMO_MAX_CHARS = 64 * 1024
_MEMO_ENTRIES = 32


def decode_base64_payload(value: str) -> bytes:
    """Decode base64 that may carry a ``data:`` URI prefix, whitespace, or the URL-safe alphabet."""
    if len(value) <= _MEMO_MAX_CHARS:
        return _decode_remembered(value)
    return _decode_base64(value)


@lru_cache(maxsize=_MEMO_ENTRIES)
def _decode_remembered(value: str) -> bytes:
    return _decode_base64(value)  # an error is raised again for every call: only decoded bytes are remembered


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
