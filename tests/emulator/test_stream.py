"""The byte stream: any chunking, any garbage, markers for what prints no text, and reports of what is unknown."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ticket_daemon.emulator import Emulator
from ticket_daemon.escpos import commands as c

INIT = c.INITIALIZE

RECEIPT = (
    INIT
    + c.select_code_table(16)
    + c.align(1)
    + c.character_size(2, 2)
    + b"CAF\xc9 CENTRAL\n"
    + c.character_size(1, 1)
    + c.align(0)
    + c.bold(True)
    + b"Item"
    + c.bold(False)
    + b"\t2 x 3.50\n"
    + c.underline(1)
    + b"Total 7.00\n"
    + c.underline(0)
    + c.raster_image(2, 3, b"\xf0\x0f\xaa\x55\xff\x00")
    + c.barcode_hri_position(2)
    + c.barcode(73, b"{C\x0c\x22\x38")
    + c.QR_SELECT_MODEL_2
    + c.qr_module_size(4)
    + c.qr_error_level("M")
    + c.qr_store(b"https://example.com/r/1")
    + c.QR_PRINT
    + c.pulse(0, 25, 50)
    + c.beep(2, 1)
    + c.feed_lines(2)
    + c.CUT_PARTIAL
)


def run(data: bytes) -> Emulator:
    emulator = Emulator()
    emulator.feed(data)
    return emulator


def same_result(a: Emulator, b: Emulator) -> bool:
    return (
        a.transcript() == b.transcript()
        and a.unknown == b.unknown
        and a.page().size == b.page().size
        and bool((np.asarray(a.page()) == np.asarray(b.page())).all())
    )


def test_a_whole_receipt_reads_as_expected() -> None:
    emulator = run(RECEIPT)
    assert emulator.transcript().splitlines() == [
        "CAFÉ CENTRAL",
        "Item    2 x 3.50",
        "Total 7.00",
        "[image 16x3]",
        "[barcode CODE128 123456]",
        "[qr https://example.com/r/1]",
        "[pulse]",
        "[beep]",
        "",
        "",
        "[cut partial]",
    ]
    assert emulator.unknown == []


def test_feeding_byte_by_byte_gives_the_same_receipt_as_one_feed() -> None:
    whole = run(RECEIPT)
    dribbled = Emulator()
    for index in range(len(RECEIPT)):
        dribbled.feed(RECEIPT[index : index + 1])
    assert same_result(whole, dribbled)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(RECEIPT)), max_size=12))
def test_any_chunking_gives_the_same_receipt(cuts: list[int]) -> None:
    chunked = Emulator()
    bounds = [0, *sorted(cuts), len(RECEIPT)]
    for start, end in itertools.pairwise(bounds):
        chunked.feed(RECEIPT[start:end])
    assert same_result(run(RECEIPT), chunked)


def test_cut_forms_draw_a_dashed_line_and_mark_the_transcript() -> None:
    for command, marker in [
        (b"\x1d\x56\x00", "[cut]"),
        (b"\x1d\x56\x30", "[cut]"),
        (b"\x1d\x56\x01", "[cut partial]"),
        (b"\x1d\x56\x31", "[cut partial]"),
        (c.CUT_FULL, "[cut]"),
        (c.CUT_PARTIAL, "[cut partial]"),
        (b"\x1d\x56\x41\x50", "[cut]"),  # GS V 65 80: feed 80 dots first
    ]:
        emulator = run(INIT + b"x\n" + command)
        assert emulator.transcript() == f"x\n{marker}", command
        picture = np.asarray(emulator.page()) < 128
        dashed = [row for row in picture[24:] if 0.3 < row.mean() < 0.7]
        assert dashed, f"no cut line for {command!r}"
    fed = run(INIT + b"\x1d\x56\x41\x50").page().height
    assert fed > run(INIT + b"\x1d\x56\x41\x00").page().height + 70


def test_drawer_pulse_and_buzzer_are_marked() -> None:
    emulator = run(INIT + c.pulse(1, 50, 100) + c.beep(3, 2) + b"\x10\x14\x01\x00\x02")  # + DLE DC4 1 pulse
    assert emulator.transcript() == "[pulse]\n[beep]\n[pulse]"


def test_status_queries_are_consumed_without_printing() -> None:
    emulator = run(INIT + c.status_request(1) + c.status_request(4) + b"\x10\x05\x02" + b"ok\n")
    assert emulator.transcript() == "ok"
    assert emulator.unknown == []


def test_known_commands_with_arguments_are_skipped_whole() -> None:
    skipped = (
        b"\x1d\x28\x4b\x02\x00\x31\x05"  # GS ( K — print density
        b"\x1b\x3d\x01"  # ESC = 1
        b"\x1b\x52\x07"  # ESC R 7
        b"\x1d\x61\x00"  # GS a 0
        b"\x1c\x2e\x1c\x43\x01"  # FS . / FS C 1
        b"\x1b\x28\x41\x04\x00\x30\x41\x41\x41"  # ESC ( A — beeper settings with 4 argument bytes
        b"\x1c\x32\xa1\xa1"
        + b"AB" * 36  # FS 2 — a user-defined Kanji: 72 bytes of glyph, not text
        + b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"  # DLE DC4 8 — clear buffers, 7 argument bytes
        + b"\x1d\x67\x32\x00\x14\x00"  # GS g 2 — read a maintenance counter
        + b"\x1b\x44\x04\x08\x00"  # ESC D — tab stops at columns 4 and 8
    )
    emulator = run(INIT + skipped + b"a\tb\tc\n")
    assert emulator.unknown == []
    assert emulator.transcript() == "a   b   c"


def test_unknown_commands_are_reported_with_their_offset_and_skipped() -> None:
    emulator = run(INIT + b"A\n" + b"\x1b\x06" + b"\x1d\x28\x4c\x02\x00\x30\x30" + b"\x1d\xfe" + b"\x07" + b"B\n")
    assert emulator.unknown == [
        "ESC at byte 4",
        "0x06 at byte 5",
        "GS ( L fn=48 at byte 6",
        "GS 0xfe at byte 13",
        "0x07 at byte 15",
    ]
    assert emulator.transcript() == "A\nB"


def test_an_unknown_command_does_not_swallow_the_next_one() -> None:
    emulator = run(b"\x1d" + INIT + b"\x1c" + c.bold(True) + b"Bold\n")  # lone GS, lone FS
    assert emulator.unknown == ["GS at byte 0", "FS at byte 3"]
    assert emulator.transcript() == "Bold"


def test_a_command_cut_between_feeds_is_completed_by_the_next_feed() -> None:
    emulator = Emulator()
    emulator.feed(INIT + b"\x1d")
    emulator.feed(b"\x21")
    emulator.feed(b"\x11" + b"BIG\n")  # GS ! 0x11 — double width and height
    assert emulator.transcript() == "BIG"
    assert np.flatnonzero((np.asarray(emulator.page()) < 128).any(axis=1)).max() >= 24


def test_unknown_list_is_bounded() -> None:
    emulator = run(b"\x07" * 5000)
    assert 0 < len(emulator.unknown) <= 1000


ESC_POS_PIECES = st.sampled_from(
    [
        INIT,
        b"\x1b",
        b"\x1d",
        b"\x1c",
        b"\x10",
        b"\x1d\x76\x30\x00",
        b"\x1d\x76\x30\x00\xff\xff\xff\xff",
        b"\x1d\x6b\x49",
        b"\x1d\x6b\x02",
        b"\x1d\x28\x6b",
        b"\x1d\x28\x6b\xff\xff\x31\x50\x30",
        b"\x1d\x28\x6b\x03\x00\x31\x51\x30",
        b"\x1d\x28\x4c",
        b"\x1d\x38\x4c\xff\xff\xff\xff",
        b"\x1b\x2a\x21\xff\xff",
        b"\x1b\x26\x03\x20\x7e",
        b"\x1d\x21\x77",
        b"\x1d\x56\x41",
        b"\x1b\x44",
        b"\x1c\x26",
        b"\x1d\x4c\xff\xff",
        b"\x1d\x57\x00\x00",
        b"\x1b\x24\xff\xff",
        b"{C",
        b"\n",
        b"\t",
        b"Hello",
        b"\xff\x80",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(st.one_of(ESC_POS_PIECES, st.binary(max_size=40)), max_size=30),
    split=st.integers(min_value=0, max_value=2000),
)
def test_any_bytes_are_accepted_without_raising(pieces: list[bytes], split: int) -> None:
    data = b"".join(pieces)
    whole = Emulator(384)
    whole.feed(data)
    image = whole.page()
    assert image.width == 384
    assert 1 <= image.height <= 20_000
    assert isinstance(whole.transcript(), str)
    assert whole.page_png().startswith(b"\x89PNG")
    assert not any(entry.startswith("internal error") for entry in whole.unknown)
    halves = Emulator(384)
    halves.feed(data[:split])
    halves.feed(data[split:])
    assert halves.transcript() == whole.transcript()
    assert halves.unknown == whole.unknown
