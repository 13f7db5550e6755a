"""``raw_policy = "safe"`` (docs/document.md "raw") reads the raw commands of a document as one stream, wherever it
is split, strictly: a parameter a printer would not accept, a barcode or image where a printer prints its bytes as
text, or a real-time sequence anywhere is refused, because the printer would execute what a lenient check skipped."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES, require_shared, shared_examples
from ticket_daemon.document import DocumentError, parse_document
from ticket_daemon.document.model import RawCommand, RawData
from ticket_daemon.escpos import commands as c
from ticket_daemon.escpos import render_job
from ticket_daemon.escpos.commandset import COMMAND_PREFIXES, find_realtime, measure
from ticket_daemon.escpos.rawsafety import FIXED, first_refused
from ticket_daemon.escpos.render import raw_bytes

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
KICK = "1B 70 30 32 64"  # ESC p 48 50 100 — the drawer kick with bytes a lenient check reads as text "p02d"
TABS_1_TO_32 = " ".join(f"{n:02X}" for n in range(1, 33))
ON_A_LINE = "after data on the same line (the printer would print its bytes as text)"


def split(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(stream), *(cut % (len(stream) + 1) for cut in cuts)})
    return [stream[a:b] for a, b in itertools.pairwise(points) if b > a]


def document(*raw_parts: str) -> Any:
    commands: list[dict[str, Any]] = [{"type": "feed"}]
    commands += [{"type": "raw", "data": {"hex": part}} for part in raw_parts]
    return parse_document({"version": "1.0", "profile": {"model": "x"}, "commands": commands})


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


# --- bypass attempts: each executes ESC p, GS ( E or a real-time request on a real printer ----------------------

BYPASSES = [
    # A parameter out of range: the printer stops reading the command and executes what follows.
    (["1B 44 05 03 1B 70 00 32 64"], "ESC D with tab positions that do not ascend", 0),
    (["1B 44 " + TABS_1_TO_32 + " 1B 70 00 32 64"], "ESC D with more than 32 tab positions", 0),
    (["1B 2A 02 05 00 1B 70 00 32 64"], "ESC * with undefined bit image mode 2", 0),
    (["1B 2A 02 0A 00 1D 28 45 04 00 05 01 01 00 0A"], "ESC * with undefined bit image mode 2", 0),
    (["1B 2A 00 01 04 " + KICK + " 41" * 1020], "ESC * with nH 4 out of range (0..3)", 0),
    (["1D 6B 20 " + KICK + " 00"], "GS k with undefined symbology 32", 0),
    (["1D 6B 49 01 " + KICK], "GS k CODE128 with 1 characters (out of range)", 0),
    (["1D 6B 41 05 " + KICK], "GS k UPC-A with 5 characters (out of range)", 0),
    (["1D 6B 00 " + "30 " * 12 + "1B 70 00 32 64"], "GS k UPC-A with 14 characters (out of range)", 0),
    (["1D 6B 02 " + "31 " * 13 + KICK + " 00"], "GS k EAN13 with 18 characters (out of range)", 0),
    (["1D 6B 04 41 1B 70 30 00"], "GS k CODE39 with character 0x1b out of range", 0),
    (["1D 6B 49 08 7B 43 64 " + KICK], "GS k CODE128 with character 0x64 out of range for code set C", 0),
    (["1D 6B 49 0A 7B 42 41 7B 5A " + KICK], "GS k CODE128 with an undefined { sequence", 0),
    (["1D 56 1B 70 30 32 64"], "GS V with undefined cut mode 27", 0),
    (["1D 76 31 00 05 00 01 00 " + KICK], "GS v with undefined function 49", 0),
    (["1D 76 30 04 05 00 01 00 " + KICK], "GS v 0 with undefined mode 4", 0),
    (
        ["1D 28 4C 10 00 30 70 30 01 01 31 08 00 01 00 FF " + KICK],
        "GS ( L function 112 whose length does not match its 8 x 1 dots",
        0,
    ),
    (
        ["1D 38 4C 10 00 00 00 30 70 30 01 01 31 08 00 01 00 FF " + KICK],
        "GS 8 L function 112 whose length does not match its 8 x 1 dots",
        0,
    ),
    (["1D 28 4C 07 00 30 32 " + KICK], "GS ( L function 50 with 5 extra bytes", 0),
    (["1D 28 6B 08 00 31 51 30 " + KICK], "GS ( k function 81 with a parameter out of range", 0),
    (["1D 28 6B 09 00 31 41 32 00 " + KICK], "GS ( k function 65 with a parameter out of range", 0),
    # A barcode or raster image after data on the line: the printer prints its bytes as text, commands included.
    (["41 1D 6B 48 05 " + KICK], f"GS k {ON_A_LINE}", 0),
    (["41 0D 1D 6B 48 05 " + KICK], f"GS k {ON_A_LINE}", 0),
    (["09 1D 6B 48 05 " + KICK], f"GS k {ON_A_LINE}", 0),
    (["1B 2A 00 01 00 FF 1D 6B 48 05 " + KICK], f"GS k {ON_A_LINE}", 0),
    (["41", "1D 6B 48 05 " + KICK], f"GS k {ON_A_LINE}", 1),
    (["41 1D 76 30 00 05 00 01 00 " + KICK], f"GS v 0 {ON_A_LINE}", 0),
    # A real-time sequence inside another command's data: printers act on it wherever they meet it.
    (["1D 76 30 00 05 00 01 00 10 14 01 00 01"], "DLE DC4 (real-time request) inside GS v 0", 0),
    (["1D 28 6B 08 00 31 50 30 10 14 01 00 01"], "DLE DC4 (real-time request) inside GS ( k", 0),
    (["1D 28 6B 06 00 31 50 30 10 05 02"], "DLE ENQ (real-time request) inside GS ( k", 0),
    (["1D 28 4C 0F 00 30 70 30 01 01 31 28 00 01 00 10 14 01 00 01"], "DLE DC4 (real-time request) inside GS ( L", 0),
    (
        ["1D 38 4C 0F 00 00 00 30 70 30 01 01 31 28 00 01 00 10 14 01 00 01"],
        "DLE DC4 (real-time request) inside GS 8 L",
        0,
    ),
    (["1B 2A 00 05 00 10 14 01 00 01"], "DLE DC4 (real-time request) inside ESC *", 0),
    (["1B 2A 21 01 00 10 04 01"], "DLE EOT (real-time status) inside ESC *", 0),
    (["1D 6B 49 06 7B 41 10 04 01 41"], "DLE EOT (real-time status) inside GS k", 0),
    (["1D 6B 04 10 14 01 00"], "GS k CODE39 with character 0x10 out of range", 0),
    # ... split across two raw commands.
    (["1D 76 30 00 08 00 01 00 41 41 41 10", "14 01 00 01"], "DLE DC4 (real-time request) inside GS v 0", 0),
    (["1D 28 6B 09 00 31 50 30 41 10", "14 01 00 01"], "DLE DC4 (real-time request) inside GS ( k", 0),
]


@pytest.mark.parametrize(("hex_parts", "refused", "at"), BYPASSES)
def test_bypass_attempts_are_refused_naming_the_command(hex_parts: list[str], refused: str, at: int) -> None:
    doc = document(*hex_parts)
    with pytest.raises(DocumentError) as caught:
        render_job(doc, raw_policy="safe")
    assert str(caught.value) == f'RAW: Blocked by raw_policy "safe" - {refused} at command {at + 1} (raw)'


@pytest.mark.parametrize(
    ("between", "second"),
    [
        ({"type": "feed"}, "41 41 41 41 41 41 41 1B 70 30"),  # the feed's 3 bytes become image data, ESC p runs
        ({"type": "text", "data": {"content": {"text": "Hi"}}}, "41 41 41 41 41 41 41 1B 70 30"),
    ],
)
def test_a_command_cannot_run_across_another_command_into_the_next_raw_one(
    between: dict[str, Any], second: str
) -> None:
    """Joined, the image's data ends exactly at the second raw command's end; on the wire the command between them
    fills the image first, and the printer executes the rest of the second raw command."""
    raws = [{"type": "raw", "data": {"hex": "1D 76 30 00 0A 00 01 00"}}, {"type": "raw", "data": {"hex": second}}]
    commands = [raws[0], between, raws[1]]
    doc = parse_document({"version": "1.0", "profile": {"model": "x"}, "commands": commands})
    with pytest.raises(DocumentError) as caught:
        render_job(doc, raw_policy="safe")
    assert str(caught.value) == 'RAW: Blocked by raw_policy "safe" - GS v (incomplete) at command 0 (raw)'
    adjacent = parse_document({"version": "1.0", "profile": {"model": "x"}, "commands": [raws[0], raws[1]]})
    assert render_job(adjacent, raw_policy="safe").data  # two raw commands in a row are one stream


def test_the_bypass_table_is_large_enough() -> None:
    assert len(BYPASSES) >= 30


@pytest.mark.parametrize(
    "hex_parts",
    [
        ["41 0A 1D 6B 48 05 41 42 43 44 45"],  # a barcode after a line feed
        ["41 1B 64 01 1D 6B 49 06 7B 43 0C 04 1B 01"],  # ESC d prints the line first; set C values 12, 4, 27, 1
        ["1D 6B 04 41 42 43 00"],  # CODE39 ended by NUL
        ["1D 6B 49 0C 7B 42 41 7B 53 00 7B 43 0C 7B 31 41"],  # {S shift to set A, set C, FNC1
        ["1B 44 08 10 18 00 09 41"],  # tab positions 8, 16, 24 (a DLE byte as a parameter), then HT
        ["1D 28 4C 0B 00 30 70 30 01 01 31 08 00 01 00 FF 1D 28 4C 02 00 30 32"],  # graphics stored, then printed
        ["1D 56 41 10 1D 56 00"],  # cuts
        ["1B 74 13 1B 52 0B 1C 2E 1B 4D 31 1D 21 11 1D 77 02 1D 68 50 1D 48 02 1D 66 00"],
    ],
)
def test_printing_sequences_pass(hex_parts: list[str]) -> None:
    assert first_refused([bytes.fromhex(part) for part in hex_parts]) is None


# --- the project's and the POS clients' real documents ----------------------------------------------------------

# Real documents whose raw commands do more than print (GS : / GS ^ macros, GS C serial counter): they print only
# with raw_policy = "allow".
NEEDS_RAW_ALLOW = {"kiosk_turns.json", "raw_advanced_test_1.json"}


def raw_parts(path: Path) -> list[bytes]:
    document = parse_document(path.read_bytes())
    return [command.data.payload for command in document.commands if isinstance(command, RawCommand)]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda path: path.name)
def test_the_projects_examples_print_under_safe(path: Path) -> None:
    document = parse_document(path.read_bytes())
    assert render_job(document, raw_policy="safe").data


def test_every_printing_raw_part_of_the_pos_clients_documents_passes_under_safe() -> None:
    require_shared()
    documents = shared_examples("service") + shared_examples("library")
    refused = {path.name for path in documents if first_refused(raw_parts(path)) is not None}
    assert refused == NEEDS_RAW_ALLOW
    with_raw = [path for path in documents if raw_parts(path) and path.name not in NEEDS_RAW_ALLOW]
    assert len(with_raw) >= 5  # force_PC850, look_for_n_tilde, pagecode_test_1, showcase, ticket_service_test
    for path in with_raw:
        assert render_job(parse_document(path.read_bytes()), raw_policy="safe").data


# --- what the validator accepts is what the printer executes -----------------------------------------------------

ALLOWED_HEADS = {bytes((prefix, code)) for prefix, table in FIXED.items() for code in table} | {
    b"\x1b\x2a",  # ESC * — bit image
    b"\x1b\x44",  # ESC D — tab positions
    b"\x1d\x56",  # GS V — cut
    b"\x1d\x76",  # GS v 0 — raster image
    b"\x1d\x6b",  # GS k — barcode
    b"\x1d\x28",  # GS ( k / GS ( L
    b"\x1d\x38",  # GS 8 L
}
FIXED_HEADS = [(prefix, code, ranges) for prefix, table in FIXED.items() for code, ranges in table.items()]


def any_or_in_range(allowed: Any) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(sorted(allowed)), st.integers(min_value=0, max_value=255))


FIXED_COMMANDS = st.sampled_from(FIXED_HEADS).flatmap(
    lambda head: st.tuples(*[any_or_in_range(allowed) for allowed in head[2]]).map(
        lambda parameters: bytes((head[0], head[1], *parameters))
    )
)
# Data bytes: any, or those that spell commands and real-time sequences.
DATA = st.one_of(
    st.binary(max_size=8),
    st.lists(st.sampled_from([0x00, 0x04, 0x05, 0x10, 0x14, 0x1B, 0x1D, 0x70, 0x41]), max_size=8).map(bytes),
)
SIZES = st.tuples(st.integers(min_value=1, max_value=3), st.integers(min_value=1, max_value=3))
DATA_COMMANDS = st.one_of(
    SIZES.flatmap(
        lambda size: DATA.map(lambda data: (data * 9)[: size[0] * size[1]].ljust(size[0] * size[1], b"A")).map(
            lambda data: c.raster_image(size[0], size[1], data)
        )
    ),
    DATA.map(lambda data: c.barcode(73, b"{A" + bytes(byte & 0x5F for byte in data))),
    DATA.map(lambda data: c.barcode(72, data)),
    DATA.map(lambda data: c.qr_store(data or b"A")),
    DATA.map(lambda data: b"\x1b\x2a\x00" + bytes((len(data), 0)) + data),
    st.lists(st.integers(min_value=1, max_value=255), max_size=4).map(lambda tabs: b"\x1b\x44" + bytes(tabs) + b"\0"),
    st.sampled_from([c.QR_SELECT_MODEL_2, c.QR_PRINT, c.CUT_FULL, b"\x1d\x28\x4c\x02\x00\x30\x32"]),
)
FRAGMENTS = st.one_of(
    st.binary(max_size=6).map(lambda data: bytes(byte | 0x20 for byte in data)),  # text
    st.sampled_from([b"\n", b"\n", b"\r", b"\t", b"\x00", b"\x10", b"\x04", b"\x14"]),
    FIXED_COMMANDS,
    DATA_COMMANDS,
    st.tuples(  # anything that starts like a command
        st.sampled_from(sorted(COMMAND_PREFIXES)),
        st.sampled_from(sorted({head[1] for head in ALLOWED_HEADS} | {0x70, 0x3D, 0x3A, 0x04, 0x14})),
        st.binary(max_size=12),
    ).map(lambda parts: bytes((parts[0], parts[1])) + parts[2]),
)


@settings(max_examples=500)
@given(st.lists(FRAGMENTS, max_size=12), st.lists(st.integers(min_value=0), max_size=3))
def test_what_the_validator_accepts_holds_only_allowed_commands_and_no_real_time_sequence(
    fragments: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(fragments)
    if first_refused(split(stream, cuts)) is not None:
        return
    assert find_realtime(stream) < 0
    i = 0
    while i < len(stream):  # read as the emulator and the printer transports do, with the command-length table
        if stream[i] not in COMMAND_PREFIXES:
            i += 1
            continue
        assert stream[i : i + 2] in ALLOWED_HEADS, stream[i:].hex(" ")
        if stream[i : i + 2] in (b"\x1d\x28", b"\x1d\x38"):
            assert stream[i + 2] in b"kL"
        extent = measure(stream, i)
        assert extent is not None
        i += extent.head + extent.payload
        if extent.until_nul:
            i = stream.index(0, i) + 1


# --- a command's own safe_mode: the original's text ----------------------------------------------------------------

ORIGINAL_SAFE_MODE_TEXT = "RAW:  Blocked by safe_mode - potentially dangerous command"  # processor.go, verbatim


@pytest.mark.parametrize(
    ("hex_payload", "name"),
    [
        ("1B 40", "ESC @, initialize"),
        ("41 1B 3D 00", "ESC = 0, disable printer"),
        ("1B 70 00 19 FA", "ESC p, cash drawer pulse"),
        ("1D 3A", "GS :, macro definition"),
    ],
)
def test_safe_mode_refusal_is_the_originals_text_then_the_command(hex_payload: str, name: str) -> None:
    raw = {"type": "raw", "data": {"hex": hex_payload, "safe_mode": True}}
    text = json.dumps({"version": "1.0", "profile": {"model": "x"}, "commands": [{"type": "feed"}, raw]})
    with pytest.raises(DocumentError) as parsed:
        parse_document(text)
    assert str(parsed.value) == f"{ORIGINAL_SAFE_MODE_TEXT} ({name}) at command 1 (raw)"
    # A document built without parsing meets the same check when it is rendered, under every policy.
    data = RawData.model_construct(hex=hex_payload, format="hex", comment=None, safe_mode=True)
    for policy in ("allow", "safe"):
        with pytest.raises(DocumentError) as rendered:
            raw_bytes(data, policy)
        assert str(rendered.value) == f"{ORIGINAL_SAFE_MODE_TEXT} ({name})"
