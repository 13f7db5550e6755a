"""The character code tables a document may name (docs/document.md "Profile"): the one place they are listed.

Each table has the number ``ESC t n`` selects on Epson-compatible printers, the Python codec that encodes text for
it, and its rank among the pages tried when the document's own page lacks a character (docs/document.md "Text and code
pages"). A printer of a known model selects the same page with its own number, and may have many more pages
(``escpos/printerdb.py``); these six, numbered for Epson, are the pages of a printer of no known model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

CodeTableName = Literal["PC437", "PC850", "PC852", "PC858", "PC866", "WPC1252"]


@dataclass(frozen=True, slots=True)
class CodeTable:
    name: CodeTableName
    number: int  # ESC t n on an Epson TM (and on a printer of no known model)
    codec: str  # Python codec encoding text for this page
    fallback_rank: int  # 0 is tried first when another page has to print a character
    page: str  # the page's name in escpos-printer-db, by which a printer model lists its own number for it


# Fallback ranks: PC858 is PC850 plus €, WPC1252 has the typographic punctuation, PC852 central European
# letters, PC866 Cyrillic.
CODE_TABLE_LIST: tuple[CodeTable, ...] = (
    CodeTable("PC437", 0, "cp437", 3, "CP437"),
    CodeTable("PC850", 2, "cp850", 2, "CP850"),
    CodeTable("PC852", 18, "cp852", 4, "CP852"),
    CodeTable("PC858", 19, "cp858", 0, "CP858"),
    CodeTable("PC866", 17, "cp866", 5, "CP866"),
    CodeTable("WPC1252", 16, "cp1252", 1, "CP1252"),
)
CODE_TABLES: dict[str, CodeTable] = {table.name: table for table in CODE_TABLE_LIST}
CODE_TABLE_NAMES: tuple[str, ...] = get_args(CodeTableName)
DEFAULT_CODE_TABLE: CodeTableName = "WPC1252"
# Pages tried, best first, when the document's page lacks a character.
FALLBACK_ORDER: tuple[str, ...] = tuple(table.name for table in sorted(CODE_TABLE_LIST, key=lambda t: t.fallback_rank))
# ESC t n → codec, for reading a byte stream back (the emulator).
CODECS_BY_NUMBER: dict[int, str] = {table.number: table.codec for table in CODE_TABLE_LIST}
