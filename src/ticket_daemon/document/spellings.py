"""How the values clients write are read before validation (docs/document.md "Lenient (default) and strict": enums
are case-insensitive, ``nns`` is nearest, numbers in table cells are text), and how the published schema describes
those spellings.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import WithJsonSchema


def lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def loose(*values: str, ignoring: str = "") -> WithJsonSchema:
    """Schema of a case-insensitive enum: a pattern that takes what the parser takes (any case, surrounding spaces,
    the ``ignoring`` characters anywhere), so the published schema describes the strict form and no more."""
    gap = f"[{ignoring}]*" if ignoring else ""  # a JSON Schema (ECMA 262) class: '-' is literal when first
    spelled = (gap.join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in v) for v in values)
    pattern = rf"^\s*{gap}({'|'.join(spelled)}){gap}\s*$"
    description = f"One of {', '.join(values)} (case-insensitive)."
    return WithJsonSchema({"type": "string", "pattern": pattern, "examples": list(values), "description": description})


def underline_spelling(value: Any) -> Any:
    """Accept "0pt".."2pt" (the spec) and the bare numbers 0..2 that some clients send."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1, 2):
        return f"{value}pt"
    if isinstance(value, str) and value.strip() in ("0", "1", "2"):
        return f"{value.strip()}pt"
    return lower(value)


def image_scaling(value: Any) -> Any:
    value = lower(value)
    return "nearest" if value == "nns" else value


QR_MIN_WIDTH = 87


def qr_width(value: Any) -> Any:
    # The original schema's minimum is 87 dots; smaller requests are raised to it instead of refused.
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value < QR_MIN_WIDTH:
        return QR_MIN_WIDTH
    return value


def table_cell(value: Any) -> Any:
    # Numbers are printed as written; anything else must already be a string.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value
