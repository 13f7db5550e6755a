"""The published JSON Schema is generated from the model, is current, and agrees with the parser."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conftest import EXAMPLES, REPO, require_shared, shared_examples
from ticket_daemon.document.schema import document_schema, schema_text

PUBLISHED = REPO / "schemas" / "document.schema.json"


def test_published_schema_is_current() -> None:
    assert PUBLISHED.read_text(encoding="utf-8") == schema_text(), (
        "regenerate with: python -m ticket_daemon.document.schema > schemas/document.schema.json"
    )


def validator() -> jsonschema.Draft202012Validator:
    schema = document_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_our_examples_validate_against_the_schema(path: Path) -> None:
    errors = list(validator().iter_errors(json.loads(path.read_text(encoding="utf-8"))))
    assert errors == []


@pytest.mark.parametrize(
    "path", shared_examples("service") + shared_examples("library"), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_real_client_documents_validate_against_the_schema(path: Path) -> None:
    require_shared()
    assert list(validator().iter_errors(json.loads(path.read_text(encoding="utf-8")))) == []


@pytest.mark.parametrize("path", shared_examples("legacy-format"), ids=lambda p: p.name)
def test_legacy_documents_do_not_validate(path: Path) -> None:
    require_shared()
    assert list(validator().iter_errors(json.loads(path.read_text(encoding="utf-8"))))


@pytest.mark.parametrize(
    "command",
    [
        {"type": "text", "data": {"content": {"text": "x", "align": "middle"}}},
        {"type": "text", "data": {"content": {"text": "x", "content_style": {"size": "big"}}}},
        {"type": "text", "data": {"content": {"text": "x", "content_style": {"font": "C"}}}},
        {"type": "cut", "data": {"mode": "half"}},
        {"type": "barcode", "data": {"symbology": "pdf417", "data": "1"}},
        {"type": "barcode", "data": {"symbology": "code128", "data": "1", "width": 7}},
        {"type": "image", "data": {"code": "iVBORw0KGgo=", "dithering": "floyd"}},
        {"type": "pulse", "data": {"pin": 5}},
        {"type": "feed", "data": {"lines": 0}},
    ],
)
def test_the_schema_is_the_strict_form(command: dict[str, object]) -> None:
    # docs/document.md "Lenient (default) and strict": lenient reading prints these with a default; the schema does not
    # promise them.
    document = {"version": "1.0", "profile": {"model": "x"}, "commands": [command]}
    assert list(validator().iter_errors(document))


def test_the_schema_takes_any_letter_case_and_spelling_the_parser_takes() -> None:
    commands = [
        {"type": "text", "data": {"content": {"text": "x", "align": " Center ", "content_style": {"size": "2X1"}}}},
        {"type": "barcode", "data": {"symbology": "EAN-13", "data": "4006381333931"}},
        {"type": "barcode", "data": {"symbology": "Code 128", "data": "x"}},
        {"type": "cut", "data": {"mode": "FULL"}},
    ]
    document = {"version": "1.0", "profile": {"model": "x", "code_table": "pc850"}, "commands": commands}
    assert list(validator().iter_errors(document)) == []
