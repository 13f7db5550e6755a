"""The protocol's strict JSON (protocol/jsontext.py), without a socket: what is refused, with which sentence, and that
nothing the server writes can be something a browser's JSON.parse throws on."""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticket_daemon.document.errors import TicketError
from ticket_daemon.protocol import jsontext, messages


def _strict(text: str) -> Any:
    def refuse(token: str) -> NoReturn:
        raise ValueError(f"not JSON: {token}")

    text.encode("utf-8")  # a lone surrogate cannot be sent as UTF-8
    return json.loads(text, parse_constant=refuse)


def _refusal(text: str) -> str:
    with pytest.raises(TicketError) as raised:
        jsontext.decode(text)
    return str(raised.value)


def test_plain_messages_decode_as_the_standard_library_reads_them() -> None:
    text = '{"tipo":"ping","id":"p-1","n":[1,2.5,-3,true,null],"s":"ñ 漢 🍕"}'
    assert jsontext.decode(text) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"tipo":"ping","id":NaN}', "JSON: NaN is not a JSON number at line 1 column 21"),
        ('{"id":-Infinity}', "JSON: -Infinity is not a JSON number at line 1 column 7"),
        ('{"id":1e400}', "JSON: number out of range at line 1 column 7 (JSON numbers must be finite)"),
        ('{"id":' + "9" * 5000 + "}", "JSON: number too long at line 1 column 7 (more than 64 digits)"),
        ('{"a":\n "\\ud83c", "id":' + "1" * 400 + "}", "JSON: number too long at line 2 column 17"),
        ("[" * 5000 + "]" * 5000, "JSON: message is nested too deeply"),
        ("{not json", "JSON: Invalid JSON at line 1 column 2"),
    ],
)
def test_what_is_not_strict_json_is_refused_with_a_json_sentence(text: str, expected: str) -> None:
    assert _refusal(text).startswith(expected)


def test_a_lone_surrogate_escape_is_read_so_the_field_holding_it_can_be_named() -> None:
    message = jsontext.decode('{"tipo":"ping","id":"\\ud83c"}')
    assert message == {"tipo": "ping", "id": "\ud83c"}
    with pytest.raises(TicketError) as raised:
        jsontext.check_text_fields(message)
    assert str(raised.value) == "VALIDATION: field 'id' is not valid text (lone UTF-16 surrogate)"
    with pytest.raises(TicketError, match="field 'printer'"):
        jsontext.check_text_fields({"tipo": "ticket", "printer": "caja\udc00"})
    jsontext.check_text_fields({"tipo": "ticket", "id": "🍕", "printer": 7})  # valid text, or not text at all


def test_64_digit_integers_are_still_numbers_read_as_a_browser_reads_them() -> None:
    # Beyond 64 bits orjson gives the nearest double, as JavaScript's JSON.parse does.
    assert jsontext.decode('{"id":' + "9" * 64 + "}") == {"id": 1e64}
    assert jsontext.decode('{"id":' + "9" * 64 + ',"x":"\\udc00"}')["id"] == int("9" * 64)


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, "cut \ud83c emoji", 2**200, {"\udc00": 1}, {3: "int key"}, (1, 2), b"x"],
)
def test_encode_always_gives_strict_json(value: object) -> None:
    text = messages.encode(messages.pong(None) | {"id": value})
    parsed = _strict(text)
    assert parsed["tipo"] == "pong"


def test_encode_keeps_ordinary_messages_as_the_original_wrote_them() -> None:
    ack = messages.ack("pos1-001", current=3, capacity=100)
    assert messages.encode(ack) == json.dumps(ack, ensure_ascii=False, separators=(",", ":"))
    assert messages.encode({"mensaje": "ñ"}) == '{"mensaje":"ñ"}'


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(st.characters(codec=None)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_anything_json_shaped_encodes_to_strict_json(value: object) -> None:
    _strict(messages.encode({"tipo": "x", "value": value}))


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80) | json_values.map(lambda v: json.dumps(v, allow_nan=True)))
def test_decode_never_raises_anything_but_a_categorised_error(text: str) -> None:
    try:
        value = jsontext.decode(text)
    except TicketError as error:
        assert str(error).startswith("JSON: ")
    else:
        _strict(json.dumps(jsontext.sanitised(value), allow_nan=False))


def test_bytes_that_are_not_utf8_are_refused_where_they_break() -> None:
    with pytest.raises(TicketError) as raised:
        jsontext.decode(b'{"tipo":"ping","id":"caf\xe9"}')
    assert str(raised.value) == "JSON: the message is not UTF-8 text (invalid byte at offset 24)"


def test_a_message_must_be_an_object() -> None:
    with pytest.raises(TicketError) as raised:
        jsontext.read_object(b"[1, 2]")
    assert str(raised.value) == "JSON: a message must be a JSON object, got a list"
