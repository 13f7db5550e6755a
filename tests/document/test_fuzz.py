"""Whatever a client sends, the parser answers with a document or one DocumentError — never anything else."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ticket_daemon.document import DocumentError, parse_document
from ticket_daemon.document.model import COMMAND_MODELS

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)
field_names = st.sampled_from(
    [
        "text",
        "content",
        "label",
        "data",
        "code",
        "symbology",
        "rows",
        "definition",
        "columns",
        "width",
        "hex",
        "format",
        "size",
        "bold",
        "align",
        "lines",
        "mode",
        "feed",
        "pin",
        "times",
        "char",
        "length",
        "correction",
        "content_style",
        "safe_mode",
        "pixel_width",
        "name",
        "options",
        "show_headers",
        "new_line",
    ]
)
data_objects = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(field_names, children, max_size=5),
    max_leaves=25,
)
commands = st.fixed_dictionaries({"type": st.sampled_from([*COMMAND_MODELS, "bogus"]), "data": data_objects})


def outcome(raw: Any) -> None:
    try:
        parse_document(raw)
    except DocumentError as error:
        text = str(error)
        assert text.split(":", 1)[0].isupper() and ": " in text
        assert "\n" not in text


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_is_answered(value: Any) -> None:
    outcome(json.dumps(value))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_answered(raw: bytes) -> None:
    outcome(raw)


@settings(max_examples=500, deadline=None)
@given(st.lists(commands, min_size=1, max_size=4), data_objects)
def test_plausible_documents_with_junk_fields_are_answered(items: list[dict[str, Any]], profile: Any) -> None:
    outcome({"version": "1.0", "profile": profile, "commands": items})
    outcome({"version": "1.0", "profile": {"model": "x"}, "commands": items})
