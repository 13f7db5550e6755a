"""What each barcode symbology can carry (docs/document.md "barcode"): names, character sets, lengths, check digits.

Checked when a document is parsed, so a barcode the printer would refuse (or print wrongly) is an error before
the job is queued; the renderer checks again for documents built without parsing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic_core import PydanticCustomError

from .limits import MAX_BARCODE_BYTES

Symbology = Literal["upca", "upce", "ean13", "ean8", "code39", "itf", "codabar", "code128"]
SYMBOLOGIES: tuple[Symbology, ...] = ("upca", "upce", "ean13", "ean8", "code39", "itf", "codabar", "code128")
SYMBOLOGY_ALIASES = {"jan13": "ean13", "jan8": "ean8"}

_CODE39_CHARS = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./")
# The control characters that start printer commands: DLE (real-time requests, the drawer pulse among them), ESC,
# FS, GS. CODE128 data may hold other control characters (TAB, CR: keys a scanner types), never these.
COMMAND_CHARACTERS = {"\x10": "DLE", "\x1b": "ESC", "\x1c": "FS", "\x1d": "GS"}
_CODABAR_INNER = set("0123456789-$:/.+")
_CODABAR_ENDS = set("ABCDabcd")


def symbology_name(value: Any) -> Any:
    """A symbology as clients write it (any case, ``-``/``_``/spaces ignored, JAN aliases) → its canonical name.

    Non-strings pass through for the model to refuse; an unknown name is returned normalised, for the caller to judge.
    """
    if not isinstance(value, str):
        return value
    name = value.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    return SYMBOLOGY_ALIASES.get(name, name)


def known_symbology(value: Any) -> Any:
    """The model's reading of ``symbology``: canonical name, or a ``BARCODE:`` error for an unknown one."""
    name = symbology_name(value)
    if isinstance(name, str) and name not in SYMBOLOGIES:
        # docs/document.md "barcode": an unknown symbology is an error in strict reading; the lenient reading
        # substitutes CODE128 before the model sees it.
        raise PydanticCustomError(
            "barcode",
            "field 'symbology' {value} is not supported (use one of: {known})",
            {"value": repr(value), "known": ", ".join(SYMBOLOGIES)},
        )
    return name


def ean_check_digit(digits: str) -> int:
    """GS1 mod-10 check digit of the digits that precede it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def barcode_problem(symbology: str, data: str) -> str | None:
    """Why ``data`` cannot be printed in ``symbology``, or None when it can (docs/document.md "barcode")."""
    if not data:
        return "data is empty"
    if not data.isascii() or any(ord(c) < 0x20 and symbology != "code128" for c in data):
        return "data must be printable ASCII"
    if len(data.encode("ascii")) > MAX_BARCODE_BYTES:
        return f"data is {len(data)} bytes, at most {MAX_BARCODE_BYTES} fit"
    fixed = {"upca": (11, 12), "ean13": (12, 13), "ean8": (7, 8)}
    if symbology in fixed:
        lengths = fixed[symbology]
        if not data.isdigit() or len(data) not in lengths:
            return f"{symbology.upper()} needs {lengths[0]} or {lengths[1]} digits, got {data!r}"
        if len(data) == lengths[1] and ean_check_digit(data[:-1]) != int(data[-1]):
            return f"{symbology.upper()} check digit of {data!r} should be {ean_check_digit(data[:-1])}"
    elif symbology == "upce":
        if not data.isdigit() or len(data) not in (6, 7, 8, 11, 12):
            return f"UPCE needs 6, 7, 8, 11 or 12 digits, got {data!r}"
        if len(data) in (7, 8, 11, 12) and data[0] != "0":
            return f"UPCE data of {len(data)} digits must start with 0 (number system 0), got {data!r}"
    elif symbology == "itf":
        if not data.isdigit() or len(data) % 2:
            return f"ITF needs an even number of digits, got {data!r}"
    elif symbology == "code39":
        bad = sorted(set(data) - _CODE39_CHARS)
        if bad:
            return f"CODE39 cannot encode {''.join(bad)!r} (allowed: 0-9 A-Z space $ % * + - . /)"
    elif symbology == "codabar":
        if len(data) < 2 or data[0] not in _CODABAR_ENDS or data[-1] not in _CODABAR_ENDS:
            return f"CODABAR data must start and end with A, B, C or D, got {data!r}"
        bad = sorted(set(data[1:-1]) - _CODABAR_INNER)
        if bad:
            return f"CODABAR cannot encode {''.join(bad)!r} (allowed: 0-9 - $ : / . +)"
    elif symbology == "code128":
        if any(ord(c) > 0x7F for c in data):
            return "CODE128 data must be ASCII"
        command = next((c for c in data if c in COMMAND_CHARACTERS), None)
        if command is not None:
            return (
                f"CODE128 data cannot hold the control character {COMMAND_CHARACTERS[command]} "
                f"(0x{ord(command):02x}, at position {data.index(command)}): printers take it for a command"
            )
    return None
