"""Which printer prints a ticket (docs/protocol.md "Choosing the printer"), and how printers are listed to POS
clients."""

from __future__ import annotations

import json

import jsonschema
import pytest

from conftest import SHARED, require_shared
from ticket_daemon.printers import ConfiguredPrinter, PrinterError, PrinterRegistry, PrinterState

KITCHEN = ConfiguredPrinter("kitchen", "tcp://10.0.0.5:9100", model="80mm EC-PM-80250", aliases=("EC-PM-80250",))
BAR = ConfiguredPrinter("bar", "file:///dev/usb/lp0", aliases=("58mm PT-210", "PT-210"), default=True)
SCREEN = ConfiguredPrinter("screen", "virtual://screen")


@pytest.fixture
def registry() -> PrinterRegistry:
    return PrinterRegistry([KITCHEN, BAR, SCREEN])


def test_with_nothing_configured_the_virtual_printer_is_the_default() -> None:
    registry = PrinterRegistry([])
    assert registry.default == ConfiguredPrinter("default", "virtual://default")
    assert registry.select(None, "Any model") is registry.default


def test_the_flagged_printer_is_the_default_else_the_first(registry: PrinterRegistry) -> None:
    assert registry.default is BAR
    assert PrinterRegistry([KITCHEN, SCREEN]).default is KITCHEN


def test_explicit_printer_name_wins_over_the_model(registry: PrinterRegistry) -> None:
    assert registry.select("screen", "PT-210") is SCREEN
    assert registry.select("Kitchen", "") is KITCHEN


def test_an_unknown_explicit_printer_fails_the_job_for_good(registry: PrinterRegistry) -> None:
    with pytest.raises(PrinterError) as info:
        registry.select("office", "PT-210")
    assert str(info.value) == "PRINTER: Unknown printer 'office' (configured: kitchen, bar, screen)"
    assert not info.value.retryable


def test_the_profile_model_finds_a_printer_by_alias_ignoring_case(registry: PrinterRegistry) -> None:
    assert registry.select(None, "58MM pt-210") is BAR
    assert registry.select(None, "ec-pm-80250") is KITCHEN
    assert registry.select(None, "screen") is SCREEN


def test_an_unmatched_model_goes_to_the_default(registry: PrinterRegistry) -> None:
    assert registry.select(None, "Some other printer") is BAR
    assert registry.select("", "") is BAR


def test_a_name_used_twice_is_a_configuration_error() -> None:
    with pytest.raises(PrinterError, match="'pt-210' is used by both 'bar' and 'other'"):
        PrinterRegistry([BAR, ConfiguredPrinter("other", "virtual://other", aliases=("pt-210",))])


def test_two_defaults_are_a_configuration_error() -> None:
    with pytest.raises(PrinterError, match="More than one default printer: bar, other"):
        PrinterRegistry([BAR, ConfiguredPrinter("other", "virtual://other", default=True)])


def test_a_wrong_uri_is_reported_at_start_up() -> None:
    with pytest.raises(PrinterError, match="Unsupported printer URI 'lpt1'"):
        PrinterRegistry([ConfiguredPrinter("old", "lpt1")])


def test_details_list_every_printer_with_its_state(registry: PrinterRegistry) -> None:
    states = {"kitchen": PrinterState.paper_out, "screen": PrinterState.ready}
    assert registry.details(states) == [
        {
            "name": "kitchen",
            "port": "10.0.0.5:9100",
            "driver": "ESC/POS raw TCP",
            "status": "paper_out",
            "is_default": False,
            "is_virtual": False,
            "printer_type": "thermal",
            "profile": None,
            "profile_source": "default",
        },
        {
            "name": "bar",
            "port": "/dev/usb/lp0",
            "driver": "ESC/POS raw device",
            "status": "unknown",
            "is_default": True,
            "is_virtual": False,
            "printer_type": "thermal",
            "profile": None,
            "profile_source": "default",
        },
        {
            "name": "screen",
            "port": "screen",
            "driver": "ESC/POS emulator",
            "status": "ready",
            "is_default": False,
            "is_virtual": True,
            "printer_type": "virtual",
            "profile": None,
            "profile_source": "default",
        },
    ]


def test_paper_near_end_is_listed_as_ready(registry: PrinterRegistry) -> None:
    assert registry.details({"kitchen": PrinterState.paper_near_end})[0]["status"] == "ready"


def test_summary_is_ok_when_a_thermal_printer_exists(registry: PrinterRegistry) -> None:
    assert registry.summary() == {"status": "ok", "detected_count": 3, "thermal_count": 2, "default_name": "bar"}


def test_summary_with_only_the_virtual_printer_is_ok_but_counts_no_thermal_printer() -> None:
    assert PrinterRegistry([]).summary() == {
        "status": "ok",
        "detected_count": 1,
        "thermal_count": 0,
        "default_name": "default",
    }


def test_the_printers_message_matches_the_original_schema(registry: PrinterRegistry) -> None:
    require_shared()
    schema = json.loads((SHARED / "spec" / "original" / "ticket_websocket.schema.json").read_text())
    message = {"tipo": "printers", "status": "ok", "printers": registry.details(), "summary": registry.summary()}
    definitions = schema["definitions"]
    jsonschema.validate(message["summary"], {**definitions["PrinterSummary"], "definitions": definitions})
    for detail in message["printers"]:
        jsonschema.validate(detail, {**definitions["PrinterDetail"], "definitions": definitions})
