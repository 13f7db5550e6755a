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
