"""Printers of a known model (escpos-printer-db, as python-escpos ships it) print text with their own code pages.

Every expectation is computed from the data itself: which pages a model has, under which ``ESC t`` number, and
whether a line's letters are in any of them.
"""

from __future__ import annotations

import codecs
import json
from importlib import resources
from typing import Any

import pytest

from ticket_daemon.document import parse_document
from ticket_daemon.document.model import Profile
from ticket_daemon.emulator import emulate
from ticket_daemon.escpos import render_job
from ticket_daemon.escpos.commands import ESC
from ticket_daemon.escpos.commandset import COMMAND_PREFIXES, measure
from ticket_daemon.escpos.printerdb import find_model, model_from_identity, model_profiles
from ticket_daemon.escpos.profiles import profile_for

MODELS = ("TM-T20II", "TM-T88V", "ZJ-5870", "POS-5890", "NT-5890K", "Sunmi-V2", "RP326", "TH230", "KR-306", "P822D")
LINES = {
    "Spanish": "¿Café? 10 € ñandú, señor",
    "French": "Crème brûlée à 3 € – ça coûte",
    "German": "Größe: Übermaß, süß",
    "Polish": "Zażółć gęślą jaźń",
    "Czech": "Příliš žluťoučký kůň",
    "Russian": "Съешь же ещё этих булок",
    "Greek": "Καλημέρα κόσμε",
    "Turkish": "Çok güzel ığdır şişe",
}


def capabilities() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("escpos").joinpath("capabilities.json").read_text("utf-8"))
    return data


def usable_pages(key: str) -> dict[int, str]:
    """ESC t n → Python codec for every page of the model that has a codec, straight from the data."""
    data = capabilities()
    pages: dict[int, str] = {}
    for number, name in data["profiles"][key]["codePages"].items():
        encoding = data["encodings"].get(name, {})
        codec = encoding.get("python_encode") or encoding.get("iconv")
        if name == "Unknown" or codec is None:
            continue
        try:
            codecs.lookup(codec)
        except LookupError:
            continue
        pages[int(number)] = codec
    return pages


def in_a_page(char: str, pages: dict[int, str]) -> bool:
    for codec in pages.values():
        try:
            if len(char.encode(codec)) == 1:
                return True
        except UnicodeEncodeError:
            continue
    return False


def selected_pages(data: bytes) -> list[int]:
    """The n of every ESC t n the printer reads, skipping the payloads of commands that carry data."""
    numbers = []
    i = 0
    while i < len(data):
        if data[i] not in COMMAND_PREFIXES:
            i += 1
            continue
        measured = measure(data, i)
        assert measured is not None, f"incomplete command at byte {i}"
        if data[i] == ESC and data[i + 1] == ord("t"):
            numbers.append(data[i + 2])
        i += measured.head + measured.payload
        if measured.until_nul:
            i = data.index(0, i) + 1
    return numbers


def receipt() -> dict[str, Any]:
    commands = [{"type": "text", "data": {"content": {"text": line}}} for line in LINES.values()]
    return {"version": "1.0", "profile": {"model": "shop"}, "commands": commands}


@pytest.mark.parametrize("key", MODELS)
def test_a_multilingual_receipt_uses_only_the_models_own_code_pages(key: str) -> None:
    model = find_model(key)
    assert model is not None and model.key == key
    profile = profile_for(Profile(model="shop"), model)

    job = render_job(parse_document(receipt()), profile)

    pages = usable_pages(key)
    unknown = {int(n) for n, name in capabilities()["profiles"][key]["codePages"].items() if name == "Unknown"}
    selected = selected_pages(job.data)
    assert selected, "every job selects its home page"
    assert set(selected) <= set(pages), f"{key} was sent ESC t numbers it has no page for"
    assert not set(selected) & unknown


@pytest.mark.parametrize("key", MODELS)
def test_each_line_the_model_can_encode_reads_back_exactly_with_its_table(key: str) -> None:
    model = find_model(key)
    assert model is not None
    profile = profile_for(Profile(model="shop"), model)
    pages = usable_pages(key)

    job = render_job(parse_document(receipt()), profile)
    printed = emulate(job.data, profile.dot_width, codecs=pages).transcript.splitlines()

    for index, (language, line) in enumerate(LINES.items()):
        if all(in_a_page(char, pages) for char in line):
            assert line in printed, f"{key}: the {language} line does not read back as written"
            assert not any(note.endswith(f"command {index}") for note in job.notes)
        else:
            # Letters the model has no page for are printed as a close match or as an image, and the client told.
            assert any(f"in command {index}" in note for note in job.notes), f"{key}: {language} not noted"


def test_wincor_and_kefar_select_wpc1252_with_their_own_numbers() -> None:
    text = {
        "version": "1.0",
        "profile": {"model": "shop"},
        "commands": [{"type": "text", "data": {"content": {"text": "ñ"}}}],
    }
    for key in ("TH230", "KR-306", "TM-T20II"):
        model = find_model(key)
        assert model is not None
        number = next(int(n) for n, name in capabilities()["profiles"][key]["codePages"].items() if name == "CP1252")
        data = render_job(parse_document(text), profile_for(Profile(model="shop"), model)).data
        assert data.startswith(b"\x1b@" + bytes((ESC, ord("t"), number))), key
        assert "ñ".encode("cp1252") in data


def test_a_printer_of_no_known_model_keeps_the_epson_numbers() -> None:
    data = render_job(parse_document(receipt())).data
    assert set(selected_pages(data)) <= {0, 2, 16, 17, 18, 19}
    assert data.startswith(b"\x1b@\x1bt\x10")


def test_the_models_paper_fonts_and_qr_come_from_the_data() -> None:
    entry = capabilities()["profiles"]["ZJ-5870"]
    model = find_model("zj 5870")
    assert model is not None
    profile = profile_for(Profile(model="shop"), model)
    assert profile.dot_width == entry["media"]["width"]["pixels"]
    assert profile.chars_per_line == entry["fonts"]["0"]["columns"]
    assert profile.has_qr is entry["features"]["qrCode"]


def test_what_the_document_states_wins_over_the_model() -> None:
    model = find_model("TM-T20II")
    assert model is not None
    profile = profile_for(Profile(model="shop", paper_width=58, has_qr=False), model)
    assert (profile.dot_width, profile.has_qr) == (384, False)


def test_a_cut_on_a_printer_without_cutter_only_feeds() -> None:
    document = {"version": "1.0", "profile": {"model": "shop"}, "commands": [{"type": "cut", "data": {"feed": 2}}]}
    for key, cuts in (("ZJ-5870", False), ("TM-T20II", True)):
        model = find_model(key)
        assert model is not None
        data = render_job(parse_document(document), profile_for(Profile(model="shop"), model)).data
        assert (b"\x1dV" in data) is cuts
        assert b"\x1bd\x02" in data


def test_every_profile_of_the_data_loads() -> None:
    assert set(model_profiles()) == set(capabilities()["profiles"])


def test_what_a_printer_says_finds_its_profile() -> None:
    assert model_from_identity("TM-T20II", "EPSON") is find_model("TM-T20II")
    assert model_from_identity("TM-T88V-i") is find_model("TM-T88V")
    assert model_from_identity("Some Unknown Printer") is None
