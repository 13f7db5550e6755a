"""Every document the existing POS clients send prints; documents in the old pre-v1 format are refused with a
sentence naming the field (DOCUMENT.md: "every document the original Go engine printed must print here too")."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import require_shared, shared_examples
from ticket_daemon.document import DocumentError, parse_document
from ticket_daemon.escpos import profile_for, render_job

PRINTABLE = shared_examples("service") + shared_examples("library")
LEGACY = shared_examples("legacy-format")


@pytest.mark.parametrize("path", PRINTABLE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_client_document_renders(path: Path) -> None:
    require_shared()
    document = parse_document(path.read_bytes())
    profile = profile_for(document.profile)
    job = render_job(document, profile)
    assert job.data.startswith(b"\x1b\x40\x1b\x74")  # ESC @, ESC t n
    assert all(note.startswith("TEXT: ") for note in job.notes)


@pytest.mark.parametrize("path", LEGACY, ids=lambda p: p.name)
def test_legacy_format_document_is_refused_naming_the_field(path: Path) -> None:
    require_shared()
    with pytest.raises(DocumentError) as caught:
        parse_document(path.read_bytes())
    message = str(caught.value)
    assert message.startswith("VALIDATION: ")
    assert "field '" in message


def test_the_shared_examples_are_all_there() -> None:
    require_shared()
    assert len(PRINTABLE) >= 20
    assert len(LEGACY) >= 3
