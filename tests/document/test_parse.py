"""A POS developer sends a document: it is accepted with the spec's defaults, or refused with one categorised
sentence naming the command and the field."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from conftest import require_shared, shared_examples
from ticket_daemon.document import DocumentError, parse_document
from ticket_daemon.document.model import (
    BarcodeCommand,
    BeepCommand,
    CutCommand,
    ImageCommand,
    PulseCommand,
    QrCommand,
    RawCommand,
    SeparatorCommand,
    TableCommand,
    TextCommand,
)


def doc(*commands: object, **profile: Any) -> dict[str, Any]:
    """A version 1 document; a command may be any JSON value, to show how a bad one is refused."""
    return {"version": "1.0", "profile": {"model": "Generic", **profile}, "commands": list(commands)}


def refused(raw: Any, *, strict: bool = False) -> str:
    with pytest.raises(DocumentError) as info:
        parse_document(raw, strict=strict)
    return str(info.value)


def test_minimal_document_gets_the_spec_defaults() -> None:
    document = parse_document(json.dumps(doc({"type": "text", "data": {"content": {"text": "Hola"}}})))
    assert document.profile.paper_width == 80
    assert document.profile.code_table == "WPC1252"
    assert document.profile.dpi == 203
    assert document.profile.has_qr is False
    command = document.commands[0]
    assert isinstance(command, TextCommand)
    assert command.data.new_line is True
    assert command.data.content.align == "left"
    style = command.data.content.content_style
    assert (style.bold, style.size, style.underline, style.inverse, style.font) == (False, "1x1", "0pt", False, "A")


def test_command_defaults_follow_document_md() -> None:
    document = parse_document(
        doc(
            {"type": "image", "data": {"code": "iVBORw0KGgo="}},
            {"type": "barcode", "data": {"symbology": "code128", "data": "ABC"}},
            {"type": "qr", "data": {"data": "hello"}},
            {"type": "table", "data": {"definition": {"columns": [{"name": "A", "width": 4}]}, "rows": [["x"]]}},
            {"type": "separator", "data": {}},
            {"type": "cut"},
            {"type": "raw", "data": {"hex": "1b40"}},
        )
    )
    image, barcode, qr, table, separator, cut, raw = document.commands
    assert isinstance(image, ImageCommand)
    assert (image.data.pixel_width, image.data.align, image.data.threshold) == (256, "center", 128)
    assert (image.data.dithering, image.data.scaling) == ("atkinson", "bilinear")
    assert isinstance(barcode, BarcodeCommand)
    assert (barcode.data.width, barcode.data.height, barcode.data.hri_position, barcode.data.hri_font) == (
        3,
        64,
        "below",
        "A",
    )
    assert isinstance(qr, QrCommand)
    assert (qr.data.pixel_width, qr.data.correction, qr.data.align) == (256, "M", "center")
    assert isinstance(table, TableCommand)
    assert table.data.show_headers is True
    options = table.data.options
    assert (options.header_bold, options.word_wrap, options.column_spacing, options.auto_reduce) == (
        True,
        True,
        1,
        True,
    )
    assert table.data.definition.columns[0].align == "left"
    assert isinstance(separator, SeparatorCommand)
    assert (separator.data.char, separator.data.length) == ("-", None)
    assert isinstance(cut, CutCommand)
    assert (cut.data.mode, cut.data.feed) == ("partial", 2)
    assert isinstance(raw, RawCommand)
    assert raw.data.payload == b"\x1b\x40"


def test_unknown_keys_are_ignored_everywhere() -> None:
    document = parse_document(
        {
            **doc({"type": "text", "data": {"content": {"text": "x", "content_style": {"align": "center"}}, "z": 1}}),
            "extra": True,
        }
    )
    assert isinstance(document.commands[0], TextCommand)


def test_enums_are_case_insensitive_where_the_spec_says_so() -> None:
    document = parse_document(
        doc(
            {"type": "barcode", "data": {"symbology": "EAN-13", "data": "4006381333931"}},
            {"type": "barcode", "data": {"symbology": "JAN8", "data": "96385074"}},
            {"type": "image", "data": {"code": "iVBORw0KGgo=", "scaling": "nns", "dithering": "Threshold"}},
            code_table="pc850",
        )
    )
    assert document.profile.code_table == "PC850"
    first, second, image = document.commands
    assert isinstance(first, BarcodeCommand) and first.data.symbology == "ean13"
    assert isinstance(second, BarcodeCommand) and second.data.symbology == "ean8"
    assert isinstance(image, ImageCommand) and image.data.scaling == "nearest"


def test_command_type_is_case_sensitive_and_unknown_types_are_errors_in_strict_mode() -> None:
    assert refused(doc({"type": "cut"}, {"type": "Text", "data": {}}), strict=True) == (
        "COMMAND: Unknown command type 'Text' at command 1"
    )


# Refused in strict mode; in lenient mode these print with the original engine's default (docs/document.md "Lenient
# (default) and strict"), each with a note. Every other case below is refused in both modes.
TOLERATED = {
    "VALIDATION: field 'version' major version must be 1, got '2.0'",
    "VALIDATION: profile: field 'code_table' must be one of",
    "VALIDATION: field 'content.content_style.size' must be 'WxH' … at command 0 (text)",
    "VALIDATION: field 'lines' must be greater … at command 0 (feed)",
    "VALIDATION: field 'pin' must be one of … at command 0 (pulse)",
    "VALIDATION: field 'mode' must be one of … at command 0 (cut)",
    "BARCODE: field 'symbology' 'pdf417' is not supported … at command 0 (barcode)",
    "VALIDATION: field 'width' must be less than or equal to 6 … at command 0 (barcode)",
}

BAD_DOCUMENTS = pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("{not json", "JSON: Invalid JSON at line 1 column 2"),
        ("[1, 2]", "JSON: document must be a JSON object, got a list"),
        (b"\xff\xfe", "JSON: "),
        ({"profile": {"model": "x"}, "commands": []}, "VALIDATION: field 'version' is required"),
        ({"version": "1.0", "profile": {"model": "x"}, "commands": []}, "VALIDATION: field 'commands' must hold"),
        (doc({"type": "cut"}) | {"version": "2.0"}, "VALIDATION: field 'version' major version must be 1, got '2.0'"),
        (doc({"type": "cut"}) | {"version": "one"}, "VALIDATION: field 'version' must look like \"1.0\""),
        (doc({"type": "cut"}, paper_width=59), "VALIDATION: profile: field 'paper_width' must be one of"),
        (doc({"type": "cut"}, dpi=250), "VALIDATION: profile: field 'dpi' must be one of"),
        (doc({"type": "cut"}, code_table="UTF8"), "VALIDATION: profile: field 'code_table' must be one of"),
        ({"version": "1.0", "profile": {}, "commands": [{"type": "cut"}]}, "VALIDATION: profile: field 'model'"),
        (doc({"type": "cut"}, model="   "), "VALIDATION: profile: field 'model' must have at least 1 character"),
        (doc("cut"), "VALIDATION: must be an object, got a string … at command 0 (?)"),
        (doc({"data": {}}), "VALIDATION: field 'type' is required … at command 0 (?)"),
        (doc({"type": "text", "data": {}}), "VALIDATION: field 'content' is required … at command 0 (text)"),
        (doc({"type": "text", "data": []}), "VALIDATION: field 'data' must be an object … at command 0 (text)"),
        (
            doc({"type": "text", "data": {"content": {"text": "x", "content_style": {"size": "9x1"}}}}),
            "VALIDATION: field 'content.content_style.size' must be 'WxH' … at command 0 (text)",
        ),
        (
            doc({"type": "text", "data": {"content": {"text": 5}}}),
            "VALIDATION: field 'content.text' must be a string, got 5 … at command 0 (text)",
        ),
        (
            doc({"type": "feed", "data": {"lines": 0}}),
            "VALIDATION: field 'lines' must be greater … at command 0 (feed)",
        ),
        (doc({"type": "feed", "data": {"lines": 256}}), "VALIDATION: field 'lines' must be less … at command 0 (feed)"),
        (doc({"type": "beep", "data": {"times": 0}}), "VALIDATION: field 'times' … at command 0 (beep)"),
        (doc({"type": "pulse", "data": {"pin": 2}}), "VALIDATION: field 'pin' must be one of … at command 0 (pulse)"),
        (
            doc({"type": "cut", "data": {"mode": "half"}}),
            "VALIDATION: field 'mode' must be one of … at command 0 (cut)",
        ),
        (
            doc({"type": "barcode", "data": {"symbology": "pdf417", "data": "1"}}),
            "BARCODE: field 'symbology' 'pdf417' is not supported … at command 0 (barcode)",
        ),
        (
            doc({"type": "barcode", "data": {"symbology": "ean13", "data": "12345"}}),
            "BARCODE: field 'data': EAN13 needs 12 or 13 digits … at command 0 (barcode)",
        ),
        (
            doc({"type": "barcode", "data": {"symbology": "ean13", "data": "4006381333932"}}),
            "BARCODE: field 'data': EAN13 check digit … at command 0 (barcode)",
        ),
        (
            doc({"type": "barcode", "data": {"symbology": "itf", "data": "123"}}),
            "BARCODE: field 'data': ITF needs an even number of digits … at command 0 (barcode)",
        ),
        (
            doc({"type": "barcode", "data": {"symbology": "code39", "data": "abc"}}),
            "BARCODE: field 'data': CODE39 cannot encode … at command 0 (barcode)",
        ),
        (
            doc({"type": "barcode", "data": {"symbology": "codabar", "data": "12345"}}),
            "BARCODE: field 'data': CODABAR data must start and end … at command 0 (barcode)",
        ),
        (
            doc({"type": "barcode", "data": {"symbology": "code128", "data": "ñ"}}),
            "BARCODE: field 'data': data must be printable ASCII … at command 0 (barcode)",
        ),
        (
            doc({"type": "barcode", "data": {"symbology": "code128", "data": "1", "width": 7}}),
            "VALIDATION: field 'width' must be less than or equal to 6 … at command 0 (barcode)",
        ),
        (doc({"type": "qr", "data": {"data": "x" * 7090}}), "QR: field 'data' is 7090 bytes … at command 0 (qr)"),
        (doc({"type": "qr", "data": {"data": ""}}), "QR: field 'data' is empty … at command 0 (qr)"),
        (doc({"type": "image", "data": {"code": ""}}), "IMAGE: field 'code' is empty … at command 0 (image)"),
        (
            doc({"type": "pulse", "data": {"on_time": 0}}),
            "VALIDATION: field 'on_time' must be greater … at command 0 (pulse)",
        ),
        (doc({"type": "raw", "data": {"hex": "1B 4"}}), "RAW: field 'hex' has an odd number … at command 0 (raw)"),
        (
            doc({"type": "raw", "data": {"hex": "1G"}}),
            "RAW: field 'hex' has a character that is not … at command 0 (raw)",
        ),
        (doc({"type": "raw", "data": {"hex": ""}}), "RAW: field 'hex' decodes to 0 bytes … at command 0 (raw)"),
        (doc({"type": "raw", "data": {"hex": "00" * 4097}}), "RAW: field 'hex' decodes to 4097 … at command 0 (raw)"),
        (
            doc({"type": "raw", "data": {"hex": "1B 70 00 19 FA", "safe_mode": True}}),
            # The original's text, byte for byte (two spaces after the colon), then the command it found.
            "RAW:  Blocked by safe_mode - potentially dangerous command (ESC p, … at command 0 (raw)",
        ),
        (
            doc(
                {
                    "type": "table",
                    "data": {"definition": {"columns": [{"name": "A", "width": 3}]}, "rows": [["a", "b"]]},
                }
            ),
            "TABLE: row 0 has 2 cells, expected 1 … at command 0 (table)",
        ),
        (
            doc({"type": "table", "data": {"definition": {"columns": [{"name": "A", "width": 0}]}, "rows": []}}),
            "VALIDATION: field 'definition.columns.0.width' must be greater than 0 … at command 0 (table)",
        ),
        (
            doc({"type": "image", "data": {"code": "@@@"}}),
            "IMAGE: field 'code' is not valid base64 … at command 0 (image)",
        ),
        (
            doc({"type": "image", "data": {"code": "iVBORw0KGgo=", "threshold": 300}}),
            "VALIDATION: field 'threshold' must be less than or equal to 255 … at command 0 (image)",
        ),
    ],
)


@BAD_DOCUMENTS
def test_bad_documents_get_one_categorised_sentence(document: Any, expected: str) -> None:
    message = refused(document if isinstance(document, (str, bytes)) else json.dumps(document), strict=True)
    # docs/document.md "Errors": the sentence comes first (clients match its start), the command it is about last.
    start, _, end = expected.partition(" … ")
    assert message.startswith(start), message
    assert message.endswith(end), message
    assert "\n" not in message


@BAD_DOCUMENTS
def test_lenient_reading_refuses_the_same_documents_except_what_the_original_printed(
    document: Any, expected: str
) -> None:
    raw = document if isinstance(document, (str, bytes)) else json.dumps(document)
    if expected in TOLERATED:
        notes = parse_document(raw).reading_notes
        assert len(notes) == 1, notes
        assert notes[0].split(":")[0] == expected.split(":")[0]
        return
    message = refused(raw)
    start, _, end = expected.partition(" … ")
    assert message.startswith(start), message
    assert message.endswith(end), message


def test_raw_hex_accepts_separators_prefixes_and_any_case() -> None:
    document = parse_document(doc({"type": "raw", "data": {"hex": "0x1b, 0X40:0a  1D 56 41 00"}}))
    raw = document.commands[0]
    assert isinstance(raw, RawCommand)
    assert raw.data.payload == b"\x1b\x40\x0a\x1d\x56\x41\x00"


def test_raw_base64_format() -> None:
    raw = parse_document(doc({"type": "raw", "data": {"hex": "G0A=", "format": "base64"}})).commands[0]
    assert isinstance(raw, RawCommand)
    assert raw.data.payload == b"\x1b\x40"


def test_image_accepts_a_data_uri_prefix() -> None:
    image = parse_document(doc({"type": "image", "data": {"code": "data:image/png;base64,iVBORw0KGgo="}})).commands[0]
    assert isinstance(image, ImageCommand)
    assert image.data.payload.startswith(b"\x89PNG")


def test_small_qr_width_is_raised_to_the_minimum() -> None:
    qr = parse_document(doc({"type": "qr", "data": {"data": "x", "pixel_width": 64}})).commands[0]
    assert isinstance(qr, QrCommand)
    assert qr.data.pixel_width == 87


def test_huge_and_deep_inputs_are_refused_without_crashing() -> None:
    assert refused("[" * 200_000).startswith("JSON: ")
    nested: Any = {"type": "cut"}
    for _ in range(100):
        nested = {"data": nested}
    assert refused(doc(nested)).startswith("JSON: document is nested more than")
    assert refused(" " * (5 * 1024 * 1024)).startswith("JSON: document is")
    huge_text = doc({"type": "text", "data": {"content": {"text": "x" * 70_000}}})
    assert "field 'content.text' must have at most" in refused(json.dumps(huge_text))
    many = doc(*([{"type": "feed"}] * 2001))
    assert refused(many).startswith("VALIDATION: field 'commands' has 2001 commands")


@pytest.mark.parametrize("path", shared_examples("legacy-format"), ids=lambda p: p.name)
def test_legacy_format_documents_are_refused_naming_the_field(path: Any) -> None:
    require_shared()
    message = refused(path.read_bytes())
    assert message.startswith("VALIDATION: field 'content'")
    assert re.search(r" at command \d+ \(text\)$", message), message


@pytest.mark.parametrize(
    "path", shared_examples("service") + shared_examples("library"), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_real_client_documents_are_accepted(path: Any) -> None:
    require_shared()
    assert parse_document(path.read_bytes()).commands


def test_error_messages_start_with_the_spec_sentence_and_end_with_the_command() -> None:
    # docs/document.md "Errors" gives literal texts clients match with startsWith; the location follows the sentence.
    table = {"definition": {"columns": [{"name": "A", "width": 3}]}, "rows": [["a", "b"]]}
    message = refused(doc({"type": "cut"}, {"type": "feed"}, {"type": "table", "data": table}))
    assert message == "TABLE: row 0 has 2 cells, expected 1 at command 2 (table)"


def test_a_lone_surrogate_is_dropped_from_the_text() -> None:
    raw = json.dumps(doc({"type": "text", "data": {"content": {"text": "caf\udce9"}}}))
    assert "\\udce9" in raw  # JSON carries the lone surrogate as an escape

    command = parse_document(raw).commands[0]

    assert isinstance(command, TextCommand)
    assert command.data.content.text == "caf"


def test_an_error_about_a_non_ascii_value_can_be_sent_back_as_utf8() -> None:
    message = refused(doc({"type": "cut", "data": {"mode": "m\u00e9dio\udce9"}}), strict=True)
    assert message.startswith("VALIDATION: field 'mode' must be one of")
    message.encode("utf-8")  # no surrogate left to break the reply


def test_null_optional_fields_mean_not_given() -> None:
    document = parse_document(
        json.dumps(
            doc(
                {
                    "type": "text",
                    "data": {
                        "content": {"text": "Hola", "content_style": None, "align": None},
                        "label": None,
                        "new_line": None,
                    },
                },
                {
                    "type": "table",
                    "data": {"definition": {"columns": [{"name": "A", "width": 4}]}, "rows": None, "options": None},
                },
                {"type": "image", "data": {"code": "iVBORw0KGgo=", "pixel_width": None}},
                {"type": "cut", "data": None},
                code_table=None,
                has_qr=None,
            )
            | {"debug_log": None}
        )
    )
    text, table, image, _ = document.commands
    assert isinstance(text, TextCommand) and isinstance(table, TableCommand) and isinstance(image, ImageCommand)
    assert text.data.new_line is True
    assert text.data.content.align == "left"
    assert text.data.content.content_style.size == "1x1"
    assert table.data.rows == []
    assert table.data.options.header_bold is True
    assert image.data.pixel_width == 256
    assert document.profile.code_table == "WPC1252"
    assert document.profile.has_qr is False
    assert document.debug_log is False


def test_null_in_a_required_field_is_reported_as_missing() -> None:
    assert refused(doc({"type": "text", "data": {"content": {"text": None}}})) == (
        "VALIDATION: field 'content.text' is required at command 0 (text)"
    )
    assert refused(doc({"type": "cut"}) | {"version": None}) == "VALIDATION: field 'version' is required"


def test_a_number_with_thousands_of_digits_is_a_json_error() -> None:
    raw = '{"version": "1.0", "profile": {"model": "x"}, "commands": [{"type": "feed", "data": {"lines": 1%s}}]}'
    message = refused(raw % ("0" * 5000))
    assert message == "JSON: document has a number with too many digits"


def test_out_of_range_times_and_widths_are_accepted_for_the_renderer_to_clamp() -> None:
    document = parse_document(
        doc(
            {"type": "pulse", "data": {"on_time": 100_000, "off_time": 20_000}},
            {"type": "beep", "data": {"times": 12, "lapse": 40}},
            {"type": "image", "data": {"code": "iVBORw0KGgo=", "pixel_width": 20_000}},
            {"type": "qr", "data": {"data": "x", "pixel_width": 20_000}},
        )
    )
    pulse, beep, image, qr = document.commands
    assert isinstance(pulse, PulseCommand) and isinstance(beep, BeepCommand)
    assert isinstance(image, ImageCommand) and isinstance(qr, QrCommand)
    assert (pulse.data.on_time, beep.data.times, image.data.pixel_width, qr.data.pixel_width) == (
        100_000,
        12,
        20_000,
        20_000,
    )


def test_the_profile_model_is_stripped_of_surrounding_spaces() -> None:
    assert parse_document(doc({"type": "cut"}, model="  58mm PT-210 ")).profile.model == "58mm PT-210"
