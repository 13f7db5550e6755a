"""A till written for the original engine sends a document it printed with defaults: it prints here too, each
substitution named in one ``CATEGORY: sentence``; in strict mode the same document is refused
(docs/document.md "Lenient (default) and strict")."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES
from ticket_daemon.document import DocumentError, parse_document
from ticket_daemon.document.model import (
    BarcodeCommand,
    CutCommand,
    Document,
    FeedCommand,
    ImageCommand,
    PulseCommand,
    QrCommand,
    TableCommand,
    TextCommand,
)
from ticket_daemon.emulator import emulate
from ticket_daemon.escpos import profile_for, render_job

PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABc3UBGAAAAABJRU5ErkJggg=="


def doc(*commands: Any, **profile: Any) -> dict[str, Any]:
    return {"version": "1.0", "profile": {"model": "Generic", **profile}, "commands": [*commands, {"type": "cut"}]}


def text(content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "text", "data": {"content": {"text": "Hola", **content}}}


def style(**values: Any) -> dict[str, Any]:
    return text({"content_style": values})


def barcode(**values: Any) -> dict[str, Any]:
    return {"type": "barcode", "data": {"symbology": "code128", "data": "A-1", **values}}


def qr(**values: Any) -> dict[str, Any]:
    return {"type": "qr", "data": {"data": "https://example.com/t/1", **values}}


def image(**values: Any) -> dict[str, Any]:
    return {"type": "image", "data": {"code": PNG_1X1, **values}}


def table(column: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    columns = [{"name": "A", "width": 4, **column}]
    return {"type": "table", "data": {"definition": {"columns": columns}, "rows": [["x"]], "options": options}}


def data_of(document: Document, index: int = 0) -> Any:
    return document.commands[index].data


# (document, the one note lenient reading gives, what is printed instead, the start of the strict error)
CASES: list[Any] = [
    pytest.param(
        doc({"type": "teleport", "data": {}}),
        "COMMAND: Unknown command type 'teleport' at command 0, so it was skipped",
        lambda d: tuple(type(c) for c in d.commands) == (CutCommand,),
        "COMMAND: Unknown command type 'teleport' at command 0",
        id="unknown-command-type",
    ),
    pytest.param(
        doc(barcode(symbology="pdf417")),
        "BARCODE: symbology 'pdf417' at command 0 (barcode) printed as 'code128'",
        lambda d: data_of(d).symbology == "code128",
        "BARCODE: field 'symbology' 'pdf417' is not supported",
        id="unknown-symbology",
    ),
    pytest.param(
        doc(style(size="big")),
        "VALIDATION: content.content_style.size 'big' at command 0 (text) printed as '1x1'",
        lambda d: data_of(d).content.content_style.size == "1x1",
        "VALIDATION: field 'content.content_style.size' must be 'WxH'",
        id="text-size",
    ),
    pytest.param(
        doc(style(font="C")),
        "VALIDATION: content.content_style.font 'C' at command 0 (text) printed as 'A'",
        lambda d: data_of(d).content.content_style.font == "A",
        "VALIDATION: field 'content.content_style.font' must be one of",
        id="text-font",
    ),
    pytest.param(
        doc(style(underline="thick")),
        "VALIDATION: content.content_style.underline 'thick' at command 0 (text) printed as '0pt'",
        lambda d: data_of(d).content.content_style.underline == "0pt",
        "VALIDATION: field 'content.content_style.underline' must be one of",
        id="text-underline",
    ),
    pytest.param(
        doc(text({"align": "middle"})),
        "VALIDATION: content.align 'middle' at command 0 (text) printed as 'left'",
        lambda d: data_of(d).content.align == "left",
        "VALIDATION: field 'content.align' must be one of",
        id="text-align",
    ),
    pytest.param(
        doc({"type": "text", "data": {"label": {"text": "Total", "align": "justify"}, "content": {"text": "9"}}}),
        "VALIDATION: label.align 'justify' at command 0 (text) printed as 'left'",
        lambda d: data_of(d).label.align == "left",
        "VALIDATION: field 'label.align' must be one of",
        id="label-align",
    ),
    pytest.param(
        doc({"type": "cut", "data": {"mode": "half"}}),
        "VALIDATION: mode 'half' at command 0 (cut) printed as 'partial'",
        lambda d: data_of(d).mode == "partial",
        "VALIDATION: field 'mode' must be one of",
        id="cut-mode",
    ),
    pytest.param(
        doc(image(dithering="floyd")),
        "VALIDATION: dithering 'floyd' at command 0 (image) printed as 'atkinson'",
        lambda d: data_of(d).dithering == "atkinson",
        "VALIDATION: field 'dithering' must be one of",
        id="image-dithering",
    ),
    pytest.param(
        doc(image(scaling="lanczos")),
        "VALIDATION: scaling 'lanczos' at command 0 (image) printed as 'bilinear'",
        lambda d: data_of(d).scaling == "bilinear",
        "VALIDATION: field 'scaling' must be one of",
        id="image-scaling",
    ),
    pytest.param(
        doc(image(align="top")),
        "VALIDATION: align 'top' at command 0 (image) printed as 'center'",
        lambda d: data_of(d).align == "center",
        "VALIDATION: field 'align' must be one of",
        id="image-align",
    ),
    pytest.param(
        doc(barcode(width=1)),
        "VALIDATION: width 1 at command 0 (barcode) printed as 2",
        lambda d: data_of(d).width == 2,
        "VALIDATION: field 'width' must be greater than or equal to 2",
        id="barcode-width-1",
    ),
    pytest.param(
        doc(barcode(width=7)),
        "VALIDATION: width 7 at command 0 (barcode) printed as 6",
        lambda d: data_of(d).width == 6,
        "VALIDATION: field 'width' must be less than or equal to 6",
        id="barcode-width-7",
    ),
    pytest.param(
        doc(barcode(hri_position="under")),
        "VALIDATION: hri_position 'under' at command 0 (barcode) printed as 'below'",
        lambda d: data_of(d).hri_position == "below",
        "VALIDATION: field 'hri_position' must be one of",
        id="hri-position",
    ),
    pytest.param(
        doc(qr(align="middle")),
        "VALIDATION: align 'middle' at command 0 (qr) printed as 'center'",
        lambda d: data_of(d).align == "center",
        "VALIDATION: field 'align' must be one of",
        id="qr-align",
    ),
    pytest.param(
        doc(qr(pixel_width=0)),
        "VALIDATION: pixel_width 0 at command 0 (qr) printed as 87",
        lambda d: data_of(d).pixel_width == 87,
        "VALIDATION: field 'pixel_width' must be greater than or equal to 87",
        id="qr-size",
    ),
    pytest.param(
        doc(qr(logo="PLACEHOLDER_IMAGEN_BASE64_LOGO_AQUI...")),
        "QR: logo at command 0 (qr) is not a usable image, so the QR code is printed without it",
        lambda d: data_of(d).logo is None,
        "QR: field 'logo' is not valid base64 image data",
        id="qr-logo-not-base64",
    ),
    pytest.param(
        doc(table({"align": "middle"}, {"align": "wide"})),
        None,  # two substitutions: checked by the notes list below
        lambda d: (data_of(d).definition.columns[0].align, data_of(d).options.align) == ("left", "center"),
        "VALIDATION: field 'definition.columns.0.align' must be one of",
        id="table-aligns",
    ),
    pytest.param(
        doc({"type": "text", "data": {"content": {"text": "x"}}}, code_table="UTF8"),
        "VALIDATION: profile code_table 'UTF8' printed as 'WPC1252'",
        lambda d: d.profile.code_table == "WPC1252",
        "VALIDATION: profile: field 'code_table' must be one of",
        id="code-table",
    ),
    pytest.param(
        doc({"type": "pulse", "data": {"pin": 5}}),
        "VALIDATION: pin 5 at command 0 (pulse) printed as 0",
        lambda d: data_of(d).pin == 0,
        "VALIDATION: field 'pin' must be one of",
        id="pulse-pin",
    ),
    pytest.param(
        doc({"type": "feed", "data": {"lines": 0}}),
        "VALIDATION: lines 0 at command 0 (feed) printed as 1",
        lambda d: data_of(d).lines == 1,
        "VALIDATION: field 'lines' must be greater than or equal to 1",
        id="feed-0",
    ),
    pytest.param(
        doc({"type": "text", "data": {"label": {"text": "Mesa 4", "label_style": {"bold": True}}}}),
        "VALIDATION: text at command 0 has a label but no content, so the label is printed alone",
        lambda d: (
            (data_of(d).content.text, data_of(d).content.content_style.bold, data_of(d).label) == ("Mesa 4", True, None)
        ),
        "VALIDATION: field 'content' is required",
        id="label-without-content",
    ),
    pytest.param(
        doc(None, {"type": "feed"}),
        "VALIDATION: command 0 is null, so it was skipped",
        lambda d: tuple(type(c) for c in d.commands) == (FeedCommand, CutCommand),
        "VALIDATION: must be an object, got null",
        id="null-command",
    ),
    pytest.param(
        doc({"type": "feed"}) | {"version": "2.0"},
        "VALIDATION: version '2.0' read as '1.0'",
        lambda d: d.version == "1.0",
        "VALIDATION: field 'version' major version must be 1",
        id="version-2.0",
    ),
    pytest.param(
        doc({"type": "feed"}) | {"version": "1.x"},
        "VALIDATION: version '1.x' read as '1.0'",
        lambda d: d.version == "1.0",
        "VALIDATION: field 'version' must look like",
        id="version-1.x",
    ),
    pytest.param(
        {"Version": "1.0", "profile": {"model": "x"}, "commands": [{"type": "feed"}]},
        "VALIDATION: key 'Version' read as 'version'",
        lambda d: d.version == "1.0",
        "VALIDATION: field 'version' is required",
        id="key-Version",
    ),
    pytest.param(
        {"version": "1.0", "profile": {"model": "x"}, "Commands": [{"type": "feed"}]},
        "VALIDATION: key 'Commands' read as 'commands'",
        lambda d: tuple(type(c) for c in d.commands) == (FeedCommand,),
        "VALIDATION: field 'commands' is required",
        id="key-Commands",
    ),
    pytest.param(
        {
            "version": "1.0",
            "profile": {"model": "x"},
            "commands": [{"Type": "text", "Data": {"content": {"text": "hola"}}}, {"Type": "cut"}],
        },
        None,  # Type twice and Data once: two notes
        lambda d: tuple(type(c) for c in d.commands) == (TextCommand, CutCommand),
        "VALIDATION: field 'type' is required",
        id="key-Type-Data",
    ),
]


@pytest.mark.parametrize(("document", "note", "printed", "strict_error"), CASES)
def test_lenient_reading_prints_with_the_default_and_names_it(
    document: dict[str, Any], note: str | None, printed: Any, strict_error: str
) -> None:
    parsed = parse_document(copy.deepcopy(document))
    if note is not None:
        assert parsed.reading_notes == (note,)
    assert printed(parsed)
    # The notes reach the job's result: the renderer puts them first in its notes.
    assert render_job(parsed).notes[: len(parsed.reading_notes)] == parsed.reading_notes


@pytest.mark.parametrize(("document", "note", "printed", "strict_error"), CASES)
def test_strict_reading_refuses_each_substitution(
    document: dict[str, Any], note: str | None, printed: Any, strict_error: str
) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_document(copy.deepcopy(document), strict=True)
    assert str(caught.value).startswith(strict_error), str(caught.value)


def test_several_substitutions_in_one_command_are_each_named() -> None:
    parsed = parse_document(doc(table({"align": "middle"}, {"align": "wide"})))
    assert parsed.reading_notes == (
        "VALIDATION: definition.columns.0.align 'middle' at command 0 (table) printed as 'left'",
        "VALIDATION: options.align 'wide' at command 0 (table) printed as 'center'",
    )
    keys = parse_document(
        {"version": "1.0", "profile": {"model": "x"}, "commands": [{"Type": "feed", "Data": {}}, {"Type": "cut"}]}
    )
    assert keys.reading_notes == (
        "VALIDATION: key 'Data' read as 'data'",
        "VALIDATION: key 'Type' read as 'type' (2 times)",
    )


def test_a_logo_that_is_base64_but_no_image_is_dropped_and_the_qr_still_scans() -> None:
    parsed = parse_document(doc(qr(logo="aGVsbG8gd29ybGQ=")))  # "hello world"
    assert parsed.reading_notes == (
        "QR: logo at command 0 (qr) is not a usable image, so the QR code is printed without it",
    )
    command = parsed.commands[0]
    assert isinstance(command, QrCommand) and command.data.logo is None
    with pytest.raises(DocumentError) as caught:  # strict: the renderer refuses it
        render_job(parse_document(doc(qr(logo="aGVsbG8gd29ybGQ=")), strict=True))
    assert str(caught.value).startswith("QR: field 'logo'")


def test_a_usable_logo_is_kept_without_a_note() -> None:
    parsed = parse_document(doc(qr(logo=PNG_1X1)))
    assert parsed.reading_notes == ()
    command = parsed.commands[0]
    assert isinstance(command, QrCommand) and command.data.logo == PNG_1X1


def test_what_cannot_be_printed_stays_an_error_in_lenient_mode() -> None:
    cannot = [
        doc({"type": "barcode", "data": {"symbology": "ean13", "data": "4006381333932"}}),  # bad check digit
        doc(image(code="@@@")),  # not an image
        doc(qr(data="x" * 7090)),  # QR data too long
        doc(barcode(symbology="pdf417", data="ñ")),  # CODE128 cannot carry it either
        doc({"type": "feed", "data": {"lines": 256}}),
        {"version": "one", "profile": {"model": "x"}, "commands": [{"type": "feed"}]},
        doc({"type": "teleport"}) | {"commands": [{"type": "teleport"}]},  # nothing left to print
    ]
    for document in cannot:
        with pytest.raises(DocumentError):
            parse_document(document)


def test_the_stored_form_of_a_lenient_document_is_strict_and_carries_no_notes() -> None:
    parsed = parse_document(doc(text({"align": "middle"}), barcode(width=9)) | {"version": "2.0"})
    dumped = parsed.model_dump_json()
    assert "reading_notes" not in dumped and "middle" not in dumped
    again = parse_document(dumped, strict=True)
    assert again.model_dump() == parsed.model_dump()
    assert again.reading_notes == ()


def test_the_original_dashboards_qr_template_prints_with_a_note() -> None:
    # The original dashboard's QR template (58 mm, native QR) ships a placeholder where the logo goes.
    template = {
        "version": "1.0",
        "profile": {"model": "58mm PT-210", "paper_width": 58, "code_table": "WPC1252", "dpi": 203, "has_qr": True},
        "commands": [
            {"type": "text", "data": {"content": {"text": "CENTRO PLAZA", "align": "center"}}},
            {
                "type": "qr",
                "data": {
                    "data": "https://pagos.centroplaza.com/t/902102",
                    "human_text": "ESCANEAR PARA PAGAR",
                    "pixel_width": 240,
                    "correction": "H",
                    "align": "center",
                    "logo": "PLACEHOLDER_IMAGEN_BASE64_LOGO_AQUI...",
                    "circle_shape": False,
                },
            },
            {"type": "feed", "data": {"lines": 3}},
            {"type": "cut", "data": {"mode": "partial"}},
        ],
    }
    parsed = parse_document(template)
    profile = profile_for(parsed.profile)
    job = render_job(parsed, profile)
    assert job.notes == ("QR: logo at command 1 (qr) is not a usable image, so the QR code is printed without it",)
    transcript = emulate(job.data, profile.dot_width).transcript
    assert "[qr https://pagos.centroplaza.com/t/902102]" in transcript
    assert "ESCANEAR PARA PAGAR" in transcript


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_the_projects_examples_render_byte_identical_in_both_modes(path: Path) -> None:
    raw = path.read_bytes()
    lenient, strict = parse_document(raw), parse_document(raw, strict=True)
    assert lenient.reading_notes == ()
    assert render_job(lenient).data == render_job(strict).data


def test_a_mapping_given_by_the_caller_is_not_changed() -> None:
    document = {"Version": "2.0", "profile": {"model": "x"}, "commands": [{"type": "cut", "data": {"mode": "x"}}]}
    before = json.dumps(document)
    parse_document(document)
    assert json.dumps(document) == before


def test_kinds_of_commands_covered() -> None:
    # Every command type with a tolerated field appears above; a guard against a case list that silently shrinks.
    kinds = {type(command) for case in CASES for command in parse_document(copy.deepcopy(case.values[0])).commands}
    assert kinds.issuperset(
        (TextCommand, ImageCommand, BarcodeCommand, QrCommand, TableCommand, CutCommand, PulseCommand)
    )


def test_messages_after_a_skipped_command_name_the_command_as_the_client_numbered_it() -> None:
    document = parse_document(
        {
            "version": "1.0",
            "profile": {"model": "x"},
            "commands": [None, {"type": "teleport"}, {"type": "qr", "data": {"data": "é" * 1000, "correction": "H"}}],
        }
    )
    assert document.client_index(0) == 2
    with pytest.raises(DocumentError) as caught:
        render_job(document)
    assert str(caught.value).startswith("QR: data is 2000 bytes, too long")
    assert str(caught.value).endswith(" at command 2 (qr)")
