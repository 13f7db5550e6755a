"""JSON (str, bytes or an already-decoded object) → validated :class:`Document`, or one categorised error.

Commands are validated one at a time so that every message names the command index, its type and the field:
``VALIDATION: field 'content.text' is required at command 3 (text)``. Read leniently by default (``lenient``):
what the original engine printed with a default is printed with it, and the document's ``reading_notes`` say so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from . import lenient
from .asis import LONE_SURROGATE, readable_as_is
from .errors import Category, DocumentError, command_error
from .jsontypes import json_type
from .limits import MAX_COMMANDS, MAX_DOCUMENT_BYTES, MAX_JSON_DEPTH
from .model import COMMAND_MODELS, Document, Profile, QrCommand

M = TypeVar("M", bound=BaseModel)

# Custom pydantic error types raised by the model's validators → the category docs/document.md "Errors" gives them.
_CUSTOM_CATEGORIES = {
    "barcode": Category.BARCODE,
    "qr": Category.QR,
    "table": Category.TABLE,
    "raw": Category.RAW,
    "image": Category.IMAGE,
}


def parse_document(raw: str | bytes | bytearray | Mapping[str, Any], *, strict: bool = False) -> Document:
    """Validate a v1 document. Raises :class:`DocumentError`; never anything else for any input.

    docs/document.md "Lenient (default) and strict": by default each value the original engine printed with a default
    is replaced by it and named in ``Document.reading_notes``; ``strict`` refuses those values instead.
    """
    data = _load_json(raw) if isinstance(raw, (str, bytes, bytearray)) else raw
    if not isinstance(data, Mapping):
        raise DocumentError(f"document must be a JSON object, got {json_type(data)}", category=Category.JSON)
    document = _read_at_once(data, strict=strict)
    return document if document is not None else read_step_by_step(data, strict=strict)


def _read_at_once(data: Mapping[str, Any], *, strict: bool) -> Document | None:
    """The fast path: ``data`` validated in one call, or None when the general reading is needed.

    It answers only when reading step by step would give the very same document without a note: nothing to clean
    or rename (``plain``), and a document valid as sent, where lenient reading repairs nothing. The one lenient
    substitution a valid document can still get (a QR logo that is no usable image) sends it the general way too.
    Every refusal and every note therefore comes from the general reading, word for word.
    """
    if not readable_as_is(data):
        return None
    version = data.get("version")
    if not isinstance(version, str) or (not strict and lenient.read_version(version)[1] is not None):
        return None
    # The same mapping the general reading validates last, so the fields a client set (``model_fields_set``, which
    # the printer registry reads for the profile) are the same either way.
    header = {"version": version, "profile": data.get("profile"), "debug_log": data.get("debug_log", False)}
    try:
        document = Document.model_validate({**header, "commands": data.get("commands")})
    except ValidationError:
        return None
    if not strict:
        for command in document.commands:
            if isinstance(command, QrCommand) and command.data.logo is not None:
                logo = command.data.logo
                if logo.strip() and not lenient.logo_is_usable(logo):
                    return None
    return document


def read_step_by_step(data: Mapping[str, Any], *, strict: bool = False) -> Document:
    """The general reading of a decoded document: cleaned, keys folded, each command validated (and leniently
    repaired) on its own so every error names its command. Gives the same document as the fast path wherever
    that one answers."""
    data = _cleaned(data)
    notes: list[str] | None = None if strict else lenient.fold_key_case(data)

    for key in ("version", "profile", "commands"):
        if data.get(key) is None:  # null is "not given", as in the original (Go encoding/json)
            raise DocumentError(f"field '{key}' is required")
    version = data["version"]
    if not isinstance(version, str):
        raise DocumentError(f"field 'version' must be a string like \"1.0\", got {json_type(version)}")
    if notes is not None:
        version, version_note = lenient.read_version(version)
        notes.extend([version_note] if version_note else [])
    profile = _validate_profile(data["profile"], notes)

    commands = data["commands"]
    if not isinstance(commands, list):
        raise DocumentError(f"field 'commands' must be a list, got {json_type(commands)}")
    if not commands:
        raise DocumentError("field 'commands' must hold at least one command")
    if len(commands) > MAX_COMMANDS:
        raise DocumentError(f"field 'commands' has {len(commands)} commands, at most {MAX_COMMANDS} are accepted")
    validated = [_validate_command(i, command, notes) for i, command in enumerate(commands)]

    header = {"version": version, "profile": profile, "debug_log": data.get("debug_log", False)}
    kept = [command for command in validated if command is not None]
    document = _validate(Document, {**header, "commands": kept}, "document", where="document")
    if notes:
        document._reading_notes = tuple(notes)
    if len(kept) < len(validated):
        document._client_indexes = tuple(i for i, command in enumerate(validated) if command is not None)
    return document


def _validate_profile(value: Any, notes: list[str] | None) -> Profile:
    """The profile; leniently an unknown ``code_table`` is the default page, as in the original."""
    if notes is not None and isinstance(value, dict) and isinstance(value.get("code_table"), str):
        try:
            Profile.model_validate(value)
        except ValidationError as exc:
            if any(error["loc"] == ("code_table",) for error in exc.errors()):
                given = value.pop("code_table")
                default = Profile.model_fields["code_table"].default
                notes.append(f"VALIDATION: profile code_table {given!r} printed as {default!r}")
    return _validate(Profile, value, "field 'profile'", where="profile")


def _validate_command(index: int, command: Any, notes: list[str] | None) -> BaseModel | None:
    """``commands[index]`` validated, or None when lenient reading skips it (the note says so)."""
    if command is None and notes is not None:
        notes.append(f"VALIDATION: command {index} is null, so it was skipped")
        return None
    if not isinstance(command, Mapping):
        raise command_error(Category.VALIDATION, index, "?", f"must be an object, got {json_type(command)}")
    kind = command.get("type")
    if not isinstance(kind, str):
        raise command_error(Category.VALIDATION, index, "?", "field 'type' is required and must be a string")
    model = COMMAND_MODELS.get(kind)
    if model is None:
        if notes is not None:  # the original skipped a command type it did not know
            notes.append(f"COMMAND: Unknown command type {kind!r} at command {index}, so it was skipped")
            return None
        # docs/document.md "Document": COMMAND: Unknown command type 'x' at command 3
        raise DocumentError(f"Unknown command type {kind!r} at command {index}", category=Category.COMMAND)
    payload: dict[str, Any] = {"type": kind}
    if "data" in command and command["data"] is not None:
        payload["data"] = command["data"]
    if notes is not None:
        notes.extend(lenient.before_validation(kind, payload, index))
    pending: list[lenient.Pending] = []
    for _ in range(lenient.MAX_REPAIR_ROUNDS):
        try:
            validated = model.model_validate(payload)
        except ValidationError as exc:
            errors = exc.errors()
            repaired = lenient.repair_errors(kind, payload, errors) if notes is not None else []
            if not repaired:
                category, sentence = _describe(errors[0], strip=("data",))
                raise command_error(category, index, kind, sentence) from None
            pending.extend(repaired)
            continue
        if notes is not None:
            notes.extend(lenient.notes_for(pending, validated, index, kind))
        return validated
    raise command_error(Category.VALIDATION, index, kind, "could not be read")  # pragma: no cover


def _validate(model: type[M], value: Any, what: str, *, where: str) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        category, sentence = _describe(exc.errors()[0], strip=())
        prefix = f"{where}: " if where != "document" else ""
        if sentence.startswith("must be") or sentence.startswith("is "):
            sentence = f"{what} {sentence}"
        raise DocumentError(f"{prefix}{sentence}", category=category) from None


def _describe(error: ErrorDetails, *, strip: tuple[str, ...]) -> tuple[Category, str]:
    """One pydantic error → (category, sentence naming the field)."""
    loc = [str(part) for part in error["loc"]]
    if len(loc) > 1 and loc[0] in strip:
        loc.pop(0)
    field = ".".join(loc)
    kind = error["type"]
    context = error.get("ctx") or {}
    got = _shown(error.get("input"))
    category = _CUSTOM_CATEGORIES.get(kind, Category.VALIDATION)
    if kind in _CUSTOM_CATEGORIES or kind in ("size", "version"):
        message = error["msg"]
        if loc == list(strip):  # a check on the whole command's data: its sentence stands alone
            field = ""
        # Model-level checks already name their field; field-level ones get it here.
        if message.startswith("field '") or (kind in ("table", "raw") and not field):
            return category, message
        return category, f"field '{field}' {message}" if field else message
    where = f"field '{field}'" if field else "value"
    if kind == "missing":
        return category, f"{where} is required"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return category, f"{where} must be an object, got {got}"
    if kind == "list_type":
        return category, f"{where} must be a list, got {got}"
    if kind in ("string_type", "string_unicode"):
        return category, f"{where} must be a string, got {got}"
    if kind in ("bool_type", "bool_parsing"):
        return category, f"{where} must be true or false, got {got}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return category, f"{where} must be a whole number, got {got}"
    if kind in ("literal_error", "enum"):
        expected = context.get("expected", "")
        return category, f"{where} must be one of {expected}, got {got}"
    if kind == "string_pattern_mismatch" and field == "version":
        return category, f"field 'version' must look like \"1.0\", got {got}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        message = error["msg"].replace("Input should be", "must be")
        return category, f"{where} {message}, got {got}"
    if kind in ("string_too_long", "too_long", "string_too_short", "too_short"):
        message = error["msg"].replace("String should have", "must have").replace("List should have", "must have")
        message = message.replace("Value should have", "must have")
        return category, f"{where} {message}"
    return category, f"{where}: {error['msg']}"


def _load_json(raw: str | bytes | bytearray) -> Any:
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise DocumentError(
            f"document is {len(raw)} bytes, at most {MAX_DOCUMENT_BYTES} are accepted", category=Category.JSON
        )
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"Invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", category=Category.JSON
        ) from None
    except UnicodeDecodeError:
        raise DocumentError("document is not valid UTF-8 text", category=Category.JSON) from None
    except RecursionError:
        raise DocumentError("document is nested too deeply", category=Category.JSON) from None
    except ValueError:  # e.g. an integer longer than Python's int_max_str_digits (4300)
        raise DocumentError("document has a number with too many digits", category=Category.JSON) from None


def _cleaned(root: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the document without lone surrogates in any string, refusing absurd nesting on the way.

    Iterative, so no later recursive walk can blow the stack on a deeply nested document.
    """
    top: dict[str, Any] = {}
    # (value, depth, container to store the cleaned value in, key or index in it)
    stack: list[tuple[Any, int, Any, Any]] = [(child, 2, top, _clean_string(key)) for key, child in root.items()]
    for _, _, container, key in stack:
        container[key] = None  # keep the client's key order
    while stack:
        value, depth, container, slot = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise DocumentError(f"document is nested more than {MAX_JSON_DEPTH} levels deep", category=Category.JSON)
        if isinstance(value, Mapping):
            mapping: dict[Any, Any] = {}
            for key, child in value.items():
                key = _clean_string(key)
                mapping[key] = None
                stack.append((child, depth + 1, mapping, key))
            container[slot] = mapping
        elif isinstance(value, list):
            items: list[Any] = [None] * len(value)
            stack.extend((child, depth + 1, items, i) for i, child in enumerate(value))
            container[slot] = items
        else:
            container[slot] = _clean_string(value)
    return top


def _clean_string(value: Any) -> Any:
    return LONE_SURROGATE.sub("", value) if isinstance(value, str) else value


def _shown(value: Any) -> str:
    if isinstance(value, (Mapping, list)) or value is None:
        return json_type(value)
    text = json.dumps(value, ensure_ascii=True) if isinstance(value, (str, int, float, bool)) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
