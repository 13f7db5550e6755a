"""Text → bytes in the document's code page, with the fallbacks of docs/document.md "Text and code pages".

A character the active page cannot encode must not stop the job. In order of preference it is:
1. printed from another page of the printer that has it (``ESC t m``, the run, ``ESC t`` back to the home page),
   each selected with the printer's own number for it;
2. transliterated to its closest ASCII by ``anyascii`` (``ő`` → ``o``, ``“`` → ``"``, ``…`` → ``...``);
3. printed as a raster image of the glyphs (``textraster``).
Control characters other than LF, CR and TAB are stripped. Everything here is pure and deterministic.

Layout code (tables, separators) counts printed characters, so it calls :func:`prepare_text` first (which does the
stripping and transliteration and says what will be printed) and encodes the laid-out lines with :func:`encode_text`.
"""

from __future__ import annotations

import re
import unicodedata
from codecs import charmap_build, charmap_encode
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from anyascii import anyascii

from ..document.base import Align
from ..document.codetables import CODE_TABLES, FALLBACK_ORDER
from .commands import LF, align, select_code_table
from .printerdb import CodePage, ModelProfile
from .textraster import text_height
from .typefaces import BUILT_IN, TextNeedsDrawing, Typefaces

if TYPE_CHECKING:
    from _codecs import _EncodingMap

# docs/document.md "Text and code pages": control characters other than LF, CR and TAB are removed (C0 controls, DEL, C1
# controls), plus lone surrogates, which JSON allows but no code page or font can print.
_STRIPPED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# Characters that end a line wherever they appear: transliterated to LF rather than to a space.
_LINE_BREAKS = {"\u2028": "\n", "\u2029": "\n"}
# Pages are preferred in this order when the home page lacks a character (after it, a model's other pages by
# number): PC858 is PC850 plus €, WPC1252 has the typographic punctuation, PC852 central European letters, PC866
# Cyrillic; these six are also every page of a printer of no known model.
PREFERRED_PAGES: tuple[str, ...] = tuple(CODE_TABLES[name].page for name in FALLBACK_ORDER)


@dataclass(frozen=True, slots=True)
class CodePages:
    """The pages one printer can print text in: ``home`` is selected at the start of every job (the document's
    code table, or the printer's nearest page), ``pages`` are all of them (home included) in the order they are
    tried for a character home lacks. Each is selected with this printer's own ``ESC t`` number."""

    home: CodePage
    pages: tuple[CodePage, ...]


@lru_cache(maxsize=16)
def default_pages(code_table: str) -> CodePages:
    """The six pages of a printer of no known model, numbered for Epson, with ``code_table`` at home."""
    pages = tuple(
        CodePage(CODE_TABLES[name].number, CODE_TABLES[name].page, CODE_TABLES[name].codec) for name in FALLBACK_ORDER
    )
    home = next(page for page in pages if page.name == CODE_TABLES[code_table].page)
    return CodePages(home, pages)


def model_pages(model: ModelProfile, code_table: str) -> CodePages:
    """The pages of a printer model: each page the model lists once (its first number), the preferred pages first;
    home is ``code_table``'s page when the model has it, else the first preferred page it has."""
    unique: dict[str, CodePage] = {}
    for page in model.code_pages:
        unique.setdefault(page.name, page)
    preferred = [unique[name] for name in PREFERRED_PAGES if name in unique]
    others = [page for name, page in unique.items() if name not in PREFERRED_PAGES]
    pages = tuple(preferred + others)
    if not pages:  # a model listing no usable page is printed like one of no known model
        return default_pages(code_table)
    wanted = CODE_TABLES[code_table].page
    home = unique.get(wanted) or pages[0]
    return CodePages(home, pages)


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
        """Client-facing notices about ``commands[index]`` (docs/document.md "Text and code pages": the
        result's ``mensaje`` names each substitution)."""
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


def prepare_text(text: str, pages: CodePages) -> PreparedText:
    """Strip control characters, compose accents (NFC) and transliterate what none of the printer's pages can print.
    Characters left that no page has will be printed as an image by :func:`encode_text`."""
    if as_is(text, pages) is not None:
        return PreparedText(text, NO_SUBSTITUTIONS)
    return prepare_text_general(text, pages)


def prepare_text_general(text: str, pages: CodePages) -> PreparedText:
    """:func:`prepare_text` without its shortcut for text that prints as sent (which must agree with this)."""
    text = unicodedata.normalize("NFC", _STRIPPED.sub("", text))
    if _encode(text, pages.home) is not None:
        return PreparedText(text, NO_SUBSTITUTIONS)
    parts: list[str] = []
    count = 0
    example: tuple[str, str] | None = None
    for char in text:
        if _page_with(char, pages) is not None:
            parts.append(char)
            continue
        replacement = _transliteration(char, pages)
        if replacement is None:
            parts.append(char)  # printed as an image
            continue
        parts.append(replacement)
        if unicodedata.category(char) != "Cf":  # invisible formatting characters are dropped without a word
            count += 1
            example = example or (char, replacement)
    return PreparedText("".join(parts), Tally(count, 0, example))


def encode_text(text: str, pages: CodePages, placement: Placement, *, line_start: bool = True) -> EncodedText:
    """Bytes printing ``text`` with the printer's ``pages``; the home page is selected again after a run in another.
    ``line_start`` says whether the print position is at the beginning of a line, so that an image run starts on its
    own line without feeding an empty one."""
    encoded = as_is(text, pages)
    if encoded is not None:
        return EncodedText(encoded)
    return encode_text_general(text, pages, placement, line_start=line_start)


def encode_text_general(text: str, pages: CodePages, placement: Placement, *, line_start: bool = True) -> EncodedText:
    """:func:`encode_text` without its shortcut for text that prints as sent (which must agree with this)."""
    prepared = prepare_text_general(text, pages)
    whole = _encode(prepared.text, pages.home)
    if whole is not None:
        return EncodedText(whole, prepared.tally)
    home = pages.home
    out = bytearray()
    imaged = 0
    at_line_start = line_start
    for run, page in _runs(prepared.text, pages):
        if page is None:
            out += _image_run(run, placement, at_line_start=at_line_start)
            imaged += sum(1 for char in run if not char.isspace())
            at_line_start = True
            continue
        if page == home:
            out += run.encode(home.codec)
        else:
            # ESC t m — the other page for this run only, then back to the home page.
            out += select_code_table(page.number)
            out += run.encode(page.codec)
            out += select_code_table(home.number)
        at_line_start = run.endswith("\n")
    return EncodedText(bytes(out), prepared.tally + Tally(imaged=imaged))


def _runs(text: str, pages: CodePages) -> list[tuple[str, CodePage | None]]:
    """Split ``text`` into runs, each with the page that prints it (None: printed as an image).

    A run in another page is as long as that page can make it (so a word in Cyrillic is one switch, not one per
    letter) but ends at its last character the home page lacks; image runs take in the spaces between glyphs."""
    home = pages.home
    runs: list[tuple[str, CodePage | None]] = []
    start = 0  # start of the pending home-page run
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if _char_byte(char, home.codec) is not None:
            i += 1
            continue
        if start < i:
            runs.append((text[start:i], home))
        others = [page for page in pages.pages if page != home and _char_byte(char, page.codec) is not None]
        if others:
            ends = [_run_end(text, i, page, home) for page in others]
            best = max(range(len(others)), key=lambda k: (ends[k], -k))
            runs.append((text[i : ends[best]], others[best]))
            i = ends[best]
        else:
            end = _image_run_end(text, i, pages)
            runs.append((text[i:end], None))
            i = end
        start = i
    if start < n:
        runs.append((text[start:], home))
    return runs


def _run_end(text: str, start: int, page: CodePage, home: CodePage) -> int:
    last_foreign = start
    j = start
    while j < len(text) and _char_byte(text[j], page.codec) is not None:
        if _char_byte(text[j], home.codec) is None:
            last_foreign = j
        j += 1
    return last_foreign + 1


def _image_run_end(text: str, start: int, pages: CodePages) -> int:
    end = start + 1
    j = end
    while j < len(text):
        char = text[j]
        if char == " ":
            j += 1
        elif char not in "\n\r\t" and _page_with(char, pages) is None:
            j += 1
            end = j
        else:
            break
    return end


def _image_run(run: str, placement: Placement, *, at_line_start: bool) -> bytes:
    """A run no page can print, as raster lines at the text's alignment and size."""
    if not placement.typefaces.may_draw:
        raise TextNeedsDrawing(f"{len(run)} characters no code page prints")
    from .raster import raster_bytes  # numpy and Pillow: imported when text is first drawn
    from .textraster import text_bitmaps

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


def as_is(text: str, pages: CodePages) -> bytes | None:
    """The bytes of ``text`` in the home page when it prints exactly as sent (no control character to strip, already
    composed, every character in the page), else None. The common case, checked in C before any per-character work:
    printable characters are never stripped, and pure ASCII is composed and in every usable page (printerdb.py)."""
    if not text.isprintable():  # C0/C1 controls, lone surrogates, and LF/CR/TAB (the general path keeps those)
        return None
    if text.isascii():
        return text.encode("ascii")
    if not unicodedata.is_normalized("NFC", text):
        return None
    return _encode(text, pages.home)


def lines_as_is(lines: list[str], pages: CodePages) -> bytes | None:
    """The bytes of ``lines``, each followed by LF, when every line prints exactly as sent (:func:`as_is`), else None.
    All of them are checked and encoded at once: LF composes with nothing, so the block is normalised exactly when
    each line is."""
    if not lines:
        return b""
    if not all(map(str.isprintable, lines)):
        return None
    block = "\n".join(lines) + "\n"
    if block.isascii():
        return block.encode("ascii")
    if not unicodedata.is_normalized("NFC", block) or not _lf_is_lf(pages.home):
        return None
    return _encode(block, pages.home)


@lru_cache(maxsize=64)
def _lf_is_lf(page: CodePage) -> bool:
    return _encode("\n", page) == LF


def _encode(text: str, page: CodePage) -> bytes | None:
    """``text`` in ``page``, one byte a character (a two-byte character of CP932 is not in its ESC t page)."""
    try:
        # The page's single-byte map in C first: it gives what the codec gives, for every character it has.
        return charmap_encode(text, "strict", _single_bytes(page.codec))[0]
    except UnicodeEncodeError:
        pass
    try:
        encoded = text.encode(page.codec)
    except UnicodeEncodeError:
        return None
    return encoded if len(encoded) == len(text) else None


@lru_cache(maxsize=64)
def _single_bytes(codec: str) -> dict[int, int] | _EncodingMap:
    """The characters ``codec`` encodes as one byte that decodes back to them, as a C charmap (a character the codec
    writes differently is left out, so it is encoded by the codec itself)."""
    table = []
    for byte in range(256):
        single = bytes((byte,))
        try:
            char = single.decode(codec)
            kept = len(char) == 1 and char.encode(codec) == single
        except UnicodeError:
            kept = False
        table.append(char if kept else _UNMAPPED)
    return charmap_build("".join(table))


_UNMAPPED = "\ufffe"  # what a charmap table holds for a byte it does not map


# Bounded caches: per-character lookups repeat a lot (the same accents on every line of a receipt).
@lru_cache(maxsize=8192)
def _char_byte(char: str, codec: str) -> bytes | None:
    try:
        encoded = char.encode(codec)
    except UnicodeEncodeError:
        return None
    return encoded if len(encoded) == 1 else None


@lru_cache(maxsize=4096)
def _page_with(char: str, pages: CodePages) -> CodePage | None:
    """Some page of the printer that has ``char`` (LF, CR and TAB are in all of them)."""
    for page in pages.pages:
        if _char_byte(char, page.codec) is not None:
            return page
    return None


@lru_cache(maxsize=4096)
def _transliteration(char: str, pages: CodePages) -> str | None:
    """A printable stand-in for ``char`` (its closest ASCII, by anyascii), or None when only an image will do: Latin
    letters, punctuation and symbols have close ASCII matches; letters of other scripts and emoji do not."""
    if char in _LINE_BREAKS:
        return _LINE_BREAKS[char]
    if unicodedata.category(char) == "Cf" or unicodedata.combining(char):
        return ""  # invisible formatting (zero-width joiners, marks) or a mark with no base letter to sit on
    if unicodedata.category(char).startswith("L") and "LATIN" not in unicodedata.name(char, ""):
        return None  # a letter of another script (中, я, α) reads right only as itself: an image
    stand_in = anyascii(char)
    if stand_in.startswith(":") and stand_in.endswith(":") and len(stand_in) > 2:
        return None  # an emoji's name (":grinning:") is not what the shop wrote: an image
    if stand_in and stand_in != char and all(_page_with(c, pages) is not None for c in stand_in):
        return stand_in
    return None


def _characters(n: int) -> str:
    return f"{n} character" if n == 1 else f"{n} characters"
