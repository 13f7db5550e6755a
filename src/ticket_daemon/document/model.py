"""The v1 print document (DOCUMENT.md) as pydantic models.

Parsing is tolerant where the spec says so (unknown keys ignored, case-insensitive enums, ``nns`` for nearest) and
strict where a wrong value would print something other than what the client meant (sizes, ranges, barcode data).
Checks that need only the document itself live here, so an invalid document is refused before it is queued;
checks that need rendering (a QR that does not fit, an image that does not decode) live in the renderer.
"""

from __future__ import annotations

import base64
import binascii
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .codetables import CODE_TABLE_NAMES, DEFAULT_CODE_TABLE, CodeTableName
from .limits import (
    MAX_BARCODE_BYTES,
    MAX_COMMANDS,
    MAX_IMAGE_BASE64_CHARS,
    MAX_QR_BYTES,
    MAX_RAW_BYTES,
    MAX_TABLE_CELLS,
    MAX_TEXT_CHARS,
)


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def loose(*values: str) -> WithJsonSchema:
    """Schema of a case-insensitive enum: any string, with the accepted values documented."""
    return WithJsonSchema(
        {"type": "string", "examples": list(values), "description": f"One of {', '.join(values)} (case-insensitive)."}
    )


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


AlignField = Annotated[Align, BeforeValidator(_lower), loose("left", "center", "right")]
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]


class Model(BaseModel):
    # DOCUMENT.md: "Unknown keys anywhere are ignored".
    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_not_given(cls, value: Any) -> Any:
        # The original (Go encoding/json) treated null as "not given": defaults apply, required fields stay required.
        if isinstance(value, dict):
            return {key: item for key, item in value.items() if item is not None}
        return value


# --- profile -------------------------------------------------------------------------------------------------

CODE_TABLES = CODE_TABLE_NAMES
PAPER_WIDTHS = (58, 72, 80, 100, 112, 120)
DPIS = (203, 300, 600)


class Profile(Model):
    # A model of only spaces names no printer: stripped, then required to be non-empty.
    model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    paper_width: Literal[58, 72, 80, 100, 112, 120] = 80
    code_table: Annotated[CodeTableName, BeforeValidator(_upper), loose(*CODE_TABLES)] = DEFAULT_CODE_TABLE
    dpi: Literal[203, 300, 600] = 203
    has_qr: bool = False


# --- text ----------------------------------------------------------------------------------------------------

_SIZE = re.compile(r"^([1-8])[xX]([1-8])$")


def _underline(value: Any) -> Any:
    """Accept "0pt".."2pt" (the spec) and the bare numbers 0..2 that some clients send."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1, 2):
        return f"{value}pt"
    if isinstance(value, str) and value.strip() in ("0", "1", "2"):
        return f"{value.strip()}pt"
    return _lower(value)


class TextStyle(Model):
    bold: bool = False
    size: str = "1x1"
    underline: Annotated[Literal["0pt", "1pt", "2pt"], BeforeValidator(_underline), loose("0pt", "1pt", "2pt")] = "0pt"
    inverse: bool = False
    font: Annotated[Literal["A", "B"], BeforeValidator(_upper), loose("A", "B")] = "A"

    @field_validator("size")
    @classmethod
    def _check_size(cls, value: str) -> str:
        # DOCUMENT.md: "Invalid size strings are an error (VALIDATION:), not silently 1x1."
        match = _SIZE.match(value.strip())
        if not match:
            raise PydanticCustomError(
                "size", "must be 'WxH' with W and H from 1 to 8 (e.g. '2x1'), got '{value}'", {"value": value}
            )
        return f"{match.group(1)}x{match.group(2)}"

    @property
    def width_multiplier(self) -> int:
        return int(self.size[0])

    @property
    def height_multiplier(self) -> int:
        return int(self.size[2])

    @property
    def underline_dots(self) -> int:
        return int(self.underline[0])


class Content(Model):
    text: Text
    content_style: TextStyle = TextStyle()
    align: AlignField = Align.LEFT


class Label(Model):
    text: Text = ""
    label_style: TextStyle = TextStyle()
    separator: Annotated[str, Field(max_length=200)] = ": "
    align: AlignField = Align.LEFT


class TextData(Model):
    content: Content
    label: Label | None = None
    new_line: bool = True


# --- image ---------------------------------------------------------------------------------------------------

_DATA_URI = re.compile(r"^data:[^,]*?;base64,", re.IGNORECASE)


def decode_base64_payload(value: str) -> bytes:
    """Decode base64 that may carry a ``data:`` URI prefix, whitespace, or the URL-safe alphabet."""
    text = _DATA_URI.sub("", value.strip())
    text = "".join(text.split())
    if "-" in text or "_" in text:
        text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    return base64.b64decode(text, validate=True)


def _image_scaling(value: Any) -> Any:
    value = _lower(value)
    return "nearest" if value == "nns" else value


class ImageData(Model):
    code: Annotated[str, Field(max_length=MAX_IMAGE_BASE64_CHARS)]
    # DOCUMENT.md "image": wider than the paper is capped at the profile's dot width, not refused.
    pixel_width: Annotated[int, Field(ge=1)] = 256
    align: AlignField = Align.CENTER
    threshold: Annotated[int, Field(ge=0, le=255)] = 128
    dithering: Annotated[Literal["atkinson", "threshold"], BeforeValidator(_lower), loose("atkinson", "threshold")] = (
        "atkinson"
    )
    scaling: Annotated[
        Literal["bilinear", "nearest"], BeforeValidator(_image_scaling), loose("bilinear", "nearest", "nns")
    ] = "bilinear"

    @field_validator("code")
    @classmethod
    def _check_base64(cls, value: str) -> str:
        if not value.strip():  # DOCUMENT.md "image": bad image data is an IMAGE: error
            raise PydanticCustomError("image", "is empty; it must hold the base64 image data")
        try:
            payload = decode_base64_payload(value)
        except (binascii.Error, ValueError):
            raise PydanticCustomError("image", "is not valid base64 image data") from None
        if not payload:
            raise PydanticCustomError("image", "is empty after base64 decoding")
        return value

    @property
    def payload(self) -> bytes:
        return decode_base64_payload(self.code)


# --- barcode -------------------------------------------------------------------------------------------------

SYMBOLOGY_ALIASES = {"jan13": "ean13", "jan8": "ean8"}
Symbology = Literal["upca", "upce", "ean13", "ean8", "code39", "itf", "codabar", "code128"]


SYMBOLOGIES = ("upca", "upce", "ean13", "ean8", "code39", "itf", "codabar", "code128")


def _symbology(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    name = value.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    name = SYMBOLOGY_ALIASES.get(name, name)
    if name not in SYMBOLOGIES:
        # DOCUMENT.md: an unknown symbology is an error (the original silently used CODE128).
        raise PydanticCustomError(
            "barcode",
            "field 'symbology' {value} is not supported (use one of: {known})",
            {"value": repr(value), "known": ", ".join(SYMBOLOGIES)},
        )
    return name


_CODE39_CHARS = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./")
_CODABAR_INNER = set("0123456789-$:/.+")
_CODABAR_ENDS = set("ABCDabcd")


def _ean_check_digit(digits: str) -> int:
    """GS1 mod-10 check digit of the digits that precede it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def barcode_problem(symbology: str, data: str) -> str | None:
    """Why ``data`` cannot be printed in ``symbology``, or None when it can (DOCUMENT.md "barcode")."""
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
        if len(data) == lengths[1] and _ean_check_digit(data[:-1]) != int(data[-1]):
            return f"{symbology.upper()} check digit of {data!r} should be {_ean_check_digit(data[:-1])}"
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
    elif symbology == "code128" and any(ord(c) > 0x7F for c in data):
        return "CODE128 data must be ASCII"
    return None


class BarcodeData(Model):
    symbology: Annotated[Symbology, BeforeValidator(_symbology), loose(*SYMBOLOGIES, "jan13", "jan8")]
    data: Annotated[str, Field(max_length=MAX_BARCODE_BYTES)]
    width: Annotated[int, Field(ge=2, le=6)] = 3
    height: Annotated[int, Field(ge=1, le=255)] = 64
    hri_position: Annotated[
        Literal["none", "above", "below", "both"], BeforeValidator(_lower), loose("none", "above", "below", "both")
    ] = "below"
    hri_font: Annotated[Literal["A", "B"], BeforeValidator(_upper), loose("A", "B")] = "A"
    align: AlignField = Align.CENTER

    @model_validator(mode="after")
    def _check_data(self) -> BarcodeData:
        problem = barcode_problem(self.symbology, self.data)
        if problem:
            raise PydanticCustomError("barcode", "field 'data': {problem}", {"problem": problem})
        return self


# --- qr ------------------------------------------------------------------------------------------------------

QR_MIN_WIDTH = 87


def _qr_width(value: Any) -> Any:
    # The original schema's minimum is 87 dots; smaller requests are raised to it instead of refused.
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value < QR_MIN_WIDTH:
        return QR_MIN_WIDTH
    return value


class QrData(Model):
    data: str
    human_text: Text | None = None
    # DOCUMENT.md "qr": pixel_width is "capped at dot width", so a wider request is not refused.
    pixel_width: Annotated[int, Field(ge=QR_MIN_WIDTH), BeforeValidator(_qr_width)] = 256
    correction: Annotated[Literal["L", "M", "Q", "H"], BeforeValidator(_upper), loose("L", "M", "Q", "H")] = "M"
    align: AlignField = Align.CENTER
    logo: Annotated[str, Field(max_length=MAX_IMAGE_BASE64_CHARS)] | None = None
    circle_shape: bool = False

    @field_validator("data")
    @classmethod
    def _check_length(cls, value: str) -> str:
        if not value:  # DOCUMENT.md "qr": errors are QR: ...
            raise PydanticCustomError("qr", "field 'data' is empty; a QR code needs something to hold")
        size = len(value.encode("utf-8"))
        if size > MAX_QR_BYTES:
            raise PydanticCustomError(
                "qr",
                "field 'data' is {size} bytes; a QR code holds at most {limit}",
                {"size": size, "limit": MAX_QR_BYTES},
            )
        return value

    @field_validator("logo")
    @classmethod
    def _check_logo(cls, value: str | None) -> str | None:
        if value:
            try:
                decode_base64_payload(value)
            except (binascii.Error, ValueError):
                raise PydanticCustomError("qr", "field 'logo' is not valid base64 image data") from None
        return value or None


# --- table ---------------------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    # Numbers are printed as written; anything else must already be a string.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


Cell = Annotated[str, BeforeValidator(_cell), Field(max_length=MAX_TEXT_CHARS)]


class Column(Model):
    name: Annotated[str, Field(max_length=MAX_TEXT_CHARS)] = ""
    width: Annotated[int, Field(gt=0, le=1000)]
    align: AlignField = Align.LEFT


class TableDefinition(Model):
    columns: Annotated[list[Column], Field(min_length=1, max_length=64)]
    paper_width: Annotated[int, Field(gt=0, le=1000)] | None = None


class TableOptions(Model):
    header_bold: bool = True
    word_wrap: bool = True
    column_spacing: Annotated[int, Field(ge=0, le=32)] = 1
    align: AlignField = Align.CENTER
    auto_reduce: bool = True


class TableData(Model):
    definition: TableDefinition
    show_headers: bool = True
    rows: list[list[Cell]] = []
    options: TableOptions = TableOptions()

    @model_validator(mode="after")
    def _check_rows(self) -> TableData:
        expected = len(self.definition.columns)
        if len(self.rows) * expected > MAX_TABLE_CELLS:
            raise PydanticCustomError(
                "table",
                "has {n} cells, at most {limit} are accepted",
                {"n": len(self.rows) * expected, "limit": MAX_TABLE_CELLS},
            )
        for i, row in enumerate(self.rows):
            if len(row) != expected:
                # DOCUMENT.md: "TABLE: row i has n cells, expected m"
                raise PydanticCustomError(
                    "table", "row {i} has {n} cells, expected {m}", {"i": i, "n": len(row), "m": expected}
                )
        return self


# --- small commands ------------------------------------------------------------------------------------------


class SeparatorData(Model):
    char: Annotated[str, Field(min_length=1, max_length=64)] = "-"
    length: Annotated[int, Field(ge=1, le=1000)] | None = None


class FeedData(Model):
    lines: Annotated[int, Field(ge=1, le=255)] = 1


class CutData(Model):
    mode: Annotated[Literal["partial", "full"], BeforeValidator(_lower), loose("partial", "full")] = "partial"
    feed: Annotated[int, Field(ge=0, le=255)] = 2


class PulseData(Model):
    # DOCUMENT.md "pulse": t = ms/2 clamped 1..255 at render, so any positive time is accepted.
    pin: Literal[0, 1] = 0
    on_time: Annotated[int, Field(ge=1)] = 50
    off_time: Annotated[int, Field(ge=1)] = 100


class BeepData(Model):
    # DOCUMENT.md "beep": 1..9 each, clamped at render rather than refused.
    times: Annotated[int, Field(ge=1)] = 1
    lapse: Annotated[int, Field(ge=1)] = 1


# --- raw -----------------------------------------------------------------------------------------------------

_HEX_PREFIX = re.compile(r"0x", re.IGNORECASE)
_HEX_SEPARATORS = re.compile(r"[\s,:;]+")
# DOCUMENT.md "raw": commands refused under safe_mode, with the name reported to the client.
SAFE_MODE_BLOCKED: tuple[tuple[bytes, str], ...] = (
    (b"\x1b\x40", "ESC @ (initialize)"),
    (b"\x1b\x3d\x00", "ESC = 0 (disable printer)"),
    (b"\x1b\x70", "ESC p (cash drawer pulse)"),
    (b"\x1d\x3a", "GS : (macro definition)"),
)


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


class RawData(Model):
    hex: Annotated[str, Field(max_length=MAX_RAW_BYTES * 6)]
    format: Annotated[Literal["hex", "base64"], BeforeValidator(_lower), loose("hex", "base64")] = "hex"
    comment: Annotated[str, Field(max_length=2000)] | None = None
    safe_mode: bool = False

    @model_validator(mode="after")
    def _check_payload(self) -> RawData:
        try:
            payload = decode_raw(self.hex, self.format)
        except ValueError as exc:
            raise PydanticCustomError("raw", "{reason}", {"reason": str(exc)}) from None
        if self.safe_mode:
            for sequence, name in SAFE_MODE_BLOCKED:
                if sequence in payload:
                    raise PydanticCustomError("raw", "Blocked by safe_mode - {name}", {"name": name})
        return self

    @property
    def payload(self) -> bytes:
        return decode_raw(self.hex, self.format)


# --- commands and document -----------------------------------------------------------------------------------


class TextCommand(Model):
    type: Literal["text"]
    data: TextData


class ImageCommand(Model):
    type: Literal["image"]
    data: ImageData


class BarcodeCommand(Model):
    type: Literal["barcode"]
    data: BarcodeData


class QrCommand(Model):
    type: Literal["qr"]
    data: QrData


class TableCommand(Model):
    type: Literal["table"]
    data: TableData


class SeparatorCommand(Model):
    type: Literal["separator"]
    data: SeparatorData = SeparatorData()


class FeedCommand(Model):
    type: Literal["feed"]
    data: FeedData = FeedData()


class CutCommand(Model):
    type: Literal["cut"]
    data: CutData = CutData()


class PulseCommand(Model):
    type: Literal["pulse"]
    data: PulseData = PulseData()


class BeepCommand(Model):
    type: Literal["beep"]
    data: BeepData = BeepData()


class RawCommand(Model):
    type: Literal["raw"]
    data: RawData


Command = Annotated[
    TextCommand
    | ImageCommand
    | BarcodeCommand
    | QrCommand
    | TableCommand
    | SeparatorCommand
    | FeedCommand
    | CutCommand
    | PulseCommand
    | BeepCommand
    | RawCommand,
    Field(discriminator="type"),
]

COMMAND_MODELS: dict[str, type[Model]] = {
    "text": TextCommand,
    "image": ImageCommand,
    "barcode": BarcodeCommand,
    "qr": QrCommand,
    "table": TableCommand,
    "separator": SeparatorCommand,
    "feed": FeedCommand,
    "cut": CutCommand,
    "pulse": PulseCommand,
    "beep": BeepCommand,
    "raw": RawCommand,
}


class Document(Model):
    version: Annotated[str, Field(pattern=r"^\d+\.\d+$")]
    profile: Profile
    debug_log: bool = False
    commands: Annotated[list[Command], Field(min_length=1, max_length=MAX_COMMANDS)]

    @field_validator("version")
    @classmethod
    def _check_major(cls, value: str) -> str:
        if value.split(".")[0].lstrip("0") not in ("1",):
            raise PydanticCustomError("version", "major version must be 1, got '{value}'", {"value": value})
        return value
