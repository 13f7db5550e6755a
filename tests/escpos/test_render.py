"""A whole document becomes one job's bytes: initialised, in the right code page, every command as docs/document.md
says, no command leaking state into the next, and every problem named with its command."""

from __future__ import annotations

import base64
import importlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from ticket_daemon.document import DocumentError, Profile, parse_document
from ticket_daemon.document.model import ImageData, QrData
from ticket_daemon.emulator import emulate
from ticket_daemon.escpos import image_bytes, profile_for, qr_bytes, render_job
from ticket_daemon.escpos.render import render
from ticket_daemon.resources import system_typefaces

SOURCE = Path(__file__).resolve().parents[2] / "src"

INIT_WPC1252 = b"\x1b\x40\x1b\x74\x10"  # ESC @, ESC t 16
ALIGN_LEFT, ALIGN_CENTER = b"\x1b\x61\x00", b"\x1b\x61\x01"


def document(*commands: dict[str, Any], **profile: Any) -> Any:
    return parse_document({"version": "1.0", "profile": {"model": "x", **profile}, "commands": list(commands)})


def body(*commands: dict[str, Any], **profile: Any) -> bytes:
    """The job's bytes after ESC @ and ESC t n."""
    data = render(document(*commands, **profile))
    assert data[:4] == b"\x1b\x40\x1b\x74"
    return data[5:]


def png(width: int, height: int, color: int = 0) -> str:
    buffer = io.BytesIO()
    Image.new("L", (width, height), color).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize(
    ("table", "n"), [("PC437", 0), ("PC850", 2), ("pc852", 18), ("PC858", 19), ("PC866", 17), ("WPC1252", 16)]
)
def test_every_job_starts_with_initialize_and_the_code_table(table: str, n: int) -> None:
    data = render(document({"type": "feed"}, code_table=table))
    assert data == b"\x1b\x40\x1b\x74" + bytes((n,)) + b"\x1b\x64\x01"


RENDER_IN_ANOTHER_PROCESS = """
import sys
from ticket_daemon.document import parse_document
from ticket_daemon.escpos.render import render
from ticket_daemon.resources import system_typefaces
sys.stdout.buffer.write(render(parse_document(sys.stdin.buffer.read()), typefaces=system_typefaces()))
"""


def test_a_document_renders_to_the_same_bytes_in_another_process_and_they_print_what_it_says() -> None:
    source = {
        "version": "1.0",
        "profile": {"model": "x"},
        "commands": [
            {"type": "text", "data": {"content": {"text": "Día “ok” 你好", "content_style": {"bold": True}}}},
            {"type": "image", "data": {"code": png(16, 4)}},
            {"type": "qr", "data": {"data": "hello", "human_text": "hello"}},
            {"type": "cut"},
        ],
    }
    typefaces = system_typefaces()
    data = render(parse_document(source), typefaces=typefaces)
    there = subprocess.run(
        [sys.executable, "-c", RENDER_IN_ANOTHER_PROCESS],
        input=json.dumps(source).encode(),
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "777", "PYTHONPATH": str(SOURCE)},
        timeout=60,
        check=True,
    ).stdout
    assert there == data
    # And those bytes print what the document says: the text (its CJK part drawn as an image), the picture, a
    # QR code that scans back to its data with the human text below it, then a cut.
    printed = emulate(data, profile_for(parse_document(source).profile).dot_width, typefaces=typefaces)
    lines = printed.transcript.splitlines()
    assert lines[0].startswith("Día “ok”") and lines[-1] == "[cut partial]"  # cut mode defaults to partial
    assert lines.count("hello") == 1 and any(line.startswith("[image") for line in lines)
    assert [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(printed.png)))] == ["hello"]


def test_an_explicit_profile_overrides_the_documents() -> None:
    doc = document({"type": "separator"}, code_table="PC850")
    other = profile_for(Profile(model="58mm PT-210", code_table="PC866"))
    assert render_job(doc, other).data == b"\x1b\x40\x1b\x74\x11" + ALIGN_CENTER + b"-" * 32 + b"\n" + ALIGN_LEFT


# --- small commands ------------------------------------------------------------------------------------------


def test_feed_prints_and_feeds_n_lines() -> None:
    assert body({"type": "feed", "data": {"lines": 3}}) == b"\x1b\x64\x03"
    assert body({"type": "feed", "data": {"lines": 255}}) == b"\x1b\x64\xff"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, b"\x1b\x64\x02\x1d\x56\x42\x00"),  # partial, feed 2
        ({"mode": "full", "feed": 3}, b"\x1b\x64\x03\x1d\x56\x41\x00"),
        ({"mode": "FULL", "feed": 0}, b"\x1d\x56\x41\x00"),
        ({"mode": "partial", "feed": 0}, b"\x1d\x56\x42\x00"),
    ],
)
def test_cut_feeds_then_cuts(data: dict[str, Any], expected: bytes) -> None:
    assert body({"type": "cut", "data": data}) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, b"\x1b\x70\x00\x19\x32"),  # pin 0, 50 ms = 25 units, 100 ms = 50 units
        ({"pin": 1, "on_time": 120, "off_time": 241}, b"\x1b\x70\x01\x3c\x78"),
        ({"on_time": 1, "off_time": 10_000}, b"\x1b\x70\x00\x01\xff"),  # clamped to 1..255
        ({"on_time": 60_000, "off_time": 600_000}, b"\x1b\x70\x00\xff\xff"),  # any positive time is clamped
    ],
)
def test_pulse_opens_the_cash_drawer_in_units_of_two_milliseconds(data: dict[str, Any], expected: bytes) -> None:
    assert body({"type": "pulse", "data": data}) == expected


def test_beep_sounds_the_buzzer() -> None:
    assert body({"type": "beep"}) == b"\x1b\x42\x01\x01"
    assert body({"type": "beep", "data": {"times": 3, "lapse": 9}}) == b"\x1b\x42\x03\x09"


def test_beep_counts_above_nine_are_clamped_not_refused() -> None:
    # docs/document.md "separator, feed, cut, pulse, beep": 1..9 each.
    assert body({"type": "beep", "data": {"times": 12, "lapse": 40}}) == b"\x1b\x42\x09\x09"


def test_an_image_far_wider_than_the_paper_is_capped_at_the_dot_width() -> None:
    printed = body({"type": "image", "data": {"code": png(40, 8), "pixel_width": 50_000}}, paper_width=58)
    assert printed.startswith(b"\x1d\x76\x30\x00\x30\x00")  # GS v 0, 48 bytes = 384 dots wide


def test_raw_bytes_are_sent_as_given() -> None:
    assert body({"type": "raw", "data": {"hex": "1B 7B 01, 0x1d:62:01"}}) == b"\x1b\x7b\x01\x1d\x62\x01"
    assert body({"type": "raw", "data": {"hex": "G3sB", "format": "base64"}}) == b"\x1b\x7b\x01"


def test_raw_reset_is_followed_by_the_documents_code_table_again() -> None:
    # ESC @ inside raw puts the printer back on table 0; the text after it is encoded for PC850.
    assert (
        body(
            {"type": "raw", "data": {"hex": "1B 40"}},
            {"type": "text", "data": {"content": {"text": "ñ"}}},
            code_table="PC850",
        )
        == b"\x1b\x40\x1b\x74\x02\xa4\n"
    )


def test_daemon_that_forces_safe_mode_blocks_dangerous_raw_commands() -> None:
    doc = document({"type": "feed"}, {"type": "raw", "data": {"hex": "1B 70 00 19 32"}})
    with pytest.raises(DocumentError) as caught:
        render_job(doc, raw_policy="safe")
    assert str(caught.value) == 'RAW: Blocked by raw_policy "safe" - ESC p (cash drawer pulse) at command 1 (raw)'
    harmless = document({"type": "raw", "data": {"hex": "1B 7B 01"}})
    assert render_job(harmless, raw_policy="safe").data.endswith(b"\x1b\x7b\x01")


@pytest.mark.parametrize(
    ("hex_parts", "refused", "at"),
    [
        (["10 14 01 00 05"], "DLE DC4 (real-time request)", 0),
        (["10 05 02"], "DLE ENQ (real-time request)", 0),
        (["10 04 01"], "DLE EOT (real-time status)", 0),
        (["1D 28 45 03 00 05 01 00"], "GS ( E", 0),
        (["1D 28 43 05 00 00 30 00 00 00"], "GS ( C", 0),
        (["1C 67 31 00 00 00 00 00 01 00 41"], "FS g (NV user memory)", 0),
        (["1C 71 01 01 00 01 00 FF FF FF FF FF FF FF FF"], "FS q (define NV bit image)", 0),
        (["1D 28 4C 06 00 30 43 30 20 20 01"], "GS ( L", 0),
        (["48 69 0A", "1B"], "ESC (incomplete)", 1),
        (["1B 45 01 41 1B", "70 00 19 FA"], "ESC p (cash drawer pulse)", 0),
        (["41 1B 45", "01 1B", "70 00 19 FA"], "ESC p (cash drawer pulse)", 1),
        (["1D 76 30 00 01 00 01 00 80", "07"], "control byte 0x07", 1),
    ],
)
def test_safe_raw_policy_reads_all_raw_commands_as_one_stream(hex_parts: list[str], refused: str, at: int) -> None:
    """docs/document.md "raw": only printing commands pass, a command split across raw commands is still seen, and
    the refusal names the command and the raw command it starts in."""
    raws = [{"type": "raw", "data": {"hex": part}} for part in hex_parts]
    doc = document({"type": "feed"}, *raws)
    with pytest.raises(DocumentError) as caught:
        render_job(doc, raw_policy="safe")
    assert str(caught.value) == f'RAW: Blocked by raw_policy "safe" - {refused} at command {at + 1} (raw)'
    assert render_job(doc, raw_policy="allow").data  # the same bytes print when raw is allowed


def test_safe_raw_policy_passes_ordinary_printing_commands() -> None:
    text_bold_cut = "1B 61 01 1B 45 01 48 69 1B 45 00 0A 1B 61 00 1D 21 11 41 1D 21 00 0A 1B 64 02 1D 56 42 00"
    text_bold_cut += " 1D 62 01 1D 63 0A"  # GS b 1 (smoothing, a print style), GS c (print the serial counter)
    image = "1D 76 30 00 01 00 02 00 10 1B"  # a raster image whose data bytes hold DLE and ESC
    barcode_qr = "1D 6B 49 03 7B 42 41 1D 28 6B 03 00 31 43 04 1D 28 6B 05 00 31 50 30 68 69 1D 28 6B 03 00 31 51 30"
    # ESC d split over two raw commands: a sequence that only prints may be split too. ESC @ (initialize) only
    # clears volatile settings: real POS documents send it.
    doc = document(
        *[{"type": "raw", "data": {"hex": part}} for part in ("1B 40", text_bold_cut, image, barcode_qr, "1B", "64 01")]
    )
    data = render_job(doc, raw_policy="safe").data
    assert data.endswith(bytes.fromhex(text_bold_cut + image + barcode_qr + "1B 64 01"))
    assert data.count(b"\x1b\x40") == 2  # the job's own ESC @ and the raw one


def test_daemon_that_forbids_raw_refuses_it() -> None:
    doc = document({"type": "raw", "data": {"hex": "1B 7B 01"}})
    with pytest.raises(DocumentError) as caught:
        render_job(doc, raw_policy="deny")
    assert str(caught.value) == "RAW: raw commands are disabled on this daemon at command 0 (raw)"


# --- images and QR codes -------------------------------------------------------------------------------------


def test_image_is_sent_as_the_raster_the_image_renderer_makes() -> None:
    data = {"code": png(8, 2), "pixel_width": 8, "align": "left"}
    expected = image_bytes(ImageData.model_validate(data), profile_for(Profile(model="x")))
    assert b"\x1d\x76\x30\x00" in expected
    assert body({"type": "image", "data": data}) == expected


def test_an_image_that_does_not_decode_is_named_by_its_command() -> None:
    doc = document({"type": "feed"}, {"type": "image", "data": {"code": base64.b64encode(b"not an image").decode()}})
    with pytest.raises(DocumentError) as caught:
        render_job(doc)
    message = str(caught.value)
    assert message.startswith("IMAGE: ")
    assert message.endswith(" at command 1 (image)")


def test_native_qr_then_its_human_text_centred_below() -> None:
    data = {"data": "HELLO", "human_text": "Escanea aquí"}
    symbol = qr_bytes(QrData.model_validate(data), profile_for(Profile(model="x", has_qr=True)))
    assert b"\x1d\x28\x6b\x03\x00\x31\x51\x30" in symbol  # GS ( k print
    assert body({"type": "qr", "data": data}, has_qr=True) == symbol + ALIGN_CENTER + b"Escanea aqu\xed\n" + ALIGN_LEFT


def test_raster_qr_human_text_follows_the_symbols_alignment() -> None:
    data = {"data": "HELLO", "human_text": "x", "align": "right"}
    symbol = qr_bytes(QrData.model_validate(data), profile_for(Profile(model="x")))
    assert body({"type": "qr", "data": data}) == symbol + b"\x1b\x61\x02x\n" + ALIGN_LEFT


def test_qr_without_human_text_is_just_the_symbol() -> None:
    data = {"data": "HELLO"}
    assert body({"type": "qr", "data": data}) == qr_bytes(QrData.model_validate(data), profile_for(Profile(model="x")))


# --- state, notes and errors ---------------------------------------------------------------------------------


def printer_state_after(data: bytes) -> dict[str, int]:
    """The modes a printer is left in after ``data``: a small interpreter of the commands the renderer sends."""
    state = {"bold": 0, "size": 0, "underline": 0, "inverse": 0, "font": 0, "align": 0}
    settings = {b"\x1bE": "bold", b"\x1d!": "size", b"\x1b-": "underline", b"\x1dB": "inverse", b"\x1bM": "font"}
    settings[b"\x1ba"] = "align"
    i = 0
    while i < len(data):
        head = data[i : i + 2]
        if head in settings:
            state[settings[head]] = data[i + 2]
            i += 3
        elif data.startswith(b"\x1d\x76\x30\x00", i):  # GS v 0: skip the raster data
            i += 8 + (data[i + 4] | data[i + 5] << 8) * (data[i + 6] | data[i + 7] << 8)
        elif head == b"\x1dk":  # GS k m n: skip the barcode data
            i += 4 + data[i + 3]
        elif head == b"\x1d(":  # GS ( k pL pH: skip the QR function
            i += 5 + (data[i + 3] | data[i + 4] << 8)
        elif head in (b"\x1bt", b"\x1bd", b"\x1dw", b"\x1dh", b"\x1dH", b"\x1df"):
            i += 3
        else:
            i += 1
    return state


EVERY_COMMAND: list[dict[str, Any]] = [
    {
        "type": "text",
        "data": {
            "label": {"text": "L", "align": "right", "label_style": {"bold": True, "font": "B", "inverse": True}},
            "content": {
                "text": "C 你",
                "align": "center",
                "content_style": {"size": "3x2", "underline": "2pt", "inverse": True, "bold": True},
            },
            "new_line": False,
        },
    },
    {"type": "image", "data": {"code": png(10, 3), "align": "right"}},
    {"type": "barcode", "data": {"symbology": "code39", "data": "A", "align": "right"}},
    {"type": "qr", "data": {"data": "x", "human_text": "y", "align": "right"}},
    {
        "type": "table",
        "data": {
            "definition": {"columns": [{"name": "A", "width": 3}]},
            "rows": [["b"]],
            "options": {"align": "right"},
        },
    },
    {"type": "separator", "data": {"char": "✈"}},
    {"type": "feed"},
    {"type": "cut"},
    {"type": "pulse"},
    {"type": "beep"},
]


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: str(c["type"]))
@pytest.mark.parametrize("has_qr", [False, True])
def test_no_command_leaves_a_style_or_alignment_behind(command: dict[str, Any], has_qr: bool) -> None:
    state = printer_state_after(render(document(command, has_qr=has_qr)))
    assert state == {"bold": 0, "size": 0, "underline": 0, "inverse": 0, "font": 0, "align": 0}


def test_substitutions_are_reported_against_their_command() -> None:
    job = render_job(
        document(
            {"type": "feed"},
            {"type": "text", "data": {"content": {"text": "a→b"}}},
            {"type": "table", "data": {"definition": {"columns": [{"name": "✈", "width": 4}]}, "rows": [["≠"]]}},
        )
    )
    assert job.notes == (
        "TEXT: 1 character printed as a close match in command 1 (e.g. '→' as '>')",
        "TEXT: 1 character printed as a close match in command 2 (e.g. '≠' as '=')",
        "TEXT: 1 character printed as image in command 2",
    )


def test_a_plain_receipt_has_no_notes() -> None:
    assert render_job(document({"type": "text", "data": {"content": {"text": "Gracias"}}})).notes == ()


def test_an_unexpected_failure_is_reported_against_its_command(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> bytes:
        raise RuntimeError("bug")

    # The package re-exports the function ``render``, which hides the module of the same name from attribute access.
    monkeypatch.setattr(importlib.import_module("ticket_daemon.escpos.render"), "table_bytes", broken)
    doc = document({"type": "feed"}, {"type": "table", "data": {"definition": {"columns": [{"width": 3}]}}})
    with pytest.raises(DocumentError) as caught:
        render_job(doc)
    assert str(caught.value) == "TABLE: could not be rendered (RuntimeError) at command 1 (table)"
