"""Every document the existing POS clients send prints, and prints what it says: its texts are on the receipt, its
QR codes and barcodes scan back to their data, and the paper is cut as it asks (docs/document.md: accept everything
the original accepted). Documents in the old pre-v1 format are refused with a sentence
naming the field.

The bytes are read back by the emulator (an independent ESC/POS interpreter) and the symbols by zxing-cpp.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from conftest import require_shared, shared_examples
from ticket_daemon.document import DocumentError, parse_document
from ticket_daemon.document.model import (
    BarcodeCommand,
    CutCommand,
    Document,
    QrCommand,
    TableCommand,
    TextCommand,
)
from ticket_daemon.emulator import emulate
from ticket_daemon.emulator.barcodes import check_digit, upce_expand
from ticket_daemon.escpos import RenderedJob, profile_for, render_job

PRINTABLE = shared_examples("service") + shared_examples("library")
LEGACY = shared_examples("legacy-format")
# Examples that print only thanks to lenient reading, with the notes they get. None today: every shared example is
# a valid strict document; a new one that needs a default will fail test_which_examples_need_lenient_reading
# until it is recorded here.
NEEDS_LENIENT: dict[str, tuple[str, ...]] = {}


def example_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@cache
def printed(path: Path) -> tuple[Document, RenderedJob, str, Image.Image]:
    """The document, its job, and what the emulated printer made of the bytes: transcript and page image."""
    document = parse_document(path.read_bytes())
    profile = profile_for(document.profile)
    job = render_job(document, profile)
    emulation = emulate(job.data, profile.dot_width)
    return document, job, emulation.transcript, Image.open(io.BytesIO(emulation.png)).convert("L")


def document_words(document: Document) -> list[str]:
    """Words of every text, label, table cell and QR caption that the transcript can show as text (characters the
    code pages hold; others may be printed as an image)."""
    texts: list[str] = []
    for command in document.commands:
        if isinstance(command, TextCommand):
            texts.append(command.data.content.text)
            if command.data.label is not None:
                texts.append(command.data.label.text)
        elif isinstance(command, TableCommand):
            texts += [cell for row in command.data.rows for cell in row]
            if command.data.show_headers:
                texts += [column.name for column in command.data.definition.columns]
        elif isinstance(command, QrCommand) and command.data.human_text:
            texts.append(command.data.human_text)
    return [
        word
        for text in texts
        for word in text.split()
        if word.isascii() or all(char.isalpha() and ord(char) < 0x500 for char in word)
    ]


def expected_symbol_text(command: BarcodeCommand) -> str:
    """What zxing reports for a barcode's data: UPC-A and UPC-E come back as their EAN-13 form (a leading 0)."""
    data, symbology = command.data.data, command.data.symbology
    if symbology == "upca":
        return "0" + (data if len(data) == 12 else data + check_digit(data))
    if symbology == "upce":
        six = data[-6:] if len(data) == 6 else data[1:7]
        system = "0" if len(data) == 6 else data[0]
        upca = upce_expand(system, six)
        return "0" + upca + (data[7] if len(data) == 8 else check_digit(upca))
    return data


def scanned(image: Image.Image) -> list[str]:
    # A white margin so symbols touching the paper edge still have their quiet zone.
    framed = Image.new("L", (image.width + 80, image.height + 80), 255)
    framed.paste(image, (40, 40))
    return [result.text for result in zxingcpp.read_barcodes(framed)]


@pytest.mark.parametrize("path", PRINTABLE, ids=example_id)
def test_every_text_of_a_client_document_is_on_the_receipt(path: Path) -> None:
    require_shared()
    document, job, transcript, _ = printed(path)
    assert job.data.startswith(b"\x1b\x40\x1b\x74")  # ESC @, ESC t n
    assert all(note.startswith("TEXT: ") for note in job.notes[len(document.reading_notes) :])
    flat = " ".join(transcript.split())
    wrapped = "".join(transcript.split())  # a word split by table word-wrap is still there, across lines
    for word in document_words(document):
        assert word in flat or word in wrapped, f"{word!r} is missing from the receipt of {path.name}"


@pytest.mark.parametrize("path", PRINTABLE, ids=example_id)
def test_every_qr_code_and_barcode_of_a_client_document_scans_back(path: Path) -> None:
    require_shared()
    document, _, _, image = printed(path)
    expected = [command.data.data for command in document.commands if isinstance(command, QrCommand)]
    expected += [expected_symbol_text(command) for command in document.commands if isinstance(command, BarcodeCommand)]
    if not expected:
        pytest.skip("no QR code or barcode in this document")
    found = scanned(image)
    for data in expected:
        assert data in found, f"{data!r} did not scan from {path.name}; read {found}"


@pytest.mark.parametrize("path", PRINTABLE, ids=example_id)
def test_a_client_document_is_cut_as_it_asks(path: Path) -> None:
    require_shared()
    document, job, transcript, _ = printed(path)
    asked = [
        "[cut]" if c.data.mode == "full" else "[cut partial]" for c in document.commands if isinstance(c, CutCommand)
    ]
    cuts = [line.strip() for line in transcript.splitlines() if line.strip().startswith("[cut")]
    assert cuts == asked
    if isinstance(document.commands[-1], CutCommand):
        # GS V 65 0 (full) / GS V 66 0 (partial) is the last thing the printer gets.
        assert job.data.endswith(
            b"\x1d\x56\x41\x00" if document.commands[-1].data.mode == "full" else b"\x1d\x56\x42\x00"
        )


def test_which_examples_need_lenient_reading() -> None:
    require_shared()
    needing = {}
    for path in PRINTABLE:
        lenient = parse_document(path.read_bytes())
        if lenient.reading_notes:
            needing[example_id(path)] = lenient.reading_notes
        else:  # no substitution: strict reading accepts it and prints the same bytes
            assert render_job(parse_document(path.read_bytes(), strict=True)).data == render_job(lenient).data
    assert needing == NEEDS_LENIENT


@pytest.mark.parametrize("path", LEGACY, ids=lambda p: p.name)
@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_legacy_format_document_is_refused_naming_the_field(path: Path, strict: bool) -> None:
    require_shared()
    with pytest.raises(DocumentError) as caught:
        parse_document(path.read_bytes(), strict=strict)
    message = str(caught.value)
    assert message.startswith("VALIDATION: ")
    assert "field '" in message


def test_the_shared_examples_are_all_there() -> None:
    require_shared()
    assert len(PRINTABLE) >= 20
    assert len(LEGACY) >= 3
