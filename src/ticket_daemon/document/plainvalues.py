"""The checks the plain reading makes of single values (``plaindoc.py``, ``plainsymbols.py``): each takes a value
exactly when the models take it as written, with nothing to mend or note."""

from __future__ import annotations

from typing import Any, TypeGuard

from .asis import LONE_SURROGATE
from .base import Align

# The spellings of an alignment the models read without a note: as written, in capitals, capitalised.
ALIGN_SPELLINGS = {
    spelled: alignment
    for alignment in Align
    for spelled in (alignment.value, alignment.value.upper(), alignment.value.capitalize())
}


def is_text(value: Any, limit: int) -> TypeGuard[str]:
    """A string of at most ``limit`` characters with no lone surrogate (which the general reading removes)."""
    return (
        type(value) is str
        and len(value) <= limit
        and (value.isascii() or value.isprintable() or LONE_SURROGATE.search(value) is None)
    )


def whole_number(value: Any, low: int, high: int) -> TypeGuard[int]:
    """An integer (not a bool) from ``low`` to ``high``."""
    return type(value) is int and low <= value <= high
