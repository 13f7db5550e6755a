"""Every byte of every supported code page means what the printer prints for it, and ESC t selects the right page.

What "independent" means here: the renderer encodes with Python's codecs (``encodings.cp437`` …) and the emulator
decodes with them, so checking them against themselves proves nothing. The high half (0x80-0xFF) of each page is
compared byte by byte with GNU libc's iconv, a separate implementation built from its own charmap files, and a
sample of bytes per page with the character names of the printed IBM/Microsoft code charts, written out below by
hand. Both could share an error with Python only if the published charts were wrong. The ESC t numbers are checked
against the original spec's DOCUMENT.md itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from ticket_daemon.document.codetables import CODE_TABLE_LIST, CODE_TABLES, FALLBACK_ORDER, CodeTable
from ticket_daemon.document.model import CODE_TABLES as DOCUMENT_CODE_TABLES
from ticket_daemon.emulator import emulate
from ticket_daemon.escpos.commands import select_code_table

HIGH_HALF = range(0x80, 0x100)
# glibc iconv names for the pages.
ICONV_NAMES = {"PC437": "CP437", "PC850": "CP850", "PC852": "CP852", "PC858": "CP858", "PC866": "CP866"}
ICONV_NAMES["WPC1252"] = "CP1252"
# Bytes Windows-1252 leaves undefined (Microsoft's chart shows them empty).
CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
# From the code charts: byte -> Unicode character name, a few per page, chosen where pages differ.
CHART_SAMPLES: dict[str, dict[int, str]] = {
    "PC437": {
        0x80: "LATIN CAPITAL LETTER C WITH CEDILLA",
        0x9B: "CENT SIGN",
        0x9E: "PESETA SIGN",
        0xA4: "LATIN SMALL LETTER N WITH TILDE",
        0xB0: "LIGHT SHADE",
        0xC9: "BOX DRAWINGS DOUBLE DOWN AND RIGHT",
        0xE1: "LATIN SMALL LETTER SHARP S",
        0xE3: "GREEK SMALL LETTER PI",
        0xF8: "DEGREE SIGN",
        0xFF: "NO-BREAK SPACE",
    },
    "PC850": {
        0x80: "LATIN CAPITAL LETTER C WITH CEDILLA",
        0x9B: "LATIN SMALL LETTER O WITH STROKE",
        0x9E: "MULTIPLICATION SIGN",
        0xB5: "LATIN CAPITAL LETTER A WITH ACUTE",
        0xD5: "LATIN SMALL LETTER DOTLESS I",
        0xE1: "LATIN SMALL LETTER SHARP S",
        0xF8: "DEGREE SIGN",
    },
    "PC852": {
        0x85: "LATIN SMALL LETTER U WITH RING ABOVE",
        0x88: "LATIN SMALL LETTER L WITH STROKE",
        0x9F: "LATIN SMALL LETTER C WITH CARON",
        0xA5: "LATIN SMALL LETTER A WITH OGONEK",
        0xD5: "LATIN CAPITAL LETTER N WITH CARON",
        0xE7: "LATIN SMALL LETTER S WITH CARON",
        0xFD: "LATIN SMALL LETTER R WITH CARON",
    },
    "PC858": {
        0x80: "LATIN CAPITAL LETTER C WITH CEDILLA",
        0x9B: "LATIN SMALL LETTER O WITH STROKE",
        0xD5: "EURO SIGN",  # the one byte where PC858 differs from PC850
        0xE1: "LATIN SMALL LETTER SHARP S",
    },
    "PC866": {
        0x80: "CYRILLIC CAPITAL LETTER A",
        0x9F: "CYRILLIC CAPITAL LETTER YA",
        0xA0: "CYRILLIC SMALL LETTER A",
        0xE0: "CYRILLIC SMALL LETTER ER",
        0xF0: "CYRILLIC CAPITAL LETTER IO",
        0xFC: "NUMERO SIGN",
    },
    "WPC1252": {
        0x80: "EURO SIGN",
        0x85: "HORIZONTAL ELLIPSIS",
        0x93: "LEFT DOUBLE QUOTATION MARK",
        0x99: "TRADE MARK SIGN",
        0xA9: "COPYRIGHT SIGN",
        0xD1: "LATIN CAPITAL LETTER N WITH TILDE",
        0xF1: "LATIN SMALL LETTER N WITH TILDE",
        0xFF: "LATIN SMALL LETTER Y WITH DIAERESIS",
    },
}


def iconv_decode(data: bytes, charset: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["iconv", "-f", charset, "-t", "UTF-8"], input=data, capture_output=True, timeout=10)


@pytest.mark.parametrize("table", CODE_TABLE_LIST, ids=lambda table: table.name)
def test_every_high_byte_decodes_as_glibc_iconv_decodes_it(table: CodeTable) -> None:
    if shutil.which("iconv") is None:
        pytest.skip("iconv (GNU libc) is not installed")
    name, codec = table.name, table.codec
    defined = [byte for byte in HIGH_HALF if not (name == "WPC1252" and byte in CP1252_UNDEFINED)]
    result = iconv_decode(bytes(defined), ICONV_NAMES[name])
    assert result.returncode == 0, result.stderr
    theirs = result.stdout.decode("utf-8")
    ours = bytes(defined).decode(codec)
    assert len(theirs) == len(ours) == len(defined)
    differences = [f"0x{byte:02x}: {a!r} != {b!r}" for byte, a, b in zip(defined, ours, theirs, strict=True) if a != b]
    assert differences == []
    for byte in CP1252_UNDEFINED if name == "WPC1252" else ():
        assert iconv_decode(bytes((byte,)), ICONV_NAMES[name]).returncode != 0  # both leave it undefined
        with pytest.raises(UnicodeDecodeError):
            bytes((byte,)).decode(codec)


@pytest.mark.parametrize("name", list(CHART_SAMPLES))
def test_sampled_bytes_are_the_characters_of_the_code_chart(name: str) -> None:
    codec = CODE_TABLES[name].codec
    for byte, character_name in CHART_SAMPLES[name].items():
        assert unicodedata.name(bytes((byte,)).decode(codec)) == character_name, f"{name} 0x{byte:02x}"


@pytest.mark.parametrize("name", list(CHART_SAMPLES))
def test_the_emulator_prints_each_sampled_byte_as_that_character(name: str) -> None:
    """The preview reads the bytes back the way the printer would, in the page selected with ESC t."""
    samples = CHART_SAMPLES[name]
    data = select_code_table(CODE_TABLES[name].number) + bytes(samples) + b"\n"
    printed = emulate(data).transcript.splitlines()[0]
    assert [unicodedata.name(char) for char in printed] == list(samples.values())[: len(printed)]
    assert len(printed) == len(samples) - (samples.get(0xFF) == "NO-BREAK SPACE")  # a trailing space is stripped


def test_esc_t_numbers_are_those_of_document_md(shared_dir: Path) -> None:
    spec = (shared_dir / "spec" / "DOCUMENT.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"\b(W?PC\d{3,4})=(\d+)", spec))
    assert {name: int(number) for name, number in listed.items()} == {t.name: t.number for t in CODE_TABLE_LIST}


def test_esc_t_numbers_are_the_epson_ones() -> None:
    # Epson ESC t n: 0 PC437, 2 PC850, 16 WPC1252, 17 PC866, 18 PC852, 19 PC858 (also in docs/document.md "Profile").
    expected = {"PC437": 0, "PC850": 2, "WPC1252": 16, "PC866": 17, "PC852": 18, "PC858": 19}
    assert {table.name: table.number for table in CODE_TABLE_LIST} == expected


def test_the_document_model_and_the_renderer_list_the_same_pages() -> None:
    assert tuple(DOCUMENT_CODE_TABLES) == tuple(table.name for table in CODE_TABLE_LIST)
    assert sorted(FALLBACK_ORDER) == sorted(DOCUMENT_CODE_TABLES)
    assert FALLBACK_ORDER[0] == "PC858"  # PC850 plus the euro sign: the first page tried for a missing character
