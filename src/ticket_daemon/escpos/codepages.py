"""Text → bytes in the document's code page, with the fallbacks of DOCUMENT.md "Text encoding".

A character the active page cannot encode must not stop the job. In order of preference it is:
1. printed from another supported page that has it (``ESC t m``, the run, ``ESC t`` back to the document's page);
2. transliterated (``á`` → ``a``, ``“`` → ``"``, ``…`` → ``...``);
3. printed as a raster image of the glyphs (``textraster``).
Control characters other than LF, CR and TAB are stripped. Everything here is pure and deterministic.

Layout code (tables, separators) counts printed characters, so it calls :func:`prepare_text` first (which does the
stripping and transliteration and says what will be printed) and encodes the laid-out lines with :func:`encode_text`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ..document.codetables import CODE_TABLES, FALLBACK_ORDER
from ..document.model import Align
from .commands import LF, align, select_code_table
from .raster import raster_bytes
from .textraster import text_bitmaps, text_height
from .typefaces import BUILT_IN, Typefaces

# DOCUMENT.md "Text encoding": "Control characters other than LF, CR, TAB are stripped" (C0 controls, DEL, C1
# controls), plus lone surrogates, which JSON allows but no code page or font can print.
_STRIPPED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# Close matches for characters that no supported page has and that NFKD does not reduce to printable letters.
TRANSLITERATIONS: dict[str, str] = {
    "\u2018": "'",  # ‘
    "\u2019": "'",  # ’
    "\u201a": ",",  # ‚
    "\u201b": "'",  # ‛
    "\u201c": '"',  # “
    "\u201d": '"',  # ”
    "\u201e": '"',  # „
    "\u201f": '"',  # ‟
    "\u00ab": '"',  # «
    "\u00bb": '"',  # »
    "\u2039": "<",  # ‹
    "\u203a": ">",  # ›
    "\u2032": "'",  # ′
    "\u2033": '"',  # ″
    "\u2010": "-",  # ‐
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # ‒
    "\u2013": "-",  # –
    "\u2014": "-",  # —
    "\u2015": "-",  # ―
    "\u2212": "-",  # minus sign
    "\u2026": "...",  # …
    "\u2022": "*",  # •
    "\u2023": ">",  # ‣
    "\u2043": "-",  # ⁃
    "\u20ac": "EUR",  # €
    "\u2122": "TM",  # ™
    "\u20b9": "Rs",  # ₹
    "\u20bd": "RUB",  # ₽
    "\u2190": "<-",  # ←
    "\u2192": "->",  # →
    "\u2194": "<->",  # ↔
    "\u21d2": "=>",  # ⇒
    "\u2264": "<=",  # ≤
    "\u2265": ">=",  # ≥
    "\u2260": "!=",  # ≠
    "\u2248": "~",  # ≈
    "\u2713": "v",  # ✓
    "\u2714": "v",  # ✔
    "\u2717": "x",  # ✗
    "\u2718": "x",  # ✘
    "\u2028": "\n",  # line separator
    "\u2029": "\n",  # paragraph separator
}


@dataclass(frozen=True, slots=True)
class Tally:
    """What was printed differently from what was sent, for the client's result message."""

    transliterated: int = 0
    imaged: int = 0
    example: tuple[str, str] | None = None  # the first transliteration, shown to the client

    def __add__(self, other: Tally) -> Tally:
        # Nearly every text needs no substitution: adding nothing returns the other side as it is.
        if not other.transliterated and not other.imaged and other.example is None:
            return self
        if not self.transliterated and not self.imaged and self.example is None:
            return other
        return Tally(
            self.transliterated + other.transliterated,
            self.imaged + other.imaged,
            self.example or other.example,
        )

    def notes(self, index: int) -> tuple[str, ...]:
        """Client-facing notices about ``commands[index]`` (DOCUMENT.md: "tell the client ... when a
        substitution happened")."""
        notes: list[str] = []
        if self.transliterated:
            shown = f" (e.g. {self.example[0]!r} as {self.example[1]!r})" if self.example else ""
            notes.append(f"TEXT: {_characters(self.transliterated)} printed as a close match in command {index}{shown}")
        if self.imaged:
            notes.append(f"TEXT: {_characters(self.imaged)} printed as image in command {index}")
        return tuple(notes)


NO_SUBSTITUTIONS = Tally()


@dataclass(frozen=True, slots=True)
class PreparedText:
    text: str  # exactly the characters that will be printed (some possibly as an image)
    tally: Tally


@dataclass(frozen=True, slots=True)
class EncodedText:
    data: bytes
    tally: Tally = NO_SUBSTITUTIONS

    def __add__(self, other: EncodedText) -> EncodedText:
        tally = self.tally if other.tally is NO_SUBSTITUTIONS else self.tally + other.tally
        return EncodedText(self.data + other.data, tally)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a text is printed; needed only when a run of it has to become an image."""

    dot_width: int
    dpi: int = 203
    align: Align = Align.LEFT
    width_multiplier: int = 1
    height_multiplier: int = 1
    typefaces: Typefaces = BUILT_IN  # the fonts an image run is drawn with


def prepare_text(text: str, code_table: str) -> PreparedText:
    """Strip control characters, compose accents (NFC) and transliterate what no supported page can print.
    Characters left that no page has will be printed as an image by :func:`encode_text`."""
    if as_is(text, code_table) is not None:
        return PreparedText(text, NO_SUBSTITUTIONS)
    return prepare_text_general(text, code_table)


def prepare_text_general(text: str, code_table: str) -> PreparedText:
    """:func:`prepare_text` without its shortcut for text that prints as sent (which must agree with this)."""
    text = unicodedata.normalize("NFC", _STRIPPED.sub("", text))
    if _encodes_all(text, code_table):
        return PreparedText(text, NO_SUBSTITUTIONS)
    parts: list[str] = []
    count = 0
    example: tuple[str, str] | None = None
    for char in text:
        if _page_with(char) is not None:
            parts.append(char)
            continue
        replacement = _transliteration(char)
        if replacement is None:
            parts.append(char)  # printed as an image
            continue
        parts.append(replacement)
        if unicodedata.category(char) != "Cf":  # invisible formatting characters are dropped without a word
            count += 1
            example = example or (char, replacement)
    return PreparedText("".join(parts), Tally(count, 0, example))


def encode_text(text: str, code_table: str, placement: Placement, *, line_start: bool = True) -> EncodedText:
    """Bytes printing ``text`` in ``code_table`` (the page selected with ``ESC t``), which is selected again
    afterwards. ``line_start`` says whether the print position is at the beginning of a line, so that an image
    run starts on its own line without feeding an empty one."""
    encoded = as_is(text, code_table)
    if encoded is not None:
        return EncodedText(encoded)
    return encode_text_general(text, code_table, placement, line_start=line_start)


def encode_text_general(text: str, code_table: str, placement: Placement, *, line_start: bool = True) -> EncodedText:
    """:func:`encode_text` without its shortcut for text that prints as sent (which must agree with this)."""
    prepared = prepare_text_general(text, code_table)
    home_codec = CODE_TABLES[code_table].codec
    try:
        return EncodedText(prepared.text.encode(home_codec), prepared.tally)
    except UnicodeEncodeError:
        pass  # some characters need another page or an image
    out = bytearray()
    imaged = 0
    at_line_start = line_start
    for kind, run, table in _runs(prepared.text, code_table):
        if kind == "image":
            out += _image_run(run, placement, at_line_start=at_line_start)
            imaged += sum(1 for char in run if not char.isspace())
            at_line_start = True
            continue
        if table == code_table:
            out += run.encode(home_codec)
        else:
            # ESC t m — the other page for this run only, then back to the document's page.
            out += select_code_table(CODE_TABLES[table].number)
            out += run.encode(CODE_TABLES[table].codec)
            out += select_code_table(CODE_TABLES[code_table].number)
        at_line_start = run.endswith("\n")
    return EncodedText(bytes(out), prepared.tally + Tally(imaged=imaged))


def _runs(text: str, home: str) -> list[tuple[str, str, str]]:
    """Split ``text`` into ("page", run, table) and ("image", run, "") runs.

    A run in another page is as long as that page can make it (so a word in Cyrillic is one switch, not one per
    letter) but ends at its last character the home page lacks; image runs take in the spaces between glyphs."""
    runs: list[tuple[str, str, str]] = []
    start = 0  # start of the pending home-page run
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if _char_bytes(char, home) is not None:
            i += 1
            continue
        if start < i:
            runs.append(("page", text[start:i], home))
        pages = [table for table in FALLBACK_ORDER if table != home and _char_bytes(char, table) is not None]
        if pages:
            ends = [_run_end(text, i, table, home) for table in pages]
            best = max(range(len(pages)), key=lambda k: (ends[k], -k))
            runs.append(("page", text[i : ends[best]], pages[best]))
            i = ends[best]
        else:
            end = _image_run_end(text, i)
            runs.append(("image", text[i:end], ""))
            i = end
        start = i
    if start < n:
        runs.append(("page", text[start:], home))
    return runs


def _run_end(text: str, start: int, table: str, home: str) -> int:
    last_foreign = start
    j = start
    while j < len(text) and _char_bytes(text[j], table) is not None:
        if _char_bytes(text[j], home) is None:
            last_foreign = j
        j += 1
    return last_foreign + 1


def _image_run_end(text: str, start: int) -> int:
    end = start + 1
    j = end
    while j < len(text):
        char = text[j]
        if char == " ":
            j += 1
        elif char not in "\n\r\t" and _page_with(char) is None:
            j += 1
            end = j
        else:
            break
    return end


def _image_run(run: str, placement: Placement, *, at_line_start: bool) -> bytes:
    """A run no page can print, as raster lines at the text's alignment and size."""
    out = bytearray() if at_line_start else bytearray(LF)
    # raster_bytes positions the bitmap itself; ESC a would shift it a second time on printers that honour it.
    if placement.align is not Align.LEFT:
        out += align(0)
    height = text_height(placement.height_multiplier, placement.dpi)
    for bitmap in text_bitmaps(
        run,
        placement.typefaces,
        height=height,
        width_multiplier=placement.width_multiplier,
        max_width=placement.dot_width,
    ):
        out += raster_bytes(bitmap, placement.align, placement.dot_width)
    if placement.align is not Align.LEFT:
        out += align(_ALIGN_NUMBERS[placement.align])
    return bytes(out)


_ALIGN_NUMBERS = {Align.LEFT: 0, Align.CENTER: 1, Align.RIGHT: 2}
_PRINTABLE_ASCII = "".join(chr(code) for code in range(0x20, 0x7F))
# The pages that encode printable ASCII as ASCII (all supported ones: checked rather than assumed).
_ASCII_PAGES = frozenset(
    name for name, table in CODE_TABLES.items() if _PRINTABLE_ASCII.encode(table.codec) == _PRINTABLE_ASCII.encode()
)


def as_is(text: str, code_table: str) -> bytes | None:
    """The bytes of ``text`` in ``code_table`` when it prints exactly as sent (no control character to strip, already
    composed, every character in the page), else None. The common case, checked in C before any per-character work:
    printable characters are never stripped, and pure ASCII is composed and in every supported page."""
    if not text.isprintable():  # C0/C1 controls, lone surrogates, and LF/CR/TAB (the general path keeps those)
        return None
    if text.isascii() and code_table in _ASCII_PAGES:
        return text.encode("ascii")
    if not unicodedata.is_normalized("NFC", text):
        return None
    try:
        return text.encode(CODE_TABLES[code_table].codec)
    except UnicodeEncodeError:
        return None


def _encodes_all(text: str, code_table: str) -> bool:
    try:
        text.encode(CODE_TABLES[code_table].codec)
    except UnicodeEncodeError:
        return False
    return True


# Bounded caches: per-character lookups repeat a lot (the same accents on every line of a receipt).
@lru_cache(maxsize=8192)
def _char_bytes(char: str, code_table: str) -> bytes | None:
    try:
        return char.encode(CODE_TABLES[code_table].codec)
    except UnicodeEncodeError:
        return None


@lru_cache(maxsize=4096)
def _page_with(char: str) -> str | None:
    """Some supported page that has ``char`` (LF, CR and TAB are in all of them)."""
    for table in FALLBACK_ORDER:
        if _char_bytes(char, table) is not None:
            return table
    return None


@lru_cache(maxsize=4096)
def _transliteration(char: str) -> str | None:
    """A printable stand-in for ``char``, or None when only an image will do."""
    if char in TRANSLITERATIONS:
        return TRANSLITERATIONS[char]
    if unicodedata.category(char) == "Cf" or unicodedata.combining(char):
        return ""  # invisible formatting (zero-width joiners, marks) or a mark with no base letter to sit on
    stripped = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if stripped and stripped != char and all(_page_with(c) is not None for c in stripped):
        return stripped
    return None


def _characters(n: int) -> str:
    return f"{n} character" if n == 1 else f"{n} characters"
