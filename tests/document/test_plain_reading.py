"""The plain reading (``read_plain``) takes a value exactly when the models take it: at each bound of each field it
reads, a document it takes is one the strict general reading takes, and one it leaves is one the models refuse or
lenient reading would change."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ticket_daemon.document import DocumentError, parse_document
from ticket_daemon.document.plaindoc import read_plain


def doc(*commands: Any, **profile: Any) -> dict[str, Any]:
    return {"version": "1.0", "profile": {"model": "80mm EC-PM-80250", **profile}, "commands": list(commands)}


def text(**data: Any) -> dict[str, Any]:
    return {"type": "text", "data": {"content": {"text": "Hola"}, **data}}


def table(columns: list[dict[str, Any]] | None = None, paper_width: int | None = None, **data: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {"columns": columns or [{"name": "A", "width": 5}]}
    if paper_width is not None:
        definition["paper_width"] = paper_width
    return {"type": "table", "data": {"definition": definition, **data}}


def column(width: int) -> list[dict[str, Any]]:
    return [{"name": "A", "width": width}]


LOGO = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="  # 1x1 PNG


def image(**data: Any) -> dict[str, Any]:
    return {"type": "image", "data": {"code": LOGO, **data}}


def barcode(**data: Any) -> dict[str, Any]:
    return {"type": "barcode", "data": {"symbology": "code128", "data": "A-000123", **data}}


def qr(**data: Any) -> dict[str, Any]:
    return {"type": "qr", "data": {"data": "https://example.com", **data}}


# Each field the plain reading bounds, just outside, at and just inside each of the models' bounds.
AT_THE_BOUNDS = [
    *[doc(image(pixel_width=n)) for n in (0, 1, 576, 10_000)],
    *[doc(image(threshold=n)) for n in (-1, 0, 255, 256)],
    *[doc(image(code=code)) for code in ("", "   ", "====", "not base64!", LOGO[:-4], f"data:image/png;base64,{LOGO}")],
    *[doc(image(dithering=name)) for name in ("atkinson", "threshold", "floyd")],
    *[doc(image(scaling=name)) for name in ("bilinear", "nearest", "bicubic")],
    *[doc(barcode(width=n)) for n in (1, 2, 6, 7)],
    *[doc(barcode(height=n)) for n in (0, 1, 255, 256)],
    *[doc(barcode(data="A" * n)) for n in (0, 1, 255, 256)],
    *[doc(barcode(symbology="ean13", data=data)) for data in ("4006381333931", "4006381333932", "400638133393")],
    *[doc(barcode(symbology="upca", data=data)) for data in ("03600029145", "036000291452", "0360002914")],
    *[doc(barcode(hri_position=name)) for name in ("none", "both", "left")],
    *[doc(barcode(hri_font=name)) for name in ("A", "B", "C")],
    *[doc(barcode(symbology=name)) for name in ("code128", "code39", "qr")],
    *[doc(qr(pixel_width=n)) for n in (87, 576, 10_000)],
    *[doc(qr(data="x" * n)) for n in (0, 1, 7089, 7090)],
    doc(qr(data="ñ" * 3544)),
    doc(qr(data="ñ" * 3545)),
    *[doc(qr(correction=name)) for name in ("L", "H", "X")],
    *[doc(qr(human_text="x" * n)) for n in (0, 1, 65_536, 65_537)],
    *[doc({"type": "feed", "data": {"lines": n}}) for n in (0, 1, 255, 256)],
    *[doc({"type": "cut", "data": {"feed": n}}) for n in (-1, 0, 255, 256)],
    *[doc({"type": "separator", "data": {"length": n}}) for n in (0, 1, 1000, 1001)],
    *[doc({"type": "separator", "data": {"char": "=" * n}}) for n in (0, 1, 64, 65)],
    *[doc({"type": "pulse", "data": {"pin": n}}) for n in (-1, 0, 1, 2)],
    *[doc({"type": "pulse", "data": {"on_time": n, "off_time": n}}) for n in (0, 1)],
    *[doc({"type": "beep", "data": {"times": n, "lapse": n}}) for n in (0, 1)],
    *[doc(text(label={"text": "Total", "separator": ":" * n})) for n in (200, 201)],
    *[doc({"type": "text", "data": {"content": {"text": "x" * n}}}) for n in (65_536, 65_537)],
    *[doc(table(column(n))) for n in (0, 1, 48, 1000, 1001)],
    *[doc(table([{"name": "x", "width": 1}] * n, options={"auto_reduce": False})) for n in (0, 1, 16, 64, 65)],
    *[doc(table(column(5), options={"column_spacing": n})) for n in (-1, 0, 32, 33)],
    *[doc(table(column(5), paper_width=n, rows=[["x"]] * 5)) for n in (0, 1, 1000, 1001)],
    doc(table(rows=[["x"]] * 20_000)),
    doc(table(rows=[["x"]] * 20_001)),
    doc(table(rows=[[10**15 - 1]])),
    doc(table(rows=[[-(10**15) + 1]])),
    *[doc(text(), paper_width=n) for n in (57, 58, 80, 81)],
    *[doc(text(), dpi=n) for n in (200, 203, 300)],
    *[doc(text(), code_table=name) for name in ("PC850", "pc850", "CP999", "")],
    doc(text(), model="   "),
]


def strictly_valid(document: dict[str, Any]) -> bool:
    try:
        parse_document(copy.deepcopy(document), strict=True)
    except DocumentError:
        return False
    return True


@pytest.mark.parametrize("document", AT_THE_BOUNDS)
def test_the_plain_reading_takes_a_value_exactly_when_the_models_do(document: dict[str, Any]) -> None:
    assert (read_plain(document) is not None) == strictly_valid(document)


@pytest.mark.parametrize(
    "document",
    [
        # Values the models take that the plain reading leaves to them: spellings it does not know, numbers past
        # the everyday range, nulls (read as "not given"), numbers where the models read them as text or flags.
        doc(text(new_line=None)),
        doc({"type": "text", "data": {"content": {"text": "x", "align": " center "}}}),
        doc({"type": "text", "data": {"content": {"text": "x", "content_style": {"underline": 1}}}}),
        doc({"type": "text", "data": {"content": {"text": "x", "content_style": {"size": " 2x2"}}}}),
        doc({"type": "pulse", "data": {"on_time": 10**7}}),
        doc(table(rows=[[1.5]])),
        doc(table(rows=[[10**15]])),
        doc(text(), has_qr=None),
        # Spellings lenient reading mends or the models map, and what plain reading does not draw.
        doc(image(dithering="Atkinson")),
        doc(image(scaling="nns")),
        doc(barcode(symbology="CODE128")),
        doc(barcode(hri_position="Below")),
        doc(qr(correction="m")),
        doc(qr(pixel_width=86)),
        doc(qr(human_text=None)),
        doc(qr(circle_shape=False)),
        doc(qr(circle_shape=True)),
        doc(qr(logo=LOGO)),
    ],
)
def test_values_the_models_read_another_way_are_left_to_them(document: dict[str, Any]) -> None:
    assert strictly_valid(document) or parse_document(copy.deepcopy(document)) is not None
    assert read_plain(document) is None


def test_a_profile_too_long_to_remember_is_left_to_the_general_reading() -> None:
    # The model name is stripped before its length is checked: valid, but not worth keeping in the profile cache.
    document = doc(text(), model=" " * 300 + "TM-T20II")
    assert strictly_valid(document)
    assert read_plain(document) is None
