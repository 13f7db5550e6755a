"""A job is laid out for the printer that prints it (docs/document.md "Profile"): an 80 mm document sent
to a printer configured with ``paper_width = 58`` prints 32 columns and 384 dots, over a real WebSocket to a real
daemon whose virtual printer keeps the transcript and picture of what it received."""

from __future__ import annotations

import copy
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from server.harness import DaemonLauncher, RunningDaemon, wait_until
from ticket_daemon.config import ConfigError, PrinterSettings
from ticket_daemon.document.model import Profile
from ticket_daemon.printers.registry import ConfiguredPrinter, PrinterRegistry

REPO = Path(__file__).resolve().parents[2]


def eighty_mm_receipt() -> dict[str, Any]:
    """The project's example receipt (separator, table, barcode, QR), its profile saying 80 mm explicitly."""
    document: dict[str, Any] = json.loads((REPO / "examples" / "receipt.json").read_text(encoding="utf-8"))
    document["profile"] = {"model": "80mm EC-PM-80250", "paper_width": 80}
    document["commands"] = [c for c in document["commands"] if c["type"] != "pulse"]
    return document


def printed(running: RunningDaemon, printer: str, document: dict[str, Any]) -> tuple[str, int]:
    """Send ``document`` to ``printer``; (the transcript the printer drew, the width in dots of its paper)."""
    client = running.connect()
    ack, result = client.print_job({"tipo": "ticket", "id": f"job-{printer}", "printer": printer, "datos": document})
    assert (ack["status"], result["status"]) == ("queued", "success"), result
    folder = running.data_dir / "virtual" / printer
    wait_until(lambda: any(folder.glob("*.bin")), f"printer {printer} to keep the job")
    transcript = next(folder.glob("*.txt")).read_text(encoding="utf-8")
    png = next(folder.glob("*.png")).read_bytes()
    width = struct.unpack(">I", png[16:20])[0]  # IHDR width
    return transcript, width


def test_an_80mm_document_on_a_58mm_printer_is_laid_out_for_32_columns_and_384_dots(daemons: DaemonLauncher) -> None:
    running = daemons.start(
        printers=[{"name": "narrow", "uri": "virtual://narrow", "paper_width": 58, "default": True}]
    )
    transcript, width = printed(running, "narrow", eighty_mm_receipt())
    lines = transcript.splitlines()

    assert width == 384
    assert "-" * 32 in lines, transcript  # the default separator: Font A, 32 columns on 58 mm
    assert "-" * 33 not in transcript
    assert "=" * 32 in lines and "=" * 33 not in transcript
    # The table is squeezed into 32 columns: its header row is exactly that wide, no row is wider.
    header = next(line for line in lines if line.startswith("Cant"))
    assert len(header) == 32 and header.endswith("Importe"), header
    assert all(len(line) <= 32 for line in lines if not line.startswith("["))
    # The barcode fits the 384-dot line (a printer drops an over-wide one; the emulator does the same).
    assert "[barcode CODE128 A-000123]" in lines
    images = [line for line in lines if line.startswith("[image ")]
    assert images and all(int(line.split()[1].split("x")[0]) <= 384 for line in images), images


def test_a_printer_that_states_no_paper_prints_the_document_as_its_profile_says(daemons: DaemonLauncher) -> None:
    running = daemons.start(printers=[{"name": "plain", "uri": "virtual://plain", "default": True}])
    fifty_eight = copy.deepcopy(eighty_mm_receipt())
    fifty_eight["profile"] = {"model": "58mm PT-210"}

    transcript, _ = printed(running, "plain", fifty_eight)
    assert "-" * 32 in transcript.splitlines() and "-" * 33 not in transcript


def test_the_printer_chosen_by_the_documents_model_sets_the_paper(daemons: DaemonLauncher) -> None:
    # The document names a 58 mm model that is an alias of an 80 mm printer: the printer's paper wins.
    running = daemons.start(
        printers=[
            {"name": "default", "uri": "virtual://default", "default": True},
            {"name": "wide", "uri": "virtual://wide", "model": "80mm EC-PM-80250", "aliases": ["58mm PT-210"]},
        ]
    )
    document = eighty_mm_receipt()
    document["profile"] = {"model": "58mm PT-210"}
    client = running.connect()
    _, result = client.print_job({"tipo": "ticket", "id": "by-model", "datos": document})
    assert result["status"] == "success", result
    folder = running.data_dir / "virtual" / "wide"
    wait_until(lambda: any(folder.glob("*.txt")), "the wide printer to keep the job")
    transcript = next(folder.glob("*.txt")).read_text(encoding="utf-8")
    assert "-" * 48 in transcript.splitlines()


# ---- the merge rule, directly --------------------------------------------------------------------------------


def test_a_known_model_sets_the_paper_and_qr_support_unless_configured() -> None:
    document = Profile(model="80mm EC-PM-80250", paper_width=80, has_qr=False)
    pt210 = ConfiguredPrinter("pt", "virtual://pt", model="58mm PT-210")
    assert (pt210.profile_for(document).dot_width, pt210.profile_for(document).has_qr) == (384, True)
    no_qr = ConfiguredPrinter("pt", "virtual://pt", model="58mm PT-210", has_qr=False, paper_width=80)
    assert (no_qr.profile_for(document).dot_width, no_qr.profile_for(document).has_qr) == (576, False)


def test_configured_dpi_and_code_table_win_and_unstated_fields_come_from_the_document() -> None:
    document = Profile(model="custom", paper_width=58, code_table="PC850", has_qr=True)
    printer = ConfiguredPrinter("p", "virtual://p", dpi=300, code_table="PC437")
    profile = printer.profile_for(document)
    assert (profile.paper_width_mm, profile.dpi, profile.code_table, profile.has_qr) == (58, 300, "PC437", True)
    assert profile.chars_per_line == 32  # columns follow the 203-dpi geometry of the paper
    assert ConfiguredPrinter("bare", "virtual://bare").profile_for(document) == ConfiguredPrinter(
        "bare", "virtual://bare"
    ).profile_for(document.model_copy())
    assert ConfiguredPrinter("bare", "virtual://bare").profile_for(document).dot_width == 384


def test_the_worker_knows_its_paper_width_from_its_configuration() -> None:
    assert ConfiguredPrinter("a", "virtual://a", paper_width=58).dot_width == 384
    assert ConfiguredPrinter("b", "virtual://b", model="58mm GP-58N").dot_width == 384
    assert ConfiguredPrinter("c", "virtual://c", paper_width=80, dpi=300).dot_width == 848
    assert ConfiguredPrinter("d", "virtual://d").dot_width == 576  # states nothing: 80 mm
    assert ConfiguredPrinter("PT-210", "virtual://pt").dot_width == 576  # a name is not a model


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("paper_width", 59, "paper_width"),
        ("dpi", 250, "dpi"),
        ("code_table", "KLINGON", "code_table"),
    ],
)
def test_a_paper_value_no_profile_allows_is_a_validation_error(key: str, value: object, expected: str) -> None:
    settings = PrinterSettings.model_validate({"name": "bar", "uri": "virtual://bar", key: value})
    with pytest.raises(ConfigError) as raised:
        PrinterRegistry.from_settings([settings])
    message = str(raised.value)
    assert message.startswith("VALIDATION: printers: printer 'bar': ") and expected in message, message
    assert repr(value) in message
