"""The render estimate (render/cost.py) stops counting a string's drawn characters once it is past the budget,
and decides exactly as a full count does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticket_daemon.document.limits import MAX_COMMANDS
from ticket_daemon.render import cost as cost_module
from ticket_daemon.render.cost import (
    CHEAP_CHAR_US,
    DRAWN_CHAR_US,
    HEAVY_COST_US,
    LAID_OUT_CHAR_US,
    MAX_SCANNED_CHARS,
    SCAN_CHUNK_CHARS,
    estimated_cost,
)

# What the render budget asks: where a document renders (up to HEAVY_COST_US) and how long a heavy one may hold a
# worker (up to the 10 s budget).
LIMITS = (HEAVY_COST_US, 10_000_000.0)
DRAWN = cost_module._DRAWN_CHARS


def text_document(content: str) -> dict[str, Any]:
    return {"version": "1.0", "commands": [{"type": "text", "data": {"content": {"text": content}}}]}


def full_count(content: str, *, extrapolate: bool) -> float:
    """The estimate of a text document (default code page) with every character of its sample counted."""
    # The command's other string ("type": "text") is counted too.
    base = cost_module.DOCUMENT_COST_US + cost_module.COMMAND_COST_US["text"] + len("text") * CHEAP_CHAR_US
    if content.isascii():
        return base + len(content) * CHEAP_CHAR_US
    if len(content) > MAX_SCANNED_CHARS and not extrapolate:
        return base + HEAVY_COST_US + 1
    sample = content[:MAX_SCANNED_CHARS]
    try:
        sample.encode("cp1252")  # prints as sent in WPC1252
        return base + len(content) * CHEAP_CHAR_US
    except UnicodeEncodeError:
        pass
    drawn = len(DRAWN.findall(sample)) * len(content) / len(sample)
    return base + (len(content) - drawn) * LAID_OUT_CHAR_US + drawn * DRAWN_CHAR_US


pieces = st.sampled_from(["Café con leche ", "1,50 €", "漢字", "テキスト", "ñ", " ", "😀", "Ωμέγα"])
texts = st.lists(st.tuples(pieces, st.integers(1, 12_000)), min_size=1, max_size=6).map(
    lambda parts: "".join(piece * count for piece, count in parts)
)


@settings(max_examples=120, deadline=None)
@given(content=texts)
def test_the_estimate_decides_as_a_full_count_does(content: str) -> None:
    for up_to in LIMITS:
        extrapolate = up_to > HEAVY_COST_US
        expected = full_count(content, extrapolate=extrapolate)
        got = estimated_cost(text_document(content), up_to=up_to)
        if expected <= up_to:
            assert got == pytest.approx(expected)
        else:
            assert got > up_to


class CountingPattern:
    """The drawn-character pattern, counting the characters it is asked to look at."""

    def __init__(self) -> None:
        self.looked_at = 0

    def findall(self, text: str, start: int, end: int) -> list[str]:
        self.looked_at += end - start
        return DRAWN.findall(text, start, end)


def test_a_long_text_of_drawn_characters_is_known_heavy_from_its_first_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    pattern = CountingPattern()
    monkeypatch.setattr(cost_module, "_DRAWN_CHARS", pattern)
    assert estimated_cost(text_document("漢字" * (MAX_SCANNED_CHARS // 2))) > HEAVY_COST_US
    assert pattern.looked_at == SCAN_CHUNK_CHARS


def test_text_that_stays_under_the_budget_is_counted_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    pattern = CountingPattern()
    monkeypatch.setattr(cost_module, "_DRAWN_CHARS", pattern)
    content = ("Café con leche " * 4_000)[:40_000] + "漢字"
    assert estimated_cost(text_document(content)) < HEAVY_COST_US
    assert pattern.looked_at == len(content)


class Untouched(list[Any]):
    """Commands the estimate must not walk."""

    def __iter__(self) -> Any:
        raise AssertionError("the commands were walked one by one")


def test_a_document_with_more_commands_than_any_valid_one_is_heavy_at_a_glance() -> None:
    commands = Untouched([{"type": "feed"}] * (MAX_COMMANDS + 1))
    for up_to in LIMITS:
        assert estimated_cost({"version": "1.0", "commands": commands}, up_to=up_to) > HEAVY_COST_US


def test_text_that_does_not_print_as_sent_in_its_page_is_charged_per_character() -> None:
    russian = "Привет мир " * 400  # 4 400 characters: ~5 ms laid out from PC866 on a WPC1252 page
    on_default_page = {"version": "1.0", "profile": {}, "commands": text_document(russian)["commands"]}
    on_russian_page = {"version": "1.0", "profile": {"code_table": "PC866"}, "commands": on_default_page["commands"]}
    assert estimated_cost(on_default_page) > 4_400 * LAID_OUT_CHAR_US
    assert estimated_cost(on_russian_page) < cost_module.ON_LOOP_COST_US  # printed as sent: encoded in C
    assert estimated_cost(text_document("Καλημέρα")) > 8 * DRAWN_CHAR_US * 0.9  # Greek: drawn on the Epson pages
    # PC866 has Russian and Ukrainian ї, not Ukrainian і: drawn.
    assert estimated_cost(text_document("Київ")) < cost_module.ON_LOOP_COST_US < DRAWN_CHAR_US
    assert estimated_cost(text_document("Львів")) > DRAWN_CHAR_US


def test_a_qr_code_never_renders_on_the_loop() -> None:
    shortest = {"version": "1.0", "commands": [{"type": "qr", "data": {"data": "x"}}]}
    assert estimated_cost(shortest) > cost_module.ON_LOOP_COST_US
