"""A plain document read without the models: the parser's fastest path, for the documents POS software sends every
day (text, separators, tables, feeds, cuts, pulse, beep, images, barcodes and QR codes, with the keys and spellings
docs/document.md gives; the last three in ``plainsymbols.py``).

:func:`read_plain` reads exactly those, checking every value the models would check, into the values the layout
reads (``escpos/plain.py``); anything else (an unknown key, a null, another type, a value out of range or spelled
differently, another command type) makes it answer None, and the general reading (``parse.py``) reads the
document. So it never refuses anything, never writes a note, and gives the layout what the models would give it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from .asis import LONE_SURROGATE
from .limits import MAX_COMMANDS, MAX_TABLE_CELLS, MAX_TEXT_CHARS
from .model import (
    MAX_COLUMN_SPACING,
    MAX_COLUMNS,
    MAX_FEED_LINES,
    MAX_LABEL_SEPARATOR_CHARS,
    MAX_LINE_CHARS,
    MAX_SEPARATOR_CHARS,
    Align,
    BeepData,
    Column,
    Content,
    CutData,
    FeedData,
    Label,
    Profile,
    PulseData,
    SeparatorData,
    TableData,
    TableOptions,
    TextData,
    TextStyle,
)
from .plainsymbols import SYMBOL_READERS, PlainSymbol
from .plainvalues import ALIGN_SPELLINGS, is_text, whole_number

# A text style as the layout reads it: font ("A"/"B"), size ("WxH"), bold, underline ("0pt".."2pt"), inverse.
StyleKey = tuple[str, str, bool, str, bool]
Span = tuple[str, StyleKey, Align]  # text, style, alignment
LabelSpan = tuple[str, str, StyleKey, Align]  # text, separator, style, alignment
ColumnSpec = tuple[str, int, Align]  # name, width, alignment


def _default(model: type[BaseModel], name: str) -> Any:
    """What the models take for a field the client left out: the plain reading takes the same."""
    return model.model_fields[name].default


_STYLE = TextStyle()
DEFAULT_STYLE: StyleKey = (_STYLE.font, _STYLE.size, _STYLE.bold, _STYLE.underline, _STYLE.inverse)


@dataclass(frozen=True, slots=True)
class TableLook:
    """A table's options as the layout reads them (docs/document.md "table")."""

    show_headers: bool
    header_bold: bool
    word_wrap: bool
    column_spacing: int
    align: Align
    auto_reduce: bool
    paper_width: int | None


# One object per command of a plain document; the layout only reads them.
@dataclass(slots=True)
class PlainText:
    label: LabelSpan | None
    content: Span
    new_line: bool


@dataclass(slots=True)
class PlainSeparator:
    char: str
    length: int | None


@dataclass(slots=True)
class PlainFeed:
    lines: int


@dataclass(slots=True)
class PlainCut:
    full: bool
    feed: int


@dataclass(slots=True)
class PlainPulse:
    pin: int
    on_time: int
    off_time: int


@dataclass(slots=True)
class PlainBeep:
    times: int
    lapse: int


@dataclass(slots=True)
class PlainTable:
    columns: list[ColumnSpec]
    rows: list[list[str]]
    look: TableLook


PlainCommand = PlainText | PlainSeparator | PlainFeed | PlainCut | PlainPulse | PlainBeep | PlainTable | PlainSymbol


# Only read, like its commands; not frozen, as a frozen dataclass costs several times as much to make (one a job).
@dataclass(slots=True)
class PlainDocument:
    """A document read by :func:`read_plain`: valid as sent, with nothing lenient reading would change or note.
    ``source`` is the client's document, for the general reading when the layout needs it (a table that does not
    fit the paper is refused with the general renderer's words)."""

    profile: Profile
    commands: tuple[PlainCommand, ...]
    source: Mapping[str, Any]


_ABSENT: Any = object()  # a key the client did not send
_DOCUMENT_KEYS = frozenset({"version", "profile", "commands", "debug_log"})
_COMMAND_KEYS = frozenset({"type", "data"})
_PROFILE_KEYS = frozenset(Profile.model_fields)
_PROFILE_SCALARS = frozenset({str, int, bool})  # what a profile may hold for the model to decide on
# What a remembered profile may hold in strings: a model name and a code table name, so the cache stays small.
_MAX_PROFILE_CHARS = 256
# 1.x with ASCII digits: valid, and read as sent (lenient.read_version leaves it alone).
_PLAIN_VERSION = re.compile(r"0*1\.[0-9]+", re.ASCII)
# Whole numbers the models bound only from below are taken up to here; past it the general reading decides.
_PLAIN_INT_LIMIT = 1_000_000
_PLAIN_CELL_INT_LIMIT = 10**15  # a number in a table cell is printed as written (spellings.table_cell)

_SIZES = {f"{w}{x}{h}": f"{w}x{h}" for w in "12345678" for h in "12345678" for x in "xX"}
_FONTS = {"A": "A", "B": "B", "a": "A", "b": "B"}
_UNDERLINES = {"0pt": "0pt", "1pt": "1pt", "2pt": "2pt"}
_CUT_MODES = {"partial": False, "full": True, "PARTIAL": False, "FULL": True}

# What the models take for the fields a client leaves out (read once).
_BEEP_LAPSE = _default(BeepData, "lapse")
_BEEP_TIMES = _default(BeepData, "times")
_COLUMN_ALIGN = _default(Column, "align")
_COLUMN_NAME = _default(Column, "name")
_CONTENT_ALIGN = _default(Content, "align")
_CUT_FEED = _default(CutData, "feed")
_CUT_MODE = _default(CutData, "mode")
_FEED_LINES = _default(FeedData, "lines")
_LABEL_ALIGN = _default(Label, "align")
_LABEL_SEPARATOR = _default(Label, "separator")
_LABEL_TEXT = _default(Label, "text")
_PULSE_OFF_TIME = _default(PulseData, "off_time")
_PULSE_ON_TIME = _default(PulseData, "on_time")
_PULSE_PIN = _default(PulseData, "pin")
_SEPARATOR_CHAR = _default(SeparatorData, "char")
_SEPARATOR_LENGTH = _default(SeparatorData, "length")
_TABLE_OPTIONS_ALIGN = _default(TableOptions, "align")
_TABLE_OPTIONS_AUTO_REDUCE = _default(TableOptions, "auto_reduce")
_TABLE_OPTIONS_COLUMN_SPACING = _default(TableOptions, "column_spacing")
_TABLE_OPTIONS_HEADER_BOLD = _default(TableOptions, "header_bold")
_TABLE_OPTIONS_WORD_WRAP = _default(TableOptions, "word_wrap")
_TABLE_SHOW_HEADERS = _default(TableData, "show_headers")
_TEXT_NEW_LINE = _default(TextData, "new_line")

_STYLE_KEYS = frozenset({"bold", "size", "underline", "inverse", "font"})
_TEXT_KEYS = frozenset({"content", "label", "new_line"})
_CONTENT_KEYS = frozenset({"text", "content_style", "align"})
_LABEL_KEYS = frozenset({"text", "label_style", "separator", "align"})
_SEPARATOR_KEYS = frozenset({"char", "length"})
_TABLE_KEYS = frozenset({"definition", "show_headers", "rows", "options"})
_DEFINITION_KEYS = frozenset({"columns", "paper_width"})
_COLUMN_KEYS = frozenset({"name", "width", "align"})
_OPTIONS_KEYS = frozenset({"header_bold", "word_wrap", "column_spacing", "align", "auto_reduce"})
_FEED_KEYS = frozenset({"lines"})
_CUT_KEYS = frozenset({"mode", "feed"})
_PULSE_KEYS = frozenset({"pin", "on_time", "off_time"})
_BEEP_KEYS = frozenset({"times", "lapse"})


def read_plain(document: Any) -> PlainDocument | None:
    """``document`` read without the models when it is plain (see above), else None: "take the general reading",
    never "invalid"."""
    if type(document) is not dict or not _DOCUMENT_KEYS.issuperset(document):
        return None
    version = document.get("version")
    if type(version) is not str or _PLAIN_VERSION.fullmatch(version) is None:
        return None
    if type(document.get("debug_log", False)) is not bool:
        return None
    profile = _profile(document.get("profile"))
    commands = document.get("commands")
    if profile is None or type(commands) is not list or not 0 < len(commands) <= MAX_COMMANDS:
        return None
    read: list[PlainCommand] = []
    for command in commands:
        if type(command) is not dict or not _COMMAND_KEYS.issuperset(command):
            return None
        kind = command.get("type")
        reader = _READERS.get(kind) if type(kind) is str else None
        item = reader(command.get("data", _ABSENT)) if reader is not None else None
        if item is None:
            return None
        read.append(item)
    return PlainDocument(profile, tuple(read), document)


def _profile(value: Any) -> Profile | None:
    if type(value) is not dict or not _PROFILE_KEYS.issuperset(value):
        return None
    kinds = tuple(map(type, value.values()))
    if not _PROFILE_SCALARS.issuperset(kinds):
        return None
    characters = 0
    for item in value.values():
        if type(item) is str:
            characters += len(item)
    if characters > _MAX_PROFILE_CHARS:
        return None  # not worth remembering (the model takes 200 characters of model name, after stripping)
    # The types are part of the key: 1 and True are equal keys, but not the same value to validate.
    return _validated_profile(tuple(value.items()), kinds)


# A till sends the same profile on every ticket: each distinct one is validated once.
@lru_cache(maxsize=256)
def _validated_profile(items: tuple[tuple[str, Any], ...], kinds: tuple[type, ...]) -> Profile | None:
    fields: dict[str, Any] = {}
    for (name, item), kind in zip(items, kinds, strict=True):
        if kind is str and not is_text(item, len(item)):
            return None
        fields[name] = item
    try:
        return Profile.model_validate(fields)
    except ValidationError:
        return None


def _align(value: Any, default: Align) -> Align | None:
    if value is _ABSENT:
        return default
    return ALIGN_SPELLINGS.get(value) if type(value) is str else None


def _style(value: Any) -> StyleKey | None:
    if value is _ABSENT:
        return DEFAULT_STYLE
    if type(value) is not dict or not _STYLE_KEYS.issuperset(value):
        return None
    if not value:
        return DEFAULT_STYLE
    default_font, default_size, default_bold, default_underline, default_inverse = DEFAULT_STYLE
    bold = value.get("bold", default_bold)
    size = value.get("size", default_size)
    underline = value.get("underline", default_underline)
    inverse = value.get("inverse", default_inverse)
    font = value.get("font", default_font)
    if type(bold) is not bool or type(inverse) is not bool:
        return None
    if type(size) is not str or type(underline) is not str or type(font) is not str:
        return None
    size = _SIZES.get(size)
    underline = _UNDERLINES.get(underline)
    font = _FONTS.get(font)
    if size is None or underline is None or font is None:
        return None
    return (font, size, bold, underline, inverse)


def _text(data: Any) -> PlainText | None:
    if type(data) is not dict or not _TEXT_KEYS.issuperset(data):
        return None
    content = _content(data.get("content"))
    new_line = data.get("new_line", _TEXT_NEW_LINE)
    if content is None or type(new_line) is not bool:
        return None
    label = data.get("label", _ABSENT)
    if label is _ABSENT:
        return PlainText(None, content, new_line)
    label_span = _label(label)
    return PlainText(label_span, content, new_line) if label_span is not None else None


def _content(value: Any) -> Span | None:
    if type(value) is not dict:
        return None
    if len(value) == 1 and "text" in value:  # only a text (the everyday case): the default style and alignment
        text = value["text"]
        return (text, DEFAULT_STYLE, _CONTENT_ALIGN) if is_text(text, MAX_TEXT_CHARS) else None
    if not _CONTENT_KEYS.issuperset(value):
        return None
    text = value.get("text")
    style = _style(value.get("content_style", _ABSENT))
    alignment = _align(value.get("align", _ABSENT), _CONTENT_ALIGN)
    if not is_text(text, MAX_TEXT_CHARS) or style is None or alignment is None:
        return None
    return (text, style, alignment)


def _label(value: Any) -> LabelSpan | None:
    if type(value) is not dict:
        return None
    if len(value) == 1 and "text" in value:  # only a text: the default separator, style and alignment
        text = value["text"]
        return (text, _LABEL_SEPARATOR, DEFAULT_STYLE, _LABEL_ALIGN) if is_text(text, MAX_TEXT_CHARS) else None
    if not _LABEL_KEYS.issuperset(value):
        return None
    text = value.get("text", _LABEL_TEXT)
    separator = value.get("separator", _LABEL_SEPARATOR)
    style = _style(value.get("label_style", _ABSENT))
    alignment = _align(value.get("align", _ABSENT), _LABEL_ALIGN)
    if not is_text(text, MAX_TEXT_CHARS) or not is_text(separator, MAX_LABEL_SEPARATOR_CHARS):
        return None
    if style is None or alignment is None:
        return None
    return (text, separator, style, alignment)


def _separator(data: Any) -> PlainSeparator | None:
    if data is _ABSENT:
        return PlainSeparator(_SEPARATOR_CHAR, _SEPARATOR_LENGTH)
    if type(data) is not dict or not _SEPARATOR_KEYS.issuperset(data):
        return None
    char = data.get("char", _SEPARATOR_CHAR)
    length = data.get("length")
    if not is_text(char, MAX_SEPARATOR_CHARS) or not char:
        return None
    if "length" in data and not whole_number(length, 1, MAX_LINE_CHARS):
        return None
    return PlainSeparator(char, length)


def _feed(data: Any) -> PlainFeed | None:
    if data is _ABSENT:
        data = {}
    if type(data) is not dict or not _FEED_KEYS.issuperset(data):
        return None
    lines = data.get("lines", _FEED_LINES)
    return PlainFeed(lines) if whole_number(lines, 1, MAX_FEED_LINES) else None


def _cut(data: Any) -> PlainCut | None:
    if data is _ABSENT:
        data = {}
    if type(data) is not dict or not _CUT_KEYS.issuperset(data):
        return None
    mode = data.get("mode", _CUT_MODE)
    feed = data.get("feed", _CUT_FEED)
    full = _CUT_MODES.get(mode) if type(mode) is str else None
    return PlainCut(full, feed) if full is not None and whole_number(feed, 0, MAX_FEED_LINES) else None


def _pulse(data: Any) -> PlainPulse | None:
    if data is _ABSENT:
        data = {}
    if type(data) is not dict or not _PULSE_KEYS.issuperset(data):
        return None
    pin = data.get("pin", _PULSE_PIN)
    on_time = data.get("on_time", _PULSE_ON_TIME)
    off_time = data.get("off_time", _PULSE_OFF_TIME)
    if (
        whole_number(pin, 0, 1)
        and whole_number(on_time, 1, _PLAIN_INT_LIMIT)
        and whole_number(off_time, 1, _PLAIN_INT_LIMIT)
    ):
        return PlainPulse(pin, on_time, off_time)
    return None


def _beep(data: Any) -> PlainBeep | None:
    if data is _ABSENT:
        data = {}
    if type(data) is not dict or not _BEEP_KEYS.issuperset(data):
        return None
    times = data.get("times", _BEEP_TIMES)
    lapse = data.get("lapse", _BEEP_LAPSE)
    if whole_number(times, 1, _PLAIN_INT_LIMIT) and whole_number(lapse, 1, _PLAIN_INT_LIMIT):
        return PlainBeep(times, lapse)
    return None


def _table(data: Any) -> PlainTable | None:
    if type(data) is not dict or not _TABLE_KEYS.issuperset(data):
        return None
    definition = data.get("definition")
    if type(definition) is not dict or not _DEFINITION_KEYS.issuperset(definition):
        return None
    paper_width = definition.get("paper_width")
    if "paper_width" in definition and not whole_number(paper_width, 1, MAX_LINE_CHARS):
        return None
    columns = _columns(definition.get("columns"))
    show_headers = data.get("show_headers", _TABLE_SHOW_HEADERS)
    look = _look(data.get("options", _ABSENT), show_headers, paper_width)
    if columns is None or look is None:
        return None
    rows = _rows(data.get("rows", _ABSENT), len(columns))
    return PlainTable(columns, rows, look) if rows is not None else None


def _columns(value: Any) -> list[ColumnSpec] | None:
    if type(value) is not list or not 0 < len(value) <= MAX_COLUMNS:
        return None
    columns: list[ColumnSpec] = []
    for column in value:
        if type(column) is not dict or not _COLUMN_KEYS.issuperset(column):
            return None
        name = column.get("name", _COLUMN_NAME)
        width = column.get("width")
        alignment = _align(column.get("align", _ABSENT), _COLUMN_ALIGN)
        if not is_text(name, MAX_TEXT_CHARS) or not whole_number(width, 1, MAX_LINE_CHARS) or alignment is None:
            return None
        columns.append((name, width, alignment))
    return columns


def _look(options: Any, show_headers: Any, paper_width: int | None) -> TableLook | None:
    if options is _ABSENT:
        options = {}
    elif type(options) is not dict or not _OPTIONS_KEYS.issuperset(options):
        return None
    header_bold = options.get("header_bold", _TABLE_OPTIONS_HEADER_BOLD)
    word_wrap = options.get("word_wrap", _TABLE_OPTIONS_WORD_WRAP)
    spacing = options.get("column_spacing", _TABLE_OPTIONS_COLUMN_SPACING)
    alignment = _align(options.get("align", _ABSENT), _TABLE_OPTIONS_ALIGN)
    auto_reduce = options.get("auto_reduce", _TABLE_OPTIONS_AUTO_REDUCE)
    flags = (show_headers, header_bold, word_wrap, auto_reduce)
    if (
        any(type(flag) is not bool for flag in flags)
        or not whole_number(spacing, 0, MAX_COLUMN_SPACING)
        or alignment is None
    ):
        return None
    return TableLook(show_headers, header_bold, word_wrap, spacing, alignment, auto_reduce, paper_width)


def _rows(value: Any, width: int) -> list[list[str]] | None:
    """The rows as the model reads them: each as many cells as there are columns, numbers as written."""
    if value is _ABSENT:
        return []
    if type(value) is not list or len(value) * width > MAX_TABLE_CELLS:
        return None
    if not value:
        return value
    # Every row a list of ``width`` strings: checked over all cells at once; rows with numbers are copied.
    if set(map(type, value)) != {list} or set(map(len, value)) != {width}:
        return None
    rows: list[list[str]] = value
    if set(map(type, chain.from_iterable(value))) != {str}:
        converted = [_cells(row) for row in value]
        if None in converted:
            return None
        rows = cast(list[list[str]], converted)
    joined = "".join(chain.from_iterable(rows))
    if not (joined.isascii() or joined.isprintable() or LONE_SURROGATE.search(joined) is None):
        return None
    if len(joined) > MAX_TEXT_CHARS and max(map(len, chain.from_iterable(rows))) > MAX_TEXT_CHARS:
        return None
    return rows


def _cells(row: list[Any]) -> list[str] | None:
    """A row holding whole numbers (spellings.table_cell: printed as written), or None for any other value."""
    cells: list[str] = []
    for cell in row:
        if type(cell) is int and -_PLAIN_CELL_INT_LIMIT < cell < _PLAIN_CELL_INT_LIMIT:
            cells.append(str(cell))
        elif type(cell) is str:
            cells.append(cell)
        else:
            return None
    return cells


_READERS: dict[str, Callable[[Any], PlainCommand | None]] = {
    "text": _text,
    "separator": _separator,
    "feed": _feed,
    "cut": _cut,
    "pulse": _pulse,
    "beep": _beep,
    "table": _table,
    **SYMBOL_READERS,
}
