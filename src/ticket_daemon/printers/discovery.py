"""Printers installed on this computer, for ``get_printers``, ``GET /api/v1/printers``, the dashboard and
``ticket-daemon printers``: Windows printers (``EnumPrinters``), CUPS queues (``lpstat``), USB-serial ports and USB
printer-class devices. Each one comes with the URI that would configure it.

Discovery only asks the operating system: it never scans the network (only configured hosts are ever probed, by the
status checks). Each source runs in a daemon thread bounded by ``SOURCE_TIMEOUT_S``; a source that fails or is not
available on this platform simply finds nothing. ``PrinterDiscovery`` keeps the last answer for ``CACHE_SECONDS``.

The reading of each source (``windows_printers``, ``cups_queues``, ``serial_ports``, ``usb_printers``) takes its
API as an argument, so tests feed it recorded answers; ``classify`` is the original service's keyword rules.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .registry import PrinterRegistry
from .threads import run_in_daemon_thread
from .uri import parse_uri
from .usb import PRINTER_CLASS

log = logging.getLogger(__name__)

# An OS printer list changes when someone installs a printer, not between two polls of the dashboard; 30 s keeps
# clients polling get_printers from running lpstat / EnumPrinters / a USB bus walk on every request.
CACHE_SECONDS = 30.0
# Every source answers from local state in milliseconds; 5 s covers a spooler or cupsd that is starting up.
SOURCE_TIMEOUT_S = 5.0

# The original service's keyword rules (PrinterDetail.printer_type), matched on name, driver and port, lower case.
VIRTUAL_KEYWORDS = ("pdf", "xps", "onenote", "fax", "microsoft print to", "document writer", "send to")
# Whole words only: "pos" must not match "PostScript".
THERMAL_KEYWORDS = re.compile(
    r"\b(pos(-?\d+)?|thermal|receipts?|tm-\w+|tsp\d*|esc/?pos|(58|80) ?mm|xprinter|bixolon|citizen ct|rongta|zjiang"
    r"|star (tsp|sp|mc)|tickets?)\b"
)
NETWORK_PORTS = re.compile(r"^(ip_|wsd|http|ipp|lpd|socket|tcp|dnssd)|\d+\.\d+\.\d+\.\d+", re.IGNORECASE)

# USB vendors whose printer-class devices are receipt printers (their USB IDs, usb.ids).
POS_USB_VENDORS = {
    0x04B8: "Epson",
    0x0519: "Star Micronics",
    0x1504: "Bixolon",
    0x1D90: "Citizen",
    0x0DD4: "Custom",
    0x154F: "SNBC",
    0x0FE6: "ICS (Xprinter)",
    0x28E9: "GD32 (Xprinter)",
}

# win32print PRINTER_INFO_2.Status bits (winspool.h) → PrinterDetail.status, most specific first.
_WINDOWS_STATUS_BITS = (
    (0x00400000, "cover_open"),  # PRINTER_STATUS_DOOR_OPEN
    (0x00000010, "paper_out"),  # PRINTER_STATUS_PAPER_OUT
    (0x00000002, "error"),  # PRINTER_STATUS_ERROR
    (0x00000008, "error"),  # PRINTER_STATUS_PAPER_JAM
    (0x00100000, "error"),  # PRINTER_STATUS_USER_INTERVENTION
    (0x00000080, "offline"),  # PRINTER_STATUS_OFFLINE
    (0x00001000, "offline"),  # PRINTER_STATUS_NOT_AVAILABLE
    (0x00000001, "paused"),  # PRINTER_STATUS_PAUSED
)
PRINTER_ATTRIBUTE_WORK_OFFLINE = 0x400
PRINTER_ENUM_LOCAL = 0x2
PRINTER_ENUM_CONNECTIONS = 0x4


@dataclass(frozen=True, slots=True)
class FoundPrinter:
    """A printer the OS knows. ``uri`` configures it; the other fields are a printer detail's (docs/protocol.md
    "Printers")."""

    name: str
    uri: str
    port: str
    driver: str
    status: str  # ready|offline|paused|error|unknown|paper_out|cover_open
    printer_type: str  # thermal|virtual|network|unknown
    source: str  # windows|cups|serial|usb
    os_default: bool = False

    def detail(self) -> dict[str, Any]:
        """PrinterDetail plus ``uri`` and ``source`` (extra fields clients may ignore)."""
        return {
            "name": self.name,
            "port": self.port,
            "driver": self.driver,
            "status": self.status,
            "is_default": False,  # the daemon's default is a configured printer; see ``os_default``
            "is_virtual": self.printer_type == "virtual",
            "printer_type": self.printer_type,
            "uri": self.uri,
            "source": self.source,
            "os_default": self.os_default,
        }


def classify(name: str, driver: str = "", port: str = "") -> str:
    """thermal | virtual | network | unknown, by keywords like the original service (virtual wins: a "POS PDF"
    driver prints no receipt)."""
    text = f"{name} {driver}".lower()
    if any(keyword in text for keyword in VIRTUAL_KEYWORDS):
        return "virtual"
    if THERMAL_KEYWORDS.search(text):
        return "thermal"
    if NETWORK_PORTS.search(port.strip()):
        return "network"
    return "unknown"


# --- Windows ------------------------------------------------------------------------------------------------


def windows_status(status: int, attributes: int = 0) -> str:
    for bit, meaning in _WINDOWS_STATUS_BITS:
        if status & bit:
            return meaning
    return "offline" if attributes & PRINTER_ATTRIBUTE_WORK_OFFLINE else "ready"


def windows_printers(api: Any) -> list[FoundPrinter]:
    """``api`` is ``win32print`` (or a fake): ``EnumPrinters(flags, None, 2)`` and ``GetDefaultPrinter()``."""
    try:
        default = str(api.GetDefaultPrinter())
    except Exception:  # no default printer set raises pywintypes.error
        default = ""
    found = []
    for info in api.EnumPrinters(PRINTER_ENUM_LOCAL | PRINTER_ENUM_CONNECTIONS, None, 2):
        name = str(info.get("pPrinterName") or "")
        if not name:
            continue
        port = str(info.get("pPortName") or "")
        driver = str(info.get("pDriverName") or "")
        status = windows_status(int(info.get("Status") or 0), int(info.get("Attributes") or 0))
        kind = classify(name, driver, port)
        found.append(FoundPrinter(name, f"win32://{name}", port, driver, status, kind, "windows", name == default))
    return found


# --- CUPS ---------------------------------------------------------------------------------------------------

Runner = Callable[[Sequence[str]], str]


def run_lpstat(arguments: Sequence[str]) -> str:
    """``lpstat`` in the C locale (its sentences are parsed), bounded by the source timeout."""
    completed = subprocess.run(
        ["lpstat", *arguments],
        capture_output=True,
        text=True,
        timeout=SOURCE_TIMEOUT_S,
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        check=False,
    )
    return completed.stdout


_DEVICE = re.compile(r"^device for (\S+): (\S+)", re.MULTILINE)
_STATE = re.compile(r"^printer (\S+) (?:is (\w+)|(disabled))", re.MULTILINE)
_DEFAULT = re.compile(r"^system default destination: (\S+)", re.MULTILINE)


def cups_queues(server: str | None = None, run: Runner = run_lpstat) -> list[FoundPrinter]:
    """Queues from ``lpstat -v`` (device), ``-p`` (idle/printing/disabled) and ``-d`` (default)."""
    host = ["-h", server] if server else []
    devices = dict(_DEVICE.findall(run([*host, "-v"])))
    states = {name: ("paused" if disabled else "ready") for name, _, disabled in _STATE.findall(run([*host, "-p"]))}
    default = _DEFAULT.search(run([*host, "-d"]))
    suffix = f"?server={server}" if server else ""
    return [
        FoundPrinter(
            queue,
            f"cups://{queue}{suffix}",
            device,
            "CUPS queue",
            states.get(queue, "unknown"),
            classify(queue, "", device),
            "cups",
            default is not None and default.group(1) == queue,
        )
        for queue, device in devices.items()
    ]


# --- serial and USB -----------------------------------------------------------------------------------------


def serial_ports(ports: Iterable[Any]) -> list[FoundPrinter]:
    """USB-serial adapters from ``serial.tools.list_ports.comports()`` (plain ttyS ports carry no hint that a
    printer is there, so they are left out). Their status is unknown until configured and probed."""
    found = []
    for port in ports:
        if getattr(port, "vid", None) is None:
            continue
        description = str(getattr(port, "description", "") or port.device)
        kind = "thermal" if port.vid in POS_USB_VENDORS else classify(description)
        found.append(
            FoundPrinter(description, f"serial://{port.device}", port.device, "serial port", "unknown", kind, "serial")
        )
    return found


def usb_printers(api: Any) -> list[FoundPrinter]:
    """Printer-class USB devices from pyusb (``api`` is the ``usb`` package or a fake). Only descriptors are read,
    so no permission is needed."""
    found = []
    for device in api.core.find(find_all=True):
        interfaces = [
            interface.bInterfaceNumber
            for configuration in device
            for interface in configuration
            if interface.bInterfaceClass == PRINTER_CLASS
        ]
        if not interfaces:
            continue
        vendor, product = int(device.idVendor), int(device.idProduct)
        usb_id = f"{vendor:04x}:{product:04x}"
        option = f"?interface={interfaces[0]}" if interfaces[0] else ""
        maker = POS_USB_VENDORS.get(vendor)
        name = f"{maker or 'USB'} printer {usb_id}"
        kind = "thermal" if maker else "unknown"
        found.append(FoundPrinter(name, f"usb://{usb_id}{option}", usb_id, "USB printer class", "unknown", kind, "usb"))
    return found


# --- all sources, cached --------------------------------------------------------------------------------------


def _default_sources(cups_server: str | None) -> dict[str, Callable[[], list[FoundPrinter]]]:
    sources: dict[str, Callable[[], list[FoundPrinter]]] = {}
    if os.name == "nt":

        def windows() -> list[FoundPrinter]:
            import win32print  # pywin32, optional

            return windows_printers(win32print)

        sources["windows"] = windows
    elif shutil.which("lpstat"):
        sources["cups"] = lambda: cups_queues(cups_server)

    def read_serial_ports() -> list[FoundPrinter]:
        from serial.tools import list_ports  # pyserial, optional

        return serial_ports(list_ports.comports())

    def read_usb_bus() -> list[FoundPrinter]:
        import usb.core  # pyusb, optional

        try:
            return usb_printers(usb)
        except usb.core.NoBackendError:  # no libusb on this computer: no USB printers to list
            return []

    sources["serial"] = read_serial_ports
    sources["usb"] = read_usb_bus
    return sources


class PrinterDiscovery:
    """The OS printers, asked at most once per ``ttl`` seconds (one explicit cache entry)."""

    def __init__(
        self,
        sources: Mapping[str, Callable[[], list[FoundPrinter]]] | None = None,
        *,
        ttl: float = CACHE_SECONDS,
        cups_server: str | None = None,
        timeout: float = SOURCE_TIMEOUT_S,
    ) -> None:
        self.sources = dict(sources) if sources is not None else _default_sources(cups_server)
        self.ttl = ttl
        self.timeout = timeout
        self._found: list[FoundPrinter] | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def _ask(self, name: str, source: Callable[[], list[FoundPrinter]]) -> list[FoundPrinter]:
        try:
            async with asyncio.timeout(self.timeout):
                return await run_in_daemon_thread(source)
        except ImportError:
            return []  # the optional package for this source is not installed
        except TimeoutError:
            log.warning("printer discovery: %s did not answer within %g s", name, self.timeout)
        except Exception as error:  # a broken source finds nothing; the others still answer
            log.warning("printer discovery: %s failed: %s", name, error)
        return []

    async def scan(self) -> list[FoundPrinter]:
        if self._found is not None and time.monotonic() - self._at < self.ttl:
            return self._found
        async with self._lock:  # one scan at a time; callers waiting here reuse its answer
            if self._found is not None and time.monotonic() - self._at < self.ttl:
                return self._found
            answers = await asyncio.gather(*(self._ask(name, source) for name, source in self.sources.items()))
            self._found = [printer for answer in answers for printer in answer]
            self._at = time.monotonic()
            return self._found


def with_discovered(
    registry: PrinterRegistry, details: list[dict[str, Any]], found: Iterable[FoundPrinter]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """docs/protocol.md "Printers": the configured printers (``details``, in configuration order) followed by the OS
    printers not already configured under the same URI, and the PrinterSummary over all of them (ok: a thermal
    printer exists — the built-in virtual printer counts, as in ``PrinterRegistry.summary``; warning: only other
    physical printers; error: none). Idempotent: entries already in ``details`` are not added twice."""
    configured = {(p.parsed_uri.scheme, p.parsed_uri.location) for p in registry.printers}
    listed = {(detail.get("name"), detail.get("port")) for detail in details}
    merged = list(details)
    for printer in found:
        target = parse_uri(printer.uri)
        if (target.scheme, target.location) in configured or (printer.name, printer.port) in listed:
            continue
        merged.append(printer.detail())
        listed.add((printer.name, printer.port))
    base = registry.summary()
    extra = merged[len(details) :]
    thermal = int(base["thermal_count"]) + sum(1 for detail in extra if detail["printer_type"] == "thermal")
    configured_ok = base["status"] == "ok"
    physical = sum(1 for detail in merged if not detail["is_virtual"])
    status = "ok" if configured_ok or thermal else "warning" if physical else "error"
    return merged, {**base, "status": status, "detected_count": len(merged), "thermal_count": thermal}
