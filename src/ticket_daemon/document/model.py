"""The v1 print document (docs/document.md) as pydantic models.

Parsing is tolerant where the spec says so (unknown keys ignored, case-insensitive enums, ``nns`` for nearest) and
strict where a wrong value would print something other than what the client meant (sizes, ranges, barcode data).
Checks that need only the document itself live here, so an invalid document is refused before it is queued;
checks that need rendering (a QR that does not fit, an image that does not decode) live in the renderer. What a
barcode symbology can carry is in ``barcodes``, base64 and hex decoding in ``payloads``, how client spellings
are read in ``spellings``; the lenient reading of documents the original engine printed with defaults is in
``lenient``. These models are always the strict form. The printer profile, alignment and the base every model shares
live in ``base``, which the daemon loads before any document arrives; they are exported from here too.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .barcodes import SYMBOLOGIES, Symbology, barcode_problem, known_symbology
from .base import CODE_TABLES as CODE_TABLES
from .base import Align as Align
from .base import AlignField, Model
from .base import Profile as Profile
from .limits import (
    MAX_BARCODE_BYTES,
    MAX_COMMANDS,
    MAX_IMAGE_BASE64_CHARS,
    MAX_QR_BYTES,
    MAX_RAW_BYTES,
    MAX_TABLE_CELLS,
    MAX_TEXT_CHARS,
)
from .payloads import decode_base64_payload, decode_raw
from .rawpolicy import safe_mode_refusal
from .spellings import QR_MIN_WIDTH, image_scaling, loose, lower, qr_width, table_cell, underline_spelling, upper

# Bounds shared with the plain reading (plaindoc.py), which must take exactly what these models take.
MAX_LABEL_SEPARATOR_CHARS = 200
MAX_SEPARATOR_CHARS = 64
MAX_LINE_CHARS = 1000  # a column's width, a table's paper_width, a separator's length: characters on one line
MAX_COLUMNS = 64
MAX_COLUMN_SPACING = 32
MAX_FEED_LINES = 255  # ESC d n counts lines in one byte
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]


# --- text ----------------------------------------------------------------------------------------------------

_SIZE = re.compile(r"^([1-8])[xX]([1-8])$")


class TextStyle(Model):
    bold: bool = False
    size: Annotated[str, WithJsonSchema({"type": "string", "pattern": r"^\s*[1-8][xX][1-8]\s*$"})] = "1x1"
    underline: Annotated[
        Literal["0pt", "1pt", "2pt"], BeforeValidator(underline_spelling), loose("0pt", "1pt", "2pt")
    ] = "0pt"
    inverse: bool = False
    font: Annotated[Literal["A", "B"], BeforeValidator(upper), loose("A", "B")] = "A"

    @field_validator("size")
    @classmethod
    def _check_size(cls, value: str) -> str:
        # docs/document.md "text": a size that is not "WxH" with W and H from 1 to 8 is a VALIDATION: error.
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
    separator: Annotated[str, Field(max_length=MAX_LABEL_SEPARATOR_CHARS)] = ": "
    align: AlignField = Align.LEFT


class TextData(Model):
    content: Content
    label: Label | None = None
    new_line: bool = True


# --- image ---------------------------------------------------------------------------------------------------


class ImageData(Model):
    code: Annotated[str, Field(max_length=MAX_IMAGE_BASE64_CHARS)]
    # docs/document.md "image": wider than the paper is capped at the profile's dot width, not refused.
    pixel_width: Annotated[int, Field(ge=1)] = 256
    align: AlignField = Align.CENTER
    threshold: Annotated[int, Field(ge=0, le=255)] = 128
    dithering: Annotated[Literal["atkinson", "threshold"], BeforeValidator(lower), loose("atkinson", "threshold")] = (
        "atkinson"
    )
    scaling: Annotated[
        Literal["bilinear", "nearest"], BeforeValidator(image_scaling), loose("bilinear", "nearest", "nns")
    ] = "bilinear"

    @field_validator("code")
    @classmethod
    def _check_base64(cls, value: str) -> str:
        if not value.strip():  # docs/document.md "image": bad image data is an IMAGE: error
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


class BarcodeData(Model):
    symbology: Annotated[
        Symbology, BeforeValidator(known_symbology), loose(*SYMBOLOGIES, "jan13", "jan8", ignoring="-_ ")
    ]
    data: Annotated[str, Field(max_length=MAX_BARCODE_BYTES)]
    width: Annotated[int, Field(ge=2, le=6)] = 3
    height: Annotated[int, Field(ge=1, le=255)] = 64
    hri_position: Annotated[
        Literal["none", "above", "below", "both"], BeforeValidator(lower), loose("none", "above", "below", "both")
    ] = "below"
    hri_font: Annotated[Literal["A", "B"], BeforeValidator(upper), loose("A", "B")] = "A"
    align: AlignField = Align.CENTER

    @model_validator(mode="after")
    def _check_data(self) -> BarcodeData:
        problem = barcode_problem(self.symbology, self.data)
        if problem:
            raise PydanticCustomError("barcode", "field 'data': {problem}", {"problem": problem})
        return self


# --- qr ------------------------------------------------------------------------------------------------------


class QrData(Model):
    data: str
    human_text: Text | None = None
    # docs/document.md "qr": pixel_width is capped at the dot width, so a wider request is not refused.
    pixel_width: Annotated[int, Field(ge=QR_MIN_WIDTH), BeforeValidator(qr_width)] = 256
    correction: Annotated[Literal["L", "M", "Q", "H"], BeforeValidator(upper), loose("L", "M", "Q", "H")] = "M"
    align: AlignField = Align.CENTER
    logo: Annotated[str, Field(max_length=MAX_IMAGE_BASE64_CHARS)] | None = None
    circle_shape: bool = False

    @field_validator("data")
    @classmethod
    def _check_length(cls, value: str) -> str:
        if not value:  # docs/document.md "qr": errors are QR: ...
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


Cell = Annotated[str, BeforeValidator(table_cell), Field(max_length=MAX_TEXT_CHARS)]


class Column(Model):
    name: Annotated[str, Field(max_length=MAX_TEXT_CHARS)] = ""
    width: Annotated[int, Field(gt=0, le=MAX_LINE_CHARS)]
    align: AlignField = Align.LEFT


class TableDefinition(Model):
    columns: Annotated[list[Column], Field(min_length=1, max_length=MAX_COLUMNS)]
    paper_width: Annotated[int, Field(gt=0, le=MAX_LINE_CHARS)] | None = None


class TableOptions(Model):
    header_bold: bool = True
    word_wrap: bool = True
    column_spacing: Annotated[int, Field(ge=0, le=MAX_COLUMN_SPACING)] = 1
    align: AlignField = Align.CENTER
    auto_reduce: bool = True


class TableData(Model):
    definition: TableDefinition
    show_headers: bool = True
    rows: list[list[Cell]] = []  # noqa: RUF012 (a pydantic default: each model gets its own copy)
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
                # docs/document.md "table": TABLE: row i has n cells, expected m
                raise PydanticCustomError(
                    "table", "row {i} has {n} cells, expected {m}", {"i": i, "n": len(row), "m": expected}
                )
        return self


# --- small commands ------------------------------------------------------------------------------------------


class SeparatorData(Model):
    char: Annotated[str, Field(min_length=1, max_length=MAX_SEPARATOR_CHARS)] = "-"
    length: Annotated[int, Field(ge=1, le=MAX_LINE_CHARS)] | None = None


class FeedData(Model):
    lines: Annotated[int, Field(ge=1, le=MAX_FEED_LINES)] = 1


class CutData(Model):
    mode: Annotated[Literal["partial", "full"], BeforeValidator(lower), loose("partial", "full")] = "partial"
    feed: Annotated[int, Field(ge=0, le=MAX_FEED_LINES)] = 2


class PulseData(Model):
    # docs/document.md "separator, feed, cut, pulse, beep": t = ms/2 clamped 1..255 at render, so any positive time is
    # accepted.
    pin: Literal[0, 1] = 0
    on_time: Annotated[int, Field(ge=1)] = 50
    off_time: Annotated[int, Field(ge=1)] = 100


class BeepData(Model):
    # docs/document.md "separator, feed, cut, pulse, beep": 1..9 each, clamped at render rather than refused.
    times: Annotated[int, Field(ge=1)] = 1
    lapse: Annotated[int, Field(ge=1)] = 1


# --- raw -----------------------------------------------------------------------------------------------------


class RawData(Model):
    hex: Annotated[str, Field(max_length=MAX_RAW_BYTES * 6)]
    format: Annotated[Literal["hex", "base64"], BeforeValidator(lower), loose("hex", "base64")] = "hex"
    comment: Annotated[str, Field(max_length=2000)] | None = None
    safe_mode: bool = False

    @model_validator(mode="after")
    def _check_payload(self) -> RawData:
        try:
            payload = decode_raw(self.hex, self.format)
        except ValueError as exc:
            raise PydanticCustomError("raw", "{reason}", {"reason": str(exc)}) from None
        refusal = safe_mode_refusal(payload) if self.safe_mode else None
        if refusal is not None:
            raise PydanticCustomError("raw", "{reason}", {"reason": refusal})
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
    # docs/document.md "Lenient (default) and strict": each default the lenient reading substituted, one
    # ``CATEGORY: sentence`` each, for the job's result. Private: never dumped, never read from a client's JSON.
    _reading_notes: tuple[str, ...] = PrivateAttr(default=())
    # The client's index of each command, when lenient reading skipped some (a null, an unknown type).
    _client_indexes: tuple[int, ...] = PrivateAttr(default=())

    @property
    def reading_notes(self) -> tuple[str, ...]:
        notes: tuple[str, ...] = self._private("_reading_notes")
        return notes

    def client_index(self, position: int) -> int:
        """The index the client gave ``commands[position]``, so every message names the command it sent."""
        indexes: tuple[int, ...] = self._private("_client_indexes")
        return indexes[position] if indexes else position

    def client_indexes(self) -> Sequence[int]:
        """:meth:`client_index` of every command, in order."""
        indexes: tuple[int, ...] = self._private("_client_indexes")
        return indexes or range(len(self.commands))

    def _private(self, name: str) -> Any:
        # Read where pydantic keeps private attributes: its own lookup (``__getattr__``) costs as much as rendering a
        # short line, and every render reads these.
        private = self.__pydantic_private__
        return private[name] if private is not None and name in private else getattr(self, name)

    @field_validator("version")
    @classmethod
    def _check_major(cls, value: str) -> str:
        if value.split(".")[0].lstrip("0") not in ("1",):
            raise PydanticCustomError("version", "major version must be 1, got '{value}'", {"value": value})
        return value
