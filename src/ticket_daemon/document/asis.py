"""Whether a decoded document can be validated as it is, in one pydantic call (the parser's fast path).

The general reading (``parse.read_step_by_step``) copies the whole document to drop lone surrogates and to refuse
absurd nesting, renames keys sent in another letter case, then validates command by command so that lenient
reading can repair and note what the original engine printed with a default. For the documents POS software
sends every day none of that changes anything; this check says so in one walk that allocates nothing, so the
parser can validate the client's own objects in one call and fall back to the general reading whenever the
answer is no (the general reading then gives every error and note).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .lenient import field_names
from .limits import MAX_JSON_DEPTH

# What the general reading removes from strings: a lone UTF-16 surrogate (JSON "\\udce9") is no character, pydantic
# refuses it and it cannot be sent back as UTF-8.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Scalars taken as they are: exactly the types a JSON decoder makes (a subclass could behave differently).
_SCALARS = (int, float, bool, type(None))


def readable_as_is(document: Any) -> bool:
    """True when the general reading's copy and key renaming would leave ``document`` exactly as it is: only
    ``dict``, ``list`` and JSON scalars, no string with a lone surrogate, no key lenient reading would rename,
    nothing nested deeper than MAX_JSON_DEPTH. False means "take the general reading", never "invalid"."""
    return type(document) is dict and _plain_container(document, 1, field_names())


def _plain_container(container: dict[Any, Any] | list[Any], depth: int, known: frozenset[str]) -> bool:
    # The general reading refuses a value (any value) deeper than MAX_JSON_DEPTH; the root is at depth 1, its
    # children at 2. Recursion is bounded by the same limit, so a hostile depth cannot exhaust the stack.
    if depth >= MAX_JSON_DEPTH:
        return False
    children: Iterable[Any] = container
    if type(container) is dict:
        for key in container:
            if key not in known and not _plain_key(key, known):
                return False
        children = container.values()
    for child in children:
        kind = type(child)
        if kind is str:
            if not child.isascii() and LONE_SURROGATE.search(child):
                return False
        elif kind is dict or kind is list:
            if not _plain_container(child, depth + 1, known):
                return False
        elif kind not in _SCALARS:
            return False
    return True


def _plain_key(key: Any, known: frozenset[str]) -> bool:
    """A key that is no field name: plain unless lenient reading would rename it (another case of a field name)
    or cleaning would change it (a lone surrogate)."""
    if type(key) is not str:
        return False
    if not key.isascii() and LONE_SURROGATE.search(key):
        return False
    lower = key.lower()
    return lower == key or lower not in known
