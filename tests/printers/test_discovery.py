"""Setting up a till: ``get_printers`` / ``ticket-daemon printers`` show the configured printers and what the computer
has installed (Windows printers, CUPS queues, USB-serial ports, USB printers), each with the URI that configures it,
classified like the original service did, without ever scanning the network."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from printers.fake_pyusb import FakeUsbBus, FakeUsbDevice
from printers.fake_win32 import FakeWin32PrinterList
from ticket_daemon.commands.main import main
from ticket_daemon.printers import ConfiguredPrinter, PrinterRegistry
from ticket_daemon.printers.discovery import (
    FoundPrinter,
    PrinterDiscovery,
    classify,
    cups_queues,
    serial_ports,
    usb_printers,
    windows_printers,
    with_discovered,
)


@pytest.mark.parametrize(
    ("name", "driver", "port", "kind"),
    [
        ("EPSON TM-T20II Receipt", "EPSON TM-T20II Receipt5", "USB001", "thermal"),
        ("POS-80C", "Generic / Text Only", "USB002", "thermal"),
        ("Microsoft Print to PDF", "Microsoft Print To PDF", "PORTPROMPT:", "virtual"),
        ("Office laser", "HP Universal PostScript", "IP_10.0.0.20", "network"),
        ("Fax", "Microsoft Shared Fax Driver", "SHRFAX:", "virtual"),
        ("Label printer", "ZDesigner", "USB003", "unknown"),
    ],
)
def test_printers_are_classified_by_the_original_keyword_rules(name: str, driver: str, port: str, kind: str) -> None:
    assert classify(name, driver, port) == kind


def test_windows_printers_come_with_their_spooler_status_and_a_win32_uri() -> None:
    found = windows_printers(FakeWin32PrinterList())

    assert [(p.name, p.uri, p.status, p.printer_type, p.os_default) for p in found] == [
        ("EPSON TM-T20II Receipt", "win32://EPSON TM-T20II Receipt", "ready", "thermal", True),
        ("Kitchen POS-58", "win32://Kitchen POS-58", "paper_out", "thermal", False),
        ("Microsoft Print to PDF", "win32://Microsoft Print to PDF", "offline", "virtual", False),
        ("Bar receipt", "win32://Bar receipt", "paused", "thermal", False),
    ]


def test_cups_queues_are_read_from_lpstat() -> None:
    answers = {
        "-v": "device for receipts: socket://10.0.0.5:9100\ndevice for office: ipp://10.0.0.20/ipp/print\n",
        "-p": "printer receipts is idle.  enabled since Tue 01 Jan\nprinter office disabled since Tue 01 Jan -\n",
        "-d": "system default destination: receipts\n",
    }
    asked: list[list[str]] = []

    def lpstat(arguments: Any) -> str:
        asked.append(list(arguments))
        return answers[arguments[-1]]

    found = cups_queues("/run/cups/cups.sock", run=lpstat)

    assert all(arguments[:2] == ["-h", "/run/cups/cups.sock"] for arguments in asked)
    assert [(p.name, p.uri, p.port, p.status, p.printer_type, p.os_default) for p in found] == [
        ("receipts", "cups://receipts?server=/run/cups/cups.sock", "socket://10.0.0.5:9100", "ready", "thermal", True),
        ("office", "cups://office?server=/run/cups/cups.sock", "ipp://10.0.0.20/ipp/print", "paused", "network", False),
    ]


def test_usb_serial_adapters_are_listed_and_plain_serial_ports_are_not() -> None:
    ports = [
        SimpleNamespace(device="/dev/ttyUSB0", description="FT232R USB UART", vid=0x0403, pid=0x6001),
        SimpleNamespace(device="/dev/ttyACM0", description="EPSON TM-T88V", vid=0x04B8, pid=0x0202),
        SimpleNamespace(device="/dev/ttyS0", description="n/a", vid=None, pid=None),
    ]

    found = serial_ports(ports)

    assert [(p.uri, p.printer_type) for p in found] == [
        ("serial:///dev/ttyUSB0", "unknown"),
        ("serial:///dev/ttyACM0", "thermal"),
    ]


def test_usb_printer_class_devices_are_listed_with_a_usb_uri() -> None:
    devices = [
        FakeUsbDevice(0x04B8, 0x0E15, [7]),  # Epson receipt printer
        FakeUsbDevice(0x046D, 0xC52B, [3]),  # a keyboard receiver: not a printer
        FakeUsbDevice(0x03F0, 0x2B17, [255, 7]),  # an HP printer, printer interface 1
    ]
    found = usb_printers(FakeUsbBus(devices))

    assert [(p.name, p.uri, p.printer_type) for p in found] == [
        ("Epson printer 04b8:0e15", "usb://04b8:0e15", "thermal"),
        ("USB printer 03f0:2b17", "usb://03f0:2b17?interface=1", "unknown"),
    ]


def found(name: str, uri: str, kind: str = "thermal") -> FoundPrinter:
    return FoundPrinter(name, uri, name, "test", "ready", kind, "test")


def test_os_printers_follow_the_configured_ones_and_are_not_listed_twice() -> None:
    registry = PrinterRegistry([ConfiguredPrinter("caja", "win32://EPSON TM-T20II Receipt", default=True)])
    details = registry.details()

    merged, summary = with_discovered(
        registry,
        details,
        [
            found("EPSON TM-T20II Receipt", "win32://EPSON TM-T20II Receipt"),
            found("Office", "cups://office", "network"),
        ],
    )

    assert [(d["name"], d["is_default"]) for d in merged] == [("caja", True), ("Office", False)]
    assert merged[1]["uri"] == "cups://office"
    assert summary == {"status": "ok", "detected_count": 2, "thermal_count": 1, "default_name": "caja"}
    assert with_discovered(registry, merged, [found("Office", "cups://office", "network")])[0] == merged


def test_discovery_is_cached_and_a_broken_or_stuck_source_does_not_hide_the_others() -> None:
    calls = {"good": 0}
    release = threading.Event()

    def good() -> list[FoundPrinter]:
        calls["good"] += 1
        return [found("Counter", "usb://04b8:0e15")]

    def broken() -> list[FoundPrinter]:
        raise OSError("spooler exploded")

    def stuck() -> list[FoundPrinter]:
        release.wait(10)
        return []

    discovery = PrinterDiscovery({"good": good, "broken": broken, "stuck": stuck}, timeout=0.5)

    async def story() -> tuple[list[FoundPrinter], list[FoundPrinter]]:
        return await discovery.scan(), await discovery.scan()

    try:
        first, second = asyncio.run(asyncio.wait_for(story(), 20))
    finally:
        release.set()
    assert [p.name for p in first] == ["Counter"] and second == first
    assert calls["good"] == 1


def test_the_printers_command_lists_configured_printers_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ticket.toml"
    config.write_text(
        f'[storage]\ndata_dir = "{tmp_path.as_posix()}/data"\n\n'
        '[[printers]]\nname = "caja"\nuri = "virtual://caja"\ndefault = true\n\n'
        '[[printers]]\nname = "cocina"\nuri = "tcp://127.0.0.1:1"\n'
    )

    status = main(["printers", "--config", str(config), "--json"])

    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert [(p["name"], p["status"]) for p in report["printers"][:2]] == [("caja", "ready"), ("cocina", "offline")]
    assert report["summary"]["default_name"] == "caja"


def test_the_printers_command_reports_a_bad_configuration_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ticket.toml"
    config.write_text('[[printers]]\nname = "caja"\nuri = "smoke://signals"\n')

    assert main(["printers", "--config", str(config)]) == 2
    assert "Unsupported printer URI 'smoke://signals'" in capsys.readouterr().err
