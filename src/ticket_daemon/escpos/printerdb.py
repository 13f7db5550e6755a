"""Printer models from escpos-printer-db: per model, its code page numbers, fonts, paper and features.

The data is the community-maintained ``capabilities.json`` that the ``python-escpos`` package ships (MIT licence,
https://github.com/receipt-print-hq/escpos-printer-db). It is read from that package, never copied: upgrading
python-escpos brings new models. Reading package data is the one access to the installation here; it happens once,
and the result is immutable, so the renderer stays deterministic.

A code page is usable when it encodes one character per byte with a Python codec (CP932's two-byte characters are
not; its single-byte half-width katakana are). A number the data marks ``Unknown``, or whose page has no codec, is
never sent.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

DATA_PACKAGE = "escpos"
DATA_FILE = "capabilities.json"
# The profile escpos-printer-db applies to a printer it knows nothing about; not a model anyone owns.
GENERIC_PROFILES = frozenset({"default", "simple"})


@dataclass(frozen=True, slots=True)
class CodePage:
    """One ``ESC t n`` entry of a printer: the number it selects and the page (by escpos-printer-db name)."""

    number: int
    name: str  # e.g. "CP1252", "ISO_8859-7"
    codec: str  # the Python codec that encodes text for it


@dataclass(frozen=True, slots=True)
class ModelProfile:
    key: str  # the profile's key in the data, e.g. "TM-T20II"
    name: str
    vendor: str
    code_pages: tuple[CodePage, ...]  # usable pages, by number
    font_columns: tuple[int, ...]  # characters per line of font A, font B, … (as the data lists them)
    paper_width_mm: float | None
    dot_width: int | None  # printable dots per line
    dpi: int | None
    has_qr: bool  # GS ( k QR codes (feature "qrCode")
    full_cut: bool  # feature "paperFullCut"
    partial_cut: bool  # feature "paperPartCut"

    @property
    def codecs(self) -> dict[int, str]:
        """Its ``ESC t`` table as the emulator reads it: number → Python codec."""
        return {page.number: page.codec for page in self.code_pages}


@lru_cache(maxsize=1)
def model_profiles() -> dict[str, ModelProfile]:
    """Every profile of the data by key, in the data's order."""
    data = json.loads(resources.files(DATA_PACKAGE).joinpath(DATA_FILE).read_text(encoding="utf-8"))
    codecs_by_page = {name: _codec(entry) for name, entry in data["encodings"].items()}
    return {key: _model(key, entry, codecs_by_page) for key, entry in data["profiles"].items()}


@lru_cache(maxsize=256)
def find_model(name: str) -> ModelProfile | None:
    """The profile called ``name``: its key or its name, ignoring case, spaces, dashes and underscores
    ("tm-t20ii", "TM T20II", "TMT20II")."""
    wanted = _folded(name)
    if not wanted:
        return None
    for profile in model_profiles().values():
        if wanted in (_folded(profile.key), _folded(profile.name)):
            return profile
    return None


@lru_cache(maxsize=64)
def model_from_identity(model_name: str, manufacturer: str = "") -> ModelProfile | None:
    """The profile a printer's ``GS I`` answers name: its model name (``TM-T20II``), possibly with the manufacturer
    in front (``EPSON TM-T20II``), or a variant whose name begins with a profile's and goes on after a separator
    (``TM-T88V-i`` is a TM-T88V; ``TM-T20III`` is not a TM-T20II)."""
    exact = find_model(model_name) or find_model(f"{manufacturer} {model_name}")
    if exact is not None:
        return exact
    said = model_name.strip().casefold()
    if manufacturer.strip() and said.startswith(manufacturer.strip().casefold()):
        said = said[len(manufacturer.strip()) :].strip()
    candidates = [
        profile
        for profile in model_profiles().values()
        if profile.key not in GENERIC_PROFILES and re.match(re.escape(profile.key.casefold()) + r"(?![0-9a-z])", said)
    ]
    return max(candidates, key=lambda profile: len(profile.key), default=None)


def _folded(name: str) -> str:
    return "".join(char for char in name.casefold() if char.isalnum())


def _codec(entry: dict[str, Any]) -> str | None:
    """The Python codec of a page, when it has one that maps single bytes."""
    for candidate in (entry.get("python_encode"), entry.get("iconv")):
        if not isinstance(candidate, str):
            continue
        try:
            name = codecs.lookup(candidate).name
        except LookupError:
            continue
        if _maps_single_bytes(name):
            return name
    return None


def _maps_single_bytes(codec: str) -> bool:
    """Whether ASCII encodes as itself, one byte each (every ESC/POS page keeps ASCII in 0x20..0x7E)."""
    ascii_text = "".join(chr(code) for code in range(0x20, 0x7F))
    try:
        return ascii_text.encode(codec) == ascii_text.encode("ascii")
    except UnicodeEncodeError:
        return False


def _model(key: str, entry: dict[str, Any], codecs_by_page: dict[str, str | None]) -> ModelProfile:
    pages = []
    for number_text, page_name in entry.get("codePages", {}).items():
        codec = codecs_by_page.get(page_name)
        if codec is not None and number_text.isdigit() and int(number_text) <= 255:
            pages.append(CodePage(int(number_text), page_name, codec))
    fonts = entry.get("fonts", {})
    columns = tuple(
        int(fonts[index]["columns"]) for index in sorted(fonts, key=int) if isinstance(fonts[index].get("columns"), int)
    )
    media = entry.get("media", {})
    width = media.get("width", {})
    features = entry.get("features", {})
    return ModelProfile(
        key=key,
        name=str(entry.get("name", key)),
        vendor=str(entry.get("vendor", "")),
        code_pages=tuple(sorted(pages, key=lambda page: page.number)),
        font_columns=columns,
        paper_width_mm=_number(width.get("mm")),
        dot_width=_integer(width.get("pixels")),
        dpi=_integer(media.get("dpi")),
        has_qr=features.get("qrCode") is True,
        full_cut=features.get("paperFullCut") is True,
        partial_cut=features.get("paperPartCut") is True,
    )


def _number(value: object) -> float | None:
    """A measure, or None where the data says "Unknown"."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
