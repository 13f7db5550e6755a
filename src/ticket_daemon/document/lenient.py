"""Lenient reading (docs/document.md "Lenient (default) and strict"): where the original engine printed with a default,
print with the same default and say so, one ``CATEGORY: sentence`` per substitution.

The models stay strict. The parser validates a command as sent; in lenient mode each error that the original
engine would have printed through is repaired in the command's JSON (the field removed so its default applies, or
clamped, or replaced as the original did) and the command is validated again. What is left is refused as in strict
mode. So the validated document, and what is stored with the job, is always a valid strict document.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic_core import ErrorDetails

from .base import Model
from .errors import Category
from .limits import MAX_IMAGE_PIXELS
from .payloads import decode_base64_payload
from .spellings import QR_MIN_WIDTH

# Every repair round fixes all errors pydantic reported at once; checks that run after the fields are valid (the
# barcode's data) can surface only in a later round. More rounds than this means a repair is not converging.
MAX_REPAIR_ROUNDS = 6
# docs/document.md "image": what the renderer decodes; a logo in another format is as unusable as one that is not
# base64.
LOGO_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
BARCODE_MODULE_RANGE = (2, 6)
# "1.x", "2.0", "10.3": a major and a minor part the original read as version 1.0.
_ANY_VERSION = re.compile(r"^\d+\.[0-9A-Za-z]+$")
_V1 = re.compile(r"^0*1\.\d+$")
ANY = "*"  # matches any list index in a field path


@dataclass(frozen=True, slots=True)
class Repair:
    """How one refused field is printed instead: ``value(original)`` (None = drop the field, its default applies)."""

    category: Category
    value: Callable[[Any], Any] | None = None


def _default() -> Repair:
    return Repair(Category.VALIDATION)


def _clamp(low: int, high: int) -> Callable[[Any], Any]:
    return lambda given: max(low, min(high, given))


# (command type, field path inside ``data``) → what the original printed for a value it did not know.
# Only values of the right JSON type are repaired (an unknown word, a number out of range): a list where a
# string belongs was an error for the original too.
_ENUM_REPAIRS: dict[tuple[str, tuple[str, ...]], Repair] = {
    **{
        ("text", (part, *field)): _default()
        for part, style in (("content", "content_style"), ("label", "label_style"))
        for field in (("align",), (style, "size"), (style, "font"), (style, "underline"))
    },
    ("image", ("align",)): _default(),
    ("image", ("dithering",)): _default(),
    ("image", ("scaling",)): _default(),
    ("barcode", ("symbology",)): Repair(Category.BARCODE, lambda _: "code128"),
    ("barcode", ("hri_position",)): _default(),
    ("barcode", ("align",)): _default(),
    ("qr", ("align",)): _default(),
    ("table", ("definition", "columns", ANY, "align")): _default(),
    ("table", ("options", "align")): _default(),
    ("cut", ("mode",)): _default(),
}
_NUMBER_REPAIRS: dict[tuple[str, tuple[str, ...]], Repair] = {
    ("barcode", ("width",)): Repair(Category.VALIDATION, _clamp(*BARCODE_MODULE_RANGE)),
    ("qr", ("pixel_width",)): Repair(Category.VALIDATION, lambda given: max(QR_MIN_WIDTH, given)),
    ("pulse", ("pin",)): _default(),
}
_ENUM_ERRORS = frozenset({"literal_error", "enum", "size", "barcode"})
_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal", "literal_error"})


@dataclass(slots=True)
class Pending:
    """A repair made, whose note is written once the command validates (the note names the printed value)."""

    category: Category
    path: tuple[str | int, ...]
    given: Any


def repair_errors(kind: str, payload: dict[str, Any], errors: list[ErrorDetails]) -> list[Pending]:
    """Repair in ``payload`` (a command's JSON) every error the original printed through; what was repaired."""
    repaired: list[Pending] = []
    data = payload.get("data")
    if not isinstance(data, dict):
        return repaired
    for error in errors:
        loc = error["loc"]
        if not loc or loc[0] != "data":
            continue
        path = tuple(loc[1:])
        pattern = tuple(ANY if isinstance(part, int) else part for part in path)
        given = error.get("input")
        repair = _ENUM_REPAIRS.get((kind, pattern))
        if repair is not None and error["type"] in _ENUM_ERRORS and isinstance(given, str):
            if _set(data, path, repair.value(given) if repair.value else None):
                repaired.append(Pending(repair.category, path, given))
            continue
        repair = _NUMBER_REPAIRS.get((kind, pattern))
        if repair is not None and error["type"] in _RANGE_ERRORS and _is_int(given):
            if _set(data, path, repair.value(given) if repair.value else None):
                repaired.append(Pending(repair.category, path, given))
            continue
        feed_of_zero = (kind, path, error["type"]) == ("feed", ("lines",), "greater_than_equal") and given == 0
        if feed_of_zero and _set(data, path, 1):  # the original fed one line for 0
            repaired.append(Pending(Category.VALIDATION, path, given))
    return repaired


def notes_for(pending: list[Pending], validated: Any, index: int, kind: str) -> list[str]:
    """One sentence per repair, naming the value now printed: ``VALIDATION: content.align 'middle' at command 0
    (text) printed as 'left'``."""
    notes = []
    for item in pending:
        field = ".".join(str(part) for part in item.path)
        printed = _shown(_value_at(validated.data, item.path))
        notes.append(f"{item.category}: {field} {_shown(item.given)} at command {index} ({kind}) printed as {printed}")
    return notes


def before_validation(kind: str, payload: dict[str, Any], index: int) -> list[str]:
    """Repairs the model cannot report as a field error: a text with only a label, a QR logo that is no image."""
    data = payload.get("data")
    if not isinstance(data, dict):
        return []
    if kind == "text":
        label, content = data.get("label"), data.get("content")
        no_content = content is None or (isinstance(content, dict) and content.get("text") is None)
        if no_content and isinstance(label, dict) and isinstance(label.get("text"), str) and label["text"]:
            moved = {"text": label["text"], "content_style": label.get("label_style"), "align": label.get("align")}
            data["content"] = {key: value for key, value in moved.items() if value is not None}
            del data["label"]
            return [f"VALIDATION: text at command {index} has a label but no content, so the label is printed alone"]
    if kind == "qr" and isinstance(data.get("logo"), str) and data["logo"].strip() and not logo_is_usable(data["logo"]):
        del data["logo"]
        return [f"QR: logo at command {index} (qr) is not a usable image, so the QR code is printed without it"]
    return []


def logo_is_usable(text: str) -> bool:
    """Whether a QR ``logo`` decodes to an image the renderer accepts (base64, a known format, a sane size)."""
    from PIL import Image  # here, not at import: only a QR logo needs Pillow in the daemon's own process

    try:
        payload = decode_base64_payload(text)
        with Image.open(io.BytesIO(payload), formats=LOGO_FORMATS) as image:
            width, height = image.size
            if not (width > 0 and height > 0 and width * height <= MAX_IMAGE_PIXELS):
                return False
            image.load()
    except Exception:  # binascii, Pillow's assorted errors for junk: all mean the logo cannot be drawn
        return False
    return True


def read_version(version: str) -> tuple[str, str | None]:
    """docs/document.md "Lenient (default) and strict": any version ``1.x`` or ``X.Y`` is read as 1.0. (version, note
    or None)."""
    if _V1.match(version) or not _ANY_VERSION.match(version):
        return version, None
    return "1.0", f"VALIDATION: version {version!r} read as '1.0'"


def fold_key_case(document: dict[str, Any]) -> list[str]:
    """Keys in another letter case (``Version``, ``Commands``, ``Type``, ``Data``…) renamed in place to the field
    they name, as Go's JSON decoder matched them; one note per spelling."""
    known = field_names()
    seen: dict[str, int] = {}
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in list(node):
                lower = key.lower() if isinstance(key, str) else key
                if lower != key and lower in known and lower not in node:
                    node[lower] = node.pop(key)
                    seen[key] = seen.get(key, 0) + 1
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return [
        f"VALIDATION: key {key!r} read as {key.lower()!r}" + (f" ({count} times)" if count > 1 else "")
        for key, count in sorted(seen.items())
    ]


@cache
def field_names() -> frozenset[str]:
    """Every field name of the document models (``type`` and ``data`` included): the keys read case-insensitively.
    The models are all defined when this module is imported, so the walk over them is done once."""
    names: set[str] = {"type", "data"}
    stack: list[type[Model]] = [Model]
    while stack:
        model = stack.pop()
        names.update(model.model_fields)
        stack.extend(model.__subclasses__())
    return frozenset(names)


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> bool:
    node: Any = data
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    if not isinstance(node, dict):
        return False
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return True


def _value_at(node: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        node = node[part] if isinstance(part, int) else getattr(node, part)
    return node


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    value = getattr(value, "value", value)  # an enum member prints as its value
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
