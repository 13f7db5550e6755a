"""A configured printer holds its URI parsed once, when it is configured: jobs open its transport from that."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import ticket_daemon.printers.registry as registry_module
from ticket_daemon.printers.errors import PrinterError
from ticket_daemon.printers.registry import ConfiguredPrinter
from ticket_daemon.printers.uri import PrinterURI, open_transport


def test_a_configured_printer_holds_its_parsed_uri() -> None:
    printer = ConfiguredPrinter("caja", "tcp://127.0.0.1:9100")
    assert printer.parsed_uri == PrinterURI("tcp", "127.0.0.1:9100", host="127.0.0.1", port=9100)


def test_a_wrong_uri_is_refused_when_the_printer_is_configured() -> None:
    with pytest.raises(PrinterError, match="Unsupported printer URI 'lpt1'"):
        ConfiguredPrinter("old", "lpt1")


def test_opening_a_configured_printer_parses_nothing_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    printer = ConfiguredPrinter("bar", "virtual://bar")

    def parse_again(uri: str, *, windows: bool | None = None) -> PrinterURI:
        raise AssertionError(f"{uri} parsed again")

    monkeypatch.setattr("ticket_daemon.printers.uri.parse_uri", parse_again)
    monkeypatch.setattr(registry_module, "parse_uri", parse_again)
    transport = open_transport(printer.parsed_uri, dot_width=576, data_dir=tmp_path)
    asyncio.run(transport.open())
    asyncio.run(transport.close())
    assert transport.uri == "virtual://bar"
