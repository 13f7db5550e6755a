"""The published JSON Schema of the v1 document, generated from the model so the two never disagree.

``python -m ticket_daemon.document.schema > schemas/document.schema.json`` regenerates the committed copy; a test
checks it is current. Unlike the original schema's ambiguous ``oneOf``, commands are discriminated by ``type``.
It describes the strict form, which is what the models enforce; lenient reading (the default) repairs a document
into that form first, so a document valid here prints the same in both modes.
"""

from __future__ import annotations

import json
from typing import Any

from .model import Document

SCHEMA_ID = "https://github.com/ticket-daemon/ticket-daemon/schemas/document.schema.json"


def document_schema() -> dict[str, Any]:
    schema = Document.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "ticket-daemon print document v1",
        "description": (
            "A printer profile plus an ordered list of commands. Unknown keys are ignored. This is the strict form; "
            "by default the daemon also prints documents the original engine printed with defaults, naming each "
            "substitution in the result (docs/document.md 'Lenient (default) and strict')."
        ),
        **{key: value for key, value in schema.items() if key != "title"},
    }


def schema_text() -> str:
    return json.dumps(document_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
