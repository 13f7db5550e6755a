"""Plain documents (text, separators, tables, feeds, cuts, pulse, beep, images, barcodes and QR codes as
docs/document.md spells them) are read
without the models and laid out from the values read: the printer gets the very bytes, and the client the very
notes and refusals, that the general reading and renderer give. Anything the plain reading does not fully
understand is left to the general reading."""

from __future__ import annotations

import base64
import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import EXAMPLES, shared_examples
from ticket_daemon.document import DocumentError, parse_document
from ticket_daemon.document.barcodes import SYMBOLOGIES, barcode_problem
from ticket_daemon.document.codetables import CODE_TABLE_NAMES
from ticket_daemon.document.model import Document
from ticket_daemon.document.plaindoc import PlainDocument, read_plain
from ticket_daemon.escpos import profile_for, render_job
from ticket_daemon.escpos.printerdb import ModelProfile, find_model, model_profiles
from ticket_daemon.printers.registry import ConfiguredPrinter, PrinterRegistry
from ticket_daemon.render import job

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json")) + [
    path for group in ("service", "library", "legacy-format") for path in shared_examples(group)
]
# Printers of known models, with their own page lists and ESC t numbers (the one with the most pages first).
MODELS: list[ModelProfile | None] = [
    None,
    *sorted(model_profiles().values(), key=lambda model: -len(model.code_pages))[:2],
    find_model("TM-T20II"),
    find_model("TM-U220"),
]

# What receipts hold, and what makes the encoder work: accents, other pages' letters, drawn characters,
# decomposed accents, line breaks and tabs, typographic punctuation.
LETTERS = st.sampled_from(
    [
        *"Aa zZ09$.,:-=*#()",
        *"áéíóúñÑüÜ¿¡€£ç",
        *"ЖжΩőł“”…",
        "中",
        "e\u0301",
        *"\n\t",
    ]
)
TEXTS = st.lists(LETTERS, max_size=10).map("".join)
WORDS = st.lists(st.sampled_from(["Artículo", "x", "Supercalifragilístico", "€12.50", "  ", "Ñandú"]), max_size=5).map(
    " ".join
)
ALIGNS = st.sampled_from(["left", "center", "right", "CENTER", "Right"])


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict holding any subset of ``fields``."""
    return st.fixed_dictionaries({}, optional=fields)


STYLES = optional(
    bold=st.booleans(),
    size=st.sampled_from(["1x1", "2x2", "2X1", "1x2", "8x8"]),
    underline=st.sampled_from(["0pt", "1pt", "2pt"]),
    inverse=st.booleans(),
    font=st.sampled_from(["A", "B", "b"]),
)


@st.composite
def text_commands(draw: st.DrawFn) -> dict[str, Any]:
    content = {"text": draw(TEXTS)} | draw(optional(content_style=STYLES, align=ALIGNS))
    data: dict[str, Any] = {"content": content} | draw(optional(new_line=st.booleans()))
    if draw(st.booleans()):
        data["label"] = draw(
            optional(text=TEXTS, label_style=STYLES, separator=st.sampled_from([": ", " - ", "", " "]), align=ALIGNS)
        )
    return {"type": "text", "data": data}


@st.composite
def table_commands(draw: st.DrawFn) -> dict[str, Any]:
    columns = draw(
        st.lists(
            st.fixed_dictionaries({"width": st.integers(1, 20)}, optional={"name": TEXTS | WORDS, "align": ALIGNS}),
            min_size=1,
            max_size=4,
        )
    )
    cells = TEXTS | WORDS | st.integers(-5, 10**6)
    rows = draw(st.lists(st.lists(cells, min_size=len(columns), max_size=len(columns)), max_size=4))
    data: dict[str, Any] = {"definition": {"columns": columns} | draw(optional(paper_width=st.integers(10, 60)))}
    data |= draw(optional(show_headers=st.booleans()))
    rows_given = draw(st.booleans())
    if rows or rows_given:
        data["rows"] = rows
    data |= draw(
        optional(
            options=optional(
                header_bold=st.booleans(),
                word_wrap=st.booleans(),
                column_spacing=st.integers(0, 3),
                align=ALIGNS,
                auto_reduce=st.booleans(),
            )
        )
    )
    return {"type": "table", "data": data}


def png_base64(width: int, height: int, mode: str) -> str:
    """A small PNG made here, as base64 (the pixels vary, so dithering and thresholds matter)."""
    picture = Image.new(mode, (width, height))
    picture.putdata([(x * 37 + y * 11) % 256 for y in range(height) for x in range(width)])
    encoded = io.BytesIO()
    picture.save(encoded, format="PNG")
    return base64.b64encode(encoded.getvalue()).decode("ascii")


IMAGES = [png_base64(1, 1, "L"), png_base64(40, 12, "L"), png_base64(9, 30, "L")]
IMAGE_CODES = st.sampled_from([*IMAGES, f"data:image/png;base64,{IMAGES[1]}"])
# Barcode data each symbology prints as written (the others are the general reading's to refuse or mend).
BARCODES = [
    (symbology, data)
    for symbology in SYMBOLOGIES
    for data in ["03600029145", "036000291452", "4006381333931", "96385074", "0123456", "A-000123", "12345678", "A1B2"]
    if barcode_problem(symbology, data) is None
]
QR_DATA = st.sampled_from(["https://example.com/factura?folio=A-000123", "Hola", "ñandú €12", "1234567890", "中文"])
SYMBOLS = st.one_of(
    st.builds(
        lambda code, rest: {"type": "image", "data": {"code": code} | rest},
        IMAGE_CODES,
        optional(
            pixel_width=st.integers(1, 700),
            align=ALIGNS,
            threshold=st.integers(0, 255),
            dithering=st.sampled_from(["atkinson", "threshold"]),
            scaling=st.sampled_from(["bilinear", "nearest"]),
        ),
    ),
    st.builds(
        lambda symbol, rest: {"type": "barcode", "data": {"symbology": symbol[0], "data": symbol[1]} | rest},
        st.sampled_from(BARCODES),
        optional(
            width=st.integers(2, 6),
            height=st.integers(1, 255),
            hri_position=st.sampled_from(["none", "above", "below", "both"]),
            hri_font=st.sampled_from(["A", "B"]),
            align=ALIGNS,
        ),
    ),
    st.builds(
        lambda data, rest: {"type": "qr", "data": {"data": data} | rest},
        QR_DATA,
        optional(
            human_text=TEXTS,
            pixel_width=st.integers(87, 700),
            correction=st.sampled_from(["L", "M", "Q", "H"]),
            align=ALIGNS,
        ),
    ),
)


def command(kind: str, data: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    with_data = st.builds(lambda payload: {"type": kind, "data": payload}, data)
    return with_data | st.just({"type": kind})


COMMANDS = st.one_of(
    text_commands(),
    table_commands(),
    command("separator", optional(char=st.sampled_from(["-", "=", "*-", "─", "€"]), length=st.integers(1, 60))),
    command("feed", optional(lines=st.integers(1, 5))),
    command("cut", optional(mode=st.sampled_from(["partial", "full", "FULL"]), feed=st.integers(0, 5))),
    command("pulse", optional(pin=st.integers(0, 1), on_time=st.integers(1, 600), off_time=st.integers(1, 600))),
    command("beep", optional(times=st.integers(1, 12), lapse=st.integers(1, 12))),
    SYMBOLS,
)
PROFILES = st.fixed_dictionaries(
    {"model": st.sampled_from(["80mm EC-PM-80250", "58mm PT-210", "Generic", "TM-T20II"])},
    optional={
        "code_table": st.sampled_from(CODE_TABLE_NAMES),
        "paper_width": st.sampled_from([58, 80]),
        "dpi": st.sampled_from([203, 300]),
    },
)


@st.composite
def plain_documents(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {
        "version": draw(st.sampled_from(["1.0", "1.2"])),
        "profile": draw(PROFILES),
        "commands": draw(st.lists(COMMANDS, min_size=1, max_size=5)),
    }
    return document | draw(optional(debug_log=st.booleans()))


def printed(document: Document | PlainDocument, model: ModelProfile | None) -> Any:
    """What the printer gets and the client is told: the bytes and notes, or the refusal."""
    try:
        result = render_job(document, profile_for(document.profile, model))
    except DocumentError as error:
        return ("refused", str(error))
    return ("printed", result.data, result.notes)


def general(sent: dict[str, Any], model: ModelProfile | None, *, strict: bool = False) -> Any:
    try:
        document = parse_document(copy.deepcopy(sent), strict=strict)
    except DocumentError as error:
        return ("refused", str(error))
    return printed(document, model)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_documents(), st.sampled_from(MODELS))
def test_a_plain_document_prints_what_the_general_path_prints(sent: dict[str, Any], model: ModelProfile | None) -> None:
    kept = copy.deepcopy(sent)
    plain = read_plain(sent)
    assert plain is not None  # every generated document is one the plain reading takes
    fast = printed(plain, model)
    assert fast == general(sent, model)
    assert fast == general(sent, model, strict=True)  # a plain document needs nothing lenient reading does
    assert sent == kept  # the client's objects are read, never changed


def scalar_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [path for key, child in node.items() for path in scalar_paths(child, (*prefix, key))]
    if isinstance(node, list):
        return [path for i, child in enumerate(node) for path in scalar_paths(child, (*prefix, i))]
    return [prefix]


def dict_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if isinstance(node, dict) else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    return found + [path for key, child in children for path in dict_paths(child, (*prefix, key))]


def at(root: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        root = root[part]
    return root


# A value of the wrong kind for each kind of value a plain document holds (a number where a cell's text was is
# still a cell, so text gets a fraction).
WRONG: dict[type, list[Any]] = {str: [7.5, "caf\udce9", None, []], bool: [1, "true", None], int: [True, 2.5, None, {}]}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_documents(), st.data())
def test_a_plain_document_with_one_thing_wrong_is_left_to_the_general_reading(
    sent: dict[str, Any], data: st.DataObject
) -> None:
    changed = copy.deepcopy(sent)
    how = data.draw(st.sampled_from(["value", "unknown key", "key case"]))
    if how == "value":
        path = data.draw(st.sampled_from(scalar_paths(changed)))
        at(changed, path[:-1])[path[-1]] = data.draw(st.sampled_from(WRONG[type(at(changed, path))]))
    else:
        holder = at(changed, data.draw(st.sampled_from(dict_paths(changed))))
        if how == "unknown key" or not holder:
            holder["unknown"] = 1
        else:
            key = data.draw(st.sampled_from(sorted(holder)))
            holder[key.upper() if key.upper() != key else key.title()] = holder.pop(key)
    assert read_plain(changed) is None


def example(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# The examples with no image, QR code, barcode or raw command (the others only the general path reads).
PLAIN_EXAMPLES = [path for path in EXAMPLE_FILES if read_plain(example(path)) is not None]


@pytest.mark.parametrize("path", PLAIN_EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("model", MODELS[:2], ids=["own profile", "most pages"])
def test_every_plain_example_prints_the_same_either_way(path: Path, model: ModelProfile | None) -> None:
    sent = example(path)
    plain = read_plain(sent)
    assert plain is not None
    assert printed(plain, model) == general(sent, model)


@pytest.mark.parametrize("name", ["code_pages.json", "kitchen_order.json"])
def test_everyday_examples_take_the_plain_path(name: str) -> None:
    assert read_plain(example(EXAMPLES / name)) is not None


def test_a_plain_table_too_wide_for_the_paper_is_refused_in_the_general_words() -> None:
    columns = [{"name": "A", "width": 40}, {"name": "B", "width": 40}]
    table = {"type": "table", "data": {"definition": {"columns": columns}, "options": {"auto_reduce": False}}}
    sent = {"version": "1.0", "profile": {"model": "80mm EC-PM-80250"}, "commands": [{"type": "feed"}, table]}
    plain = read_plain(sent)
    assert plain is not None
    with pytest.raises(DocumentError) as refused:
        render_job(plain)
    assert str(refused.value) == "TABLE: Columns exceed paper width (needs 81, has 48) at command 1 (table)"
    assert printed(plain, None) == general(sent, None)


def test_a_job_rendered_for_a_configured_printer_is_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the daemon stores and sends: the printer chosen by the document's model, laid out for its own pages.
    registry = PrinterRegistry([ConfiguredPrinter("caja", "virtual://caja", model="TM-T20II", aliases=("Caja 1",))])
    sent = example(EXAMPLES / "kitchen_order.json")
    sent["profile"] = {"model": "Caja 1", "code_table": "PC850"}
    fast = job.render_document(sent, raw_policy="allow", registry=registry)
    monkeypatch.setattr(job, "read_plain", lambda _: None)
    assert fast == job.render_document(sent, raw_policy="allow", registry=registry)
    assert fast.printer == "caja"
