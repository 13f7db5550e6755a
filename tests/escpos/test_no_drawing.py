"""Typefaces that may not draw (render/pool.py hands them to renders on the event loop): text that no code page
prints raises TextNeedsDrawing before anything is drawn; everything else prints the same bytes."""

from __future__ import annotations

from typing import Any

import pytest

from ticket_daemon.document import parse_document
from ticket_daemon.document.plaindoc import read_plain
from ticket_daemon.escpos import render_job
from ticket_daemon.escpos.typefaces import BUILT_IN, NO_DRAWING, TextNeedsDrawing


def receipt(*commands: dict[str, Any]) -> dict[str, Any]:
    return {"version": "1.0", "profile": {"model": "80mm EC-PM-80250"}, "commands": list(commands)}


def text(content: str) -> dict[str, Any]:
    return {"type": "text", "data": {"content": {"text": content}}}


def table(*cells: str) -> dict[str, Any]:
    columns = [{"name": f"c{n}", "width": 12} for n in range(len(cells))]
    return {"type": "table", "data": {"definition": {"columns": columns}, "rows": [list(cells)]}}


PRINTABLE = [
    receipt(text("Café con leche 1,50 €")),
    receipt(text("Привет, мир"), text("Łódź őrült")),  # other Epson pages, switched to for a run
    receipt(table("Ωmega ≤ 3", "naïve")),  # Ω is in PC437; ≤ has a stand-in
]
DRAWN = [
    receipt(text("Καλημέρα")),  # Greek: no Epson page has it all
    receipt(text("Total"), text("漢字")),
    receipt(table("Ђорђе", "1")),  # Serbian Cyrillic is not in PC866
    receipt({"type": "separator", "data": {"char": "☃"}}),
]


@pytest.mark.parametrize("datos", PRINTABLE)
def test_text_that_a_code_page_prints_gives_the_same_bytes_without_drawing(datos: dict[str, Any]) -> None:
    for document in (read_plain(datos), parse_document(datos)):
        assert document is not None
        assert render_job(document, typefaces=NO_DRAWING).data == render_job(document, typefaces=BUILT_IN).data


@pytest.mark.parametrize("datos", DRAWN)
def test_text_to_draw_is_refused_by_typefaces_that_may_not_draw(datos: dict[str, Any]) -> None:
    for document in (read_plain(datos), parse_document(datos)):
        assert document is not None
        assert render_job(document, typefaces=BUILT_IN).data  # drawn when drawing is allowed
        with pytest.raises(TextNeedsDrawing):
            render_job(document, typefaces=NO_DRAWING)
