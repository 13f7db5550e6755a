"""Where a render runs, decided from a cheap static look at the document (no validation): its estimated cost.

The render pool (``pool.py``) renders a document estimated under :data:`ON_LOOP_COST_US` on the event loop,
under :data:`TINY_COST_US` in its inline threads, and everything else in a worker process; a document over
:data:`HEAVY_COST_US` may not hold every worker. The estimate runs on the event loop for every ticket, so it looks
at each string once with C-speed string methods and stops counting once a document is known to be heavy.

The figures are microseconds of validation and rendering on one core of this project's 2-core reference machine,
measured with the renderer of the render speed-ups (a one-line ticket ~25 µs; ``examples/receipt.json`` ~450 µs
with its logo already decoded by that process, ~5 ms with a cold image cache). An image costs milliseconds the first
time a process sees it (decoding, scaling, dithering: 5–50 ms by size) and microseconds after that, and the estimate
cannot know which process has seen it: it always charges the cold cost, so an image never renders on the loop.

Text costs little only when it prints as sent in the document's code page (encoded in C). Otherwise every character
is laid out one by one (other pages, stand-ins: about a microsecond each), and a character no page prints is drawn.
The estimate does not know the printer's pages, so a render on the loop or in an inline thread may not draw: text it
would have to draw sends the document to a worker (``pool.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..document.codetables import CODE_TABLES, DEFAULT_CODE_TABLE
from ..document.limits import MAX_COMMANDS

# On the event loop: cheaper than what a round trip to a worker process costs the loop itself (~60 µs of pickling,
# a send and a wake-up) and its ~0.1 ms of latency. A one-line ticket (~40 µs) and a kitchen order (~120 µs)
# stay on the loop; anything with an image, a QR code or a drawn character does not.
ON_LOOP_COST_US = 200.0
# In the pool's inline threads: a render there holds the GIL (so the loop) as long as it runs, plus a thread
# handoff (measured: a kitchen order costs the loop ~150 µs rendered on it, ~260 µs inline, ~130 µs through a worker
# process), but it never queues behind the workers' receipts. Only for what is still cheap: plain text, a short QR
# code; a document with characters to draw (~1 ms) or an image goes to a worker.
TINY_COST_US = 500.0
# While no render worker process is up, a print estimated under this renders in the inline threads instead of
# waiting for one to start (several hundred ms: the worker imports the renderer, numpy and Pillow): a receipt with a
# logo and a QR code (~6 ms estimated, with the cold image charge) prints at once after start or after the workers
# were retired. A photo, which only a worker can be stopped in at its budget, still waits for one.
COLD_INLINE_COST_US = 20_000.0
# Above this it counts as heavy (fairness: heavy renders may not hold every worker).
HEAVY_COST_US = 200_000.0
# Strings longer than this are not scanned for characters to draw (the estimate runs on the event loop); an
# ASCII one (an image's base64) is still counted by its length.
MAX_SCANNED_CHARS = 64 * 1024
# Characters to draw are counted this many at a time, and the count stops once the string is past the budget: a
# long text of CJK characters is known to be heavy from its first chunk (0.3 ms) instead of its whole 64 K (6 ms).
SCAN_CHUNK_CHARS = 4096

DOCUMENT_COST_US = 25.0  # validating and laying out any document at all (a document with one feed: ~24 µs)
# Per command, measured with ten of each (examples/receipt.json's commands); unknown types go to a worker
# (validation decides).
COMMAND_COST_US: dict[str, float] = {
    "text": 12.0,
    "separator": 8.0,
    "feed": 5.0,
    "cut": 5.0,
    "beep": 5.0,
    "pulse": 5.0,
    "raw": 5.0,
    "table": 60.0,
    "barcode": 25.0,
    "qr": 200.0,  # a short URL: zxing-cpp's encode alone ~140 µs, the raster more; never on the loop
    "image": 5_000.0,  # the logo of examples/receipt.json with a cold image cache; a photo scaled to 576 dots: 50 ms
}
UNKNOWN_COMMAND_COST_US = 5_000.0
# Per character of the strings in a command: text encodes directly (ASCII and the code pages' alphabets: 64 000
# characters ~0.5–0.9 ms); a QR code's data costs ~2 µs a byte to encode and draw (2 000 bytes: 4 ms); an image's
# base64 is decoded, hashed and, the first time, scaled and dithered (a 1.3 MB PNG: ~40 ms cold).
CHAR_COST_US: dict[str, float] = {"qr": 2.0, "image": 0.03}
CHEAP_CHAR_US = 0.015
# Text that does not print as sent in the document's page, per character: laid out one by one (another page for a
# run, a stand-in) — Cyrillic on a WPC1252 page ~1.2 µs, Latin letters on a PC866 page ~1.5 µs.
LAID_OUT_CHAR_US = 1.5
# Other scripts (CJK, emoji…) are drawn as images by the text fallback, ~0.3 ms each (65 536 CJK characters: 13 s).
# Counted as drawn: all but Latin (with IPA), combining marks, the Cyrillic of PC866 (not Ukrainian і, nor Serbian
# ђ), and general punctuation and currency signs. Greek is drawn on the Epson pages (PC437 has a dozen of its letters).
DRAWN_CHAR_US = 300.0
_DEFAULT_CODEC = CODE_TABLES[DEFAULT_CODE_TABLE].codec


def _in_page(text: str, codec: str) -> bool:
    """Whether every character of ``text`` is in the page of ``codec``."""
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


_PC866_CYRILLIC = "".join(
    chr(code) for code in range(0x0400, 0x0460) if _in_page(chr(code), CODE_TABLES["PC866"].codec)
)
_DRAWN_CHARS = re.compile(f"[^\u0000-\u02af\u0300-\u036f{_PC866_CYRILLIC}\u2000-\u20cf]")
# JSON gives these: nothing to count in them.
_SCALARS = (int, float, bool, type(None))


def estimated_cost(datos: Mapping[str, Any], *, up_to: float = HEAVY_COST_US) -> float:
    """Rough microseconds to render ``datos`` on one core, from its shape alone (no validation). Stops counting
    once past ``up_to``, so it costs little whatever the document's size.

    Past :data:`HEAVY_COST_US` (the render pool asks how long a heavy document may hold a worker, up to the render
    budget), a string too long to scan is judged by its first :data:`MAX_SCANNED_CHARS` characters."""
    commands = datos.get("commands")
    if not isinstance(commands, list):
        return UNKNOWN_COMMAND_COST_US  # not a valid document: validation in a worker says why
    if len(commands) > MAX_COMMANDS:
        # Refused by a worker's validation, which reads all of it first (a 4 MB frame of 240 000 commands: 0.45 s):
        # heavy, and not looked at command by command here.
        return HEAVY_COST_US + 1
    extrapolate = up_to > HEAVY_COST_US
    codec = _page_codec(datos)
    cost = DOCUMENT_COST_US
    for command in commands:
        kind = command.get("type") if isinstance(command, Mapping) else None
        if not isinstance(kind, str) or kind not in COMMAND_COST_US:
            cost += UNKNOWN_COMMAND_COST_US
            kind = ""
        else:
            cost += COMMAND_COST_US[kind]
        cost += _strings_cost(command, CHAR_COST_US.get(kind, CHEAP_CHAR_US), up_to - cost, extrapolate, codec)
        if cost > up_to:
            break
    return cost


def _page_codec(datos: Mapping[str, Any]) -> str:
    """The codec of the document's code page: its ``profile.code_table`` as docs/document.md spells it, else the
    default page."""
    profile = datos.get("profile")
    code_table = profile.get("code_table") if isinstance(profile, Mapping) else None
    table = CODE_TABLES.get(code_table) if isinstance(code_table, str) else None
    return table.codec if table is not None else _DEFAULT_CODEC


def _strings_cost(value: Any, char_cost: float, budget: float, extrapolate: bool, codec: str) -> float:
    """Cost of the strings inside one command (iterative: a deeply nested command cannot exhaust the stack).
    Exact type checks first: a JSON document is dicts, lists, strings and numbers, and an abstract-class check
    for each of them would cost more than the rest of the estimate."""
    cost = 0.0
    stack = [value]
    while stack and cost <= budget:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            cost += _string_cost(item, char_cost, extrapolate, budget - cost, codec)
        elif kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif isinstance(item, _SCALARS):
            continue
        elif isinstance(item, str):
            cost += _string_cost(item, char_cost, extrapolate, budget - cost, codec)
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return cost


def _string_cost(text: str, char_cost: float, extrapolate: bool, budget: float, codec: str) -> float:
    """The string's cost; once what is counted of it is past ``budget``, that part's cost (the whole can only
    cost more, and the caller stops there)."""
    if text.isascii():
        return len(text) * char_cost
    if len(text) > MAX_SCANNED_CHARS and not extrapolate:
        return HEAVY_COST_US + 1
    scanned = min(len(text), MAX_SCANNED_CHARS)
    if _in_page(text if scanned == len(text) else text[:scanned], codec):  # prints as sent: encoded in C
        return len(text) * char_cost
    laid_out = max(char_cost, LAID_OUT_CHAR_US)
    drawn = 0
    for start in range(0, scanned, SCAN_CHUNK_CHARS):
        end = min(start + SCAN_CHUNK_CHARS, scanned)
        drawn += len(_DRAWN_CHARS.findall(text, start, end))
        counted = (end - drawn) * laid_out + drawn * DRAWN_CHAR_US
        if counted > budget:
            return counted
    drawn_in_text = drawn * len(text) / scanned  # past MAX_SCANNED_CHARS: as in the part scanned
    return (len(text) - drawn_in_text) * laid_out + drawn_in_text * DRAWN_CHAR_US
