"""Render → emulate → read back: what a customer would see on the paper is what the document asked for.

Every QR code and barcode in the emulated receipt is decoded by an independent decoder (zxing-cpp) and must give
back exactly the input data; every piece of text appears in the transcript.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from conftest import EXAMPLES
from ticket_daemon.document import parse_document
from ticket_daemon.document.model import BarcodeCommand, Document, QrCommand, TableCommand, TextCommand
from ticket_daemon.emulator import emulate
from ticket_daemon.escpos import profile_for, render_job
from ticket_daemon.resources import system_typefaces

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


def run(path: Path) -> tuple[Document, str, Image.Image]:
    document = parse_document(path.read_bytes())
    profile = profile_for(document.profile)
    typefaces = system_typefaces()  # what the daemon hands the core
    emulation = emulate(render_job(document, profile, typefaces=typefaces).data, profile.dot_width, typefaces=typefaces)
    image = Image.open(io.BytesIO(emulation.png))
    assert image.width == profile.dot_width
    return document, emulation.transcript, image


def upce_to_upca(upce: str) -> str:
    """Expand an 8-digit UPC-E (number system, 6 digits, check) to its 12-digit UPC-A (GS1 rules)."""
    system, d, check = upce[0], upce[1:7], upce[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return system + body + check


def expected_barcode_text(command: BarcodeCommand) -> str:
    """What zxing reports for the data: it gives UPC-A and UPC-E as their EAN-13 equivalent (leading 0)."""
    data, symbology = command.data.data, command.data.symbology
    if symbology == "upca":
        return "0" + data
    if symbology == "upce":
        return "0" + upce_to_upca(data)
    return data


def decoded(image: Image.Image) -> list[str]:
    # A white margin so symbols touching the paper edge still have their quiet zone.
    framed = Image.new("L", (image.width + 80, image.height + 80), 255)
    framed.paste(image.convert("L"), (40, 40))
    return [result.text for result in zxingcpp.read_barcodes(framed)]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_text_of_the_document_is_on_the_receipt(path: Path) -> None:
    document, transcript, _ = run(path)
    flat = " ".join(transcript.split())
    for command in document.commands:
        texts: list[str] = []
        if isinstance(command, TextCommand):
            texts = [command.data.content.text]
            if command.data.label is not None:
                texts.append(command.data.label.text)
        elif isinstance(command, TableCommand):
            texts = [cell for row in command.data.rows for cell in row]
        for text in texts:
            for word in text.split():
                if word.isascii() or all(ch.isalpha() and ord(ch) < 0x500 for ch in word):
                    assert word in flat or word in transcript, f"{word!r} missing from the transcript of {path.name}"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_qr_and_barcode_scans_back_to_its_data(path: Path) -> None:
    document, _transcript, image = run(path)
    expected = [c.data.data for c in document.commands if isinstance(c, QrCommand)]
    expected += [expected_barcode_text(c) for c in document.commands if isinstance(c, BarcodeCommand)]
    if not expected:
        pytest.skip("no symbols in this example")
    found = decoded(image)
    for data in expected:
        assert data in found, f"{data!r} did not scan from {path.name}; decoded {found}"


def test_the_example_set_covers_every_command_type() -> None:
    seen = {command.type for path in EXAMPLE_FILES for command in parse_document(path.read_bytes()).commands}
    assert seen >= {"text", "image", "barcode", "qr", "table", "separator", "feed", "cut", "raw", "pulse", "beep"}
