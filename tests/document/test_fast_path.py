"""The parser's fast path (one validation of the document as sent) reads every document exactly as the general
reading does: the same models (down to the fields the client set), the same notes, the same refusal, word for
word. It may only be faster."""

from __future__ import annotations

import base64
import copy
import json
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from conftest import EXAMPLES, shared_examples
from ticket_daemon.document import DocumentError, parse_document
from ticket_daemon.document.asis import readable_as_is
from ticket_daemon.document.limits import MAX_JSON_DEPTH
from ticket_daemon.document.parse import _read_at_once, read_step_by_step
from ticket_daemon.document.payloads import decode_base64_payload

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json")) + [
    path for group in ("service", "library", "legacy-format") for path in shared_examples(group)
]
PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="


def snapshot(value: Any) -> Any:
    """Everything observable about a parsed value: each model's class, the fields its client set, every field's
    value and exact type."""
    if isinstance(value, BaseModel):
        fields = {name: snapshot(getattr(value, name)) for name in type(value).model_fields}
        return (type(value).__name__, sorted(value.model_fields_set), fields)
    if isinstance(value, (list, tuple)):
        return [snapshot(item) for item in value]
    if isinstance(value, Enum):
        return (type(value).__name__, value.value)
    return (type(value).__name__, value)


def outcome(read: Any, document: Any, *, strict: bool) -> Any:
    try:
        parsed = read(copy.deepcopy(document), strict=strict)
    except DocumentError as error:
        return ("refused", str(error))
    positions = range(len(parsed.commands))
    return ("read", snapshot(parsed), parsed.reading_notes, [parsed.client_index(i) for i in positions])


def assert_same_reading(document: Any) -> None:
    for strict in (False, True):
        sent = copy.deepcopy(document)
        fast = outcome(parse_document, document, strict=strict)
        assert fast == outcome(read_step_by_step, document, strict=strict)
        assert document == sent  # neither reading changes the client's objects


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_example_reads_the_same_both_ways(path: Path) -> None:
    assert_same_reading(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_the_fast_path_answers_for_the_repository_examples(path: Path) -> None:
    # They are plain, valid documents: the fast path must take them, or it would speed nothing up.
    document = json.loads(path.read_text(encoding="utf-8"))
    assert readable_as_is(document)
    assert _read_at_once(document, strict=False) is not None


def text(content: Any) -> dict[str, Any]:
    return {"type": "text", "data": {"content": content}}


def doc(*commands: Any, version: Any = "1.0", **profile: Any) -> dict[str, Any]:
    return {"version": version, "profile": {"model": "Generic", **profile}, "commands": list(commands)}


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(doc(text({"text": "Hola", "Align": "center"})), id="key-in-another-case"),
        pytest.param({"Version": "1.0", "profile": {"model": "M"}, "commands": [text({"text": "x"})]}, id="top-key"),
        pytest.param(doc(text({"text": "caf\udce9"})), id="lone-surrogate"),
        pytest.param(doc(text({"text": "x", "caf\udce9": 1})), id="lone-surrogate-in-key"),
        pytest.param(doc(text({"text": "x"}), version="1.7"), id="version-minor"),
        pytest.param(doc(text({"text": "x"}), version="2.0"), id="version-read-as-1.0"),
        pytest.param(doc(text({"text": "x", "align": "middle"})), id="unknown-enum"),
        pytest.param(doc(None, text({"text": "x"})), id="null-command"),
        pytest.param(doc({"type": "bogus"}, text({"text": "x"})), id="unknown-type"),
        pytest.param(doc(text({"text": "x"}), code_table="CP999"), id="unknown-code-table"),
        pytest.param(doc({"type": "qr", "data": {"data": "x", "logo": "aGVsbG8gd29ybGQ="}}), id="logo-no-image"),
        pytest.param(doc({"type": "qr", "data": {"data": "x", "logo": PNG_1X1}}), id="logo-image"),
        pytest.param(doc({"type": "qr", "data": {"data": "x", "logo": "   "}}), id="logo-blank"),
        pytest.param(doc({"type": "text", "data": {"label": {"text": "only label"}}}), id="label-alone"),
        pytest.param(doc({"type": "feed", "data": {"lines": 0}}), id="feed-zero"),
        pytest.param(doc({"type": "barcode", "data": {"symbology": "code128", "data": "A", "width": 9}}), id="clamp"),
        pytest.param(doc(text({"text": "x"}), has_qr=None), id="null-in-profile"),
        pytest.param({**doc(text({"text": "x"})), "debug_log": True}, id="debug-log"),
        pytest.param({**doc(text({"text": "x"})), "debug_log": None}, id="debug-log-null"),
        pytest.param(doc(text({"text": "x", "extra": (1, "caf\udce9")})), id="tuple-scalar"),
        pytest.param(doc(text({"text": "x", 7: "seven"})), id="non-string-key"),
        pytest.param(doc(text({"text": "x"}), paper_width=58.0), id="float-width"),
        pytest.param(doc(text({"text": "x"}), paper_width=True), id="bool-width"),
        pytest.param(doc(*[{"type": "feed"}] * 2001), id="too-many-commands"),
        pytest.param(doc(), id="no-commands"),
        pytest.param({"version": "1.0", "profile": {"model": "M"}}, id="no-commands-key"),
    ],
)
def test_documents_lenient_reading_changes_read_the_same_both_ways(document: Any) -> None:
    assert_same_reading(document)


def nested(levels: int) -> dict[str, Any]:
    """A cut command whose data holds ``levels`` more dicts, the innermost empty."""
    inner: dict[str, Any] = {}
    for _ in range(levels):
        inner = {"data": inner}
    return {"type": "cut", "extra": inner}


@pytest.mark.parametrize("levels", range(MAX_JSON_DEPTH - 6, MAX_JSON_DEPTH + 2))
def test_nesting_around_the_limit_reads_the_same_both_ways(levels: int) -> None:
    # The root is level 1, each command level 3, so the innermost dict sits at level levels + 4.
    assert_same_reading(doc(nested(levels)))


# --- generated documents: commands from the examples, then changed the way real clients get things wrong -----

SEED_COMMANDS = [
    command
    for path in EXAMPLE_FILES
    for command in json.loads(path.read_text(encoding="utf-8")).get("commands", [])
    if isinstance(command, dict) and isinstance(command.get("data"), dict) and len(json.dumps(command)) < 4000
]
ODD_VALUES = st.sampled_from(
    [
        *(None, 0, -1, 1, 2, 7, 300, 1.5, True, False),
        *("", "x", "CENTER", "Middle", "3x3", "9x9", "B", "nns", "caf\udce9"),
        *([], {}, ["a"], {"text": "t"}),
    ]
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            found += paths(child, (*prefix, i))
    return found


def parent_of(root: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        root = root[part]
    return root


@st.composite
def client_documents(draw: st.DrawFn) -> dict[str, Any]:
    commands = copy.deepcopy(draw(st.lists(st.sampled_from(SEED_COMMANDS), min_size=1, max_size=4)))
    document = doc(*commands, version=draw(st.sampled_from(["1.0", "1.0", "1.2", "2.0", "01.0", "x"])))
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(paths(document)[1:]))
        container = parent_of(document, path)
        action = draw(st.sampled_from(["value", "value", "key-case", "drop", "unknown-key"]))
        if action == "value":
            container[path[-1]] = copy.deepcopy(draw(ODD_VALUES))
        elif isinstance(container, dict) and action == "key-case":
            key = path[-1]
            container[draw(st.sampled_from([key.upper(), key.title(), key.swapcase()]))] = container.pop(key)
        elif isinstance(container, dict) and action == "drop":
            del container[path[-1]]
        elif isinstance(container, dict):
            container["unknown"] = copy.deepcopy(draw(ODD_VALUES))
    return document


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(client_documents())
def test_generated_documents_read_the_same_both_ways(document: dict[str, Any]) -> None:
    assert_same_reading(document)


def test_remembered_base64_decodes_as_before_and_bad_base64_is_refused_every_time() -> None:
    # Base64 texts are remembered with their bytes (a shop's logo on every ticket): the same answer each time.
    logo = "data:image/png;base64," + PNG_1X1[:20] + "\n" + PNG_1X1[20:]
    assert decode_base64_payload(logo) == decode_base64_payload(logo) == base64.b64decode(PNG_1X1)
    bad = doc({"type": "image", "data": {"code": "not base64!"}})
    for _ in range(2):
        with pytest.raises(DocumentError, match="IMAGE: field 'code' is not valid base64 image data at command 0"):
            parse_document(bad)
