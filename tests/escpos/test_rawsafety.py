"""``raw_policy = "safe"`` reads the raw commands of a document as one stream, wherever it is split."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from ticket_daemon.escpos import commands as c
from ticket_daemon.escpos.rawsafety import first_refused

PRINTING_COMMANDS = [
    c.align(1),
    c.bold(True),
    "Total 12,50".encode("cp1252"),
    c.bold(False),
    c.LF,
    c.character_size(2, 2),
    b"BIG\n",
    c.character_size(1, 1),
    c.raster_image(1, 2, b"\x10\x1b"),  # image data with DLE and ESC bytes is data, not a command
    c.barcode(73, b"{B12"),
    c.QR_SELECT_MODEL_2,
    c.qr_module_size(4),
    c.qr_store(b"\x1b\x70\x00"),  # QR data that spells ESC p is data too
    c.QR_PRINT,
    c.feed_lines(3),
    c.CUT_PARTIAL,
]
PRINTING = b"".join(PRINTING_COMMANDS)
DRAWER_KICK = c.pulse(0, 25, 250)


def split(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(stream), *(cut % (len(stream) + 1) for cut in cuts)})
    return [stream[a:b] for a, b in itertools.pairwise(points) if b > a]


@given(st.lists(st.integers(min_value=0), max_size=6))
def test_printing_commands_pass_however_they_are_split(cuts: list[int]) -> None:
    assert first_refused(split(PRINTING, cuts)) is None


@given(st.integers(min_value=0), st.lists(st.integers(min_value=0), max_size=6))
def test_a_drawer_kick_between_any_two_commands_is_found_however_it_is_split(at: int, cuts: list[int]) -> None:
    position = at % (len(PRINTING_COMMANDS) + 1)
    stream = b"".join([*PRINTING_COMMANDS[:position], DRAWER_KICK, *PRINTING_COMMANDS[position:]])
    refusal = first_refused(split(stream, cuts))
    assert refusal is not None and refusal.command == "ESC p (cash drawer pulse)"


@given(st.lists(st.binary(max_size=64), min_size=1, max_size=4))
def test_any_bytes_are_either_passed_or_refused_by_name_never_a_crash(parts: list[bytes]) -> None:
    refusal = first_refused(parts)
    if refusal is not None:
        assert refusal.command and 0 <= refusal.part < len(parts)
