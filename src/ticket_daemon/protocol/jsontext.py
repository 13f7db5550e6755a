"""The one strict JSON reader and writer: every JSON a door reads (``/ws`` frames, HTTP bodies, MQTT payloads,
the dashboard's and origins API's bodies, files the server keeps) is RFC 8259 JSON and nothing else.

A browser's ``JSON.parse`` throws on ``NaN``/``Infinity`` and a UTF-8 encoder throws on a lone UTF-16 surrogate
(what JavaScript produces when it cuts a string inside an emoji), so neither may ever leave the server, whatever
a client sent. Reading, bytes must be UTF-8, numbers are bounded (a 5 000-digit integer costs quadratic time to
convert), nesting is bounded and ``NaN``/``Infinity`` are refused as the non-JSON they are; every failure is one
``JSON: …`` :class:`TicketError`.

orjson does the work: it is fast and already strict. The standard library only runs on the error path, to tell the
client precisely what was wrong, and to read messages whose only fault is a lone surrogate escape (the field that
holds it is then named by :func:`check_text_fields`; document text is cleaned by the document parser).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import orjson

from ..document.errors import Category, TicketError
from ..document.jsontypes import json_type

# Longest integer accepted: ids and counters never need more; Python's int() of a long digit string is quadratic.
# (Integers beyond 64 bits are read as the nearest double by orjson, as a browser's JSON.parse reads them.)
MAX_NUMBER_DIGITS = 64

# Message fields that are names or ids: echoed back, logged, stored as keys. Each must be text a UTF-8 encoder
# accepts (docs/protocol.md ids, ``printer``, ``tipo``).
TEXT_FIELDS = ("id", "tipo", "printer", "auth_token", "client_id")

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_LONG_NUMBER = re.compile(rf"-?\d{{{MAX_NUMBER_DIGITS + 1},}}")
_NON_FINITE = re.compile(r"-?Infinity|NaN")
REPLACEMENT = "\N{REPLACEMENT CHARACTER}"

NESTED_TOO_DEEPLY = "message is nested too deeply"
NUMBER_TOO_LONG = f"number too long at line {{line}} column {{column}} (more than {MAX_NUMBER_DIGITS} digits)"
NUMBER_OUT_OF_RANGE = "number out of range at line {line} column {column} (JSON numbers must be finite)"
NOT_A_NUMBER = "{token} is not a JSON number at line {line} column {column}"
NOT_TEXT = "field '{field}' is not valid text (lone UTF-16 surrogate)"
NOT_UTF8 = "the message is not UTF-8 text (invalid byte at offset {offset})"
NOT_AN_OBJECT = "a message must be a JSON object, got {got}"


class _Refused(ValueError):
    """Raised by the standard library's number hooks; turned into a ``JSON:`` error with a position."""

    def __init__(self, template: str, pattern: re.Pattern[str], token: str) -> None:
        super().__init__(template)
        self.template = template
        self.pattern = pattern
        self.token = token


# --- reading --------------------------------------------------------------------------------------------------


def decode(text: str | bytes) -> Any:
    """One message → Python values; raises :class:`TicketError` (category JSON) for anything that is not strict
    JSON within the limits above."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        if "depth limit" in error.msg:
            _refuse(NESTED_TOO_DEEPLY)
    # Slow path, errors only (and lone surrogate escapes, which orjson refuses but the protocol tolerates).
    source = text if isinstance(text, str) else _utf8(text)
    try:
        return json.loads(source, parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=_finite_float)
    except _Refused as refused:
        line, column = _position_of(source, refused.pattern)
        _refuse(refused.template.format(line=line, column=column, token=refused.token))
    except json.JSONDecodeError as error:
        _refuse(f"Invalid JSON at line {error.lineno} column {error.colno}: {error.msg}")
    except RecursionError:
        _refuse(NESTED_TOO_DEEPLY)
    except ValueError:  # an integer beyond Python's own digit limit, should the hook above ever be bypassed
        _refuse(NUMBER_TOO_LONG.format(line="?", column="?"))


def read_object(text: str | bytes) -> dict[str, Any]:
    """One message that must be a JSON object (every request is one): :func:`decode`, then ``JSON: a message must
    be a JSON object, got a list`` for any other value."""
    value = decode(text)
    if not isinstance(value, dict):
        _refuse(NOT_AN_OBJECT.format(got=json_type(value)))
    return value


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        _refuse(NOT_UTF8.format(offset=error.start))


def _refuse(sentence: str) -> NoReturn:
    raise TicketError(sentence, category=Category.JSON) from None


def _refuse_constant(token: str) -> NoReturn:
    raise _Refused(NOT_A_NUMBER, _NON_FINITE, token)


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _Refused(NUMBER_TOO_LONG, _LONG_NUMBER, digits)
    return int(digits)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e400
        raise _Refused(NUMBER_OUT_OF_RANGE, re.compile(re.escape(literal)), literal)
    return value


def _position_of(text: str, pattern: re.Pattern[str]) -> tuple[int, int]:
    """Line and column (1-based) of the first match; the hooks are not told where they are."""
    match = pattern.search(text)
    offset = match.start() if match else 0
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def text_problem(value: object) -> str | None:
    """Why ``value`` is not text that can be echoed, or None when it can (or is not a string)."""
    if isinstance(value, str) and LONE_SURROGATE.search(value):
        return "lone UTF-16 surrogate"
    return None


def check_text_fields(message: Mapping[str, Any], fields: Iterable[str] = TEXT_FIELDS) -> None:
    """Raise ``VALIDATION: field 'id' is not valid text (lone UTF-16 surrogate)`` for the first named field that
    holds a string no UTF-8 encoder accepts."""
    for field in fields:
        if text_problem(message.get(field)) is not None:
            raise TicketError(NOT_TEXT.format(field=field), category=Category.VALIDATION)


# --- writing --------------------------------------------------------------------------------------------------


def encode(message: Mapping[str, Any]) -> str:
    """A server message as strict JSON text. Never raises for JSON-shaped values and never emits ``NaN``,
    ``Infinity`` (orjson writes them as ``null``) or a lone surrogate (replaced by U+FFFD)."""
    try:
        return orjson.dumps(message).decode()
    except TypeError:  # a lone surrogate, an integer beyond 64 bits, a non-string key: rare, made safe below
        return json.dumps(sanitised(message), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def sanitised(value: Any) -> Any:
    """``value`` with every string made valid text and every non-finite number made ``null``; other values that
    are not JSON become their ``str()``, so an encoder cannot fail on them."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {sanitised(str(key)): sanitised(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitised(item) for item in value]
    return sanitised(str(value))
