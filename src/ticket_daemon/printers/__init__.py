"""Printers: transports behind one small interface, selected by URI; real-time status; the printer registry.

Import the virtual network printer simulator from ``ticket_daemon.printers.virtual_server``: only the
``virtual-printer`` command and tests run it, so it is not re-exported here.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Timeouts, Transport
    from .cups import CupsTransport
    from .discovery import FoundPrinter, PrinterDiscovery, with_discovered
    from .errors import PrinterError
    from .file import FileTransport
    from .probe import probe_state
    from .registry import ConfiguredPrinter, PrinterRegistry
    from .serial_port import SerialSettings, SerialTransport
    from .status import PrinterState, parse_status, state_error, status_replies
    from .tcp import TcpTransport
    from .uri import PrinterURI, open_transport, parse_uri
    from .usb import UsbTarget, UsbTransport
    from .virtual import VirtualJob, VirtualTransport, list_jobs, virtual_printer_dir
    from .win32 import Win32Transport

# Where each name lives. They load on first use (PEP 562): the daemon imports only the transports its printers use
# (each module imports what it needs itself), so a shop with one network printer never loads the serial, USB, CUPS
# or discovery code.
_HOMES = {
    "Timeouts": "base",
    "Transport": "base",
    "CupsTransport": "cups",
    "FoundPrinter": "discovery",
    "PrinterDiscovery": "discovery",
    "with_discovered": "discovery",
    "PrinterError": "errors",
    "FileTransport": "file",
    "probe_state": "probe",
    "ConfiguredPrinter": "registry",
    "PrinterRegistry": "registry",
    "SerialSettings": "serial_port",
    "SerialTransport": "serial_port",
    "PrinterState": "status",
    "parse_status": "status",
    "state_error": "status",
    "status_replies": "status",
    "TcpTransport": "tcp",
    "PrinterURI": "uri",
    "open_transport": "uri",
    "parse_uri": "uri",
    "UsbTarget": "usb",
    "UsbTransport": "usb",
    "VirtualJob": "virtual",
    "VirtualTransport": "virtual",
    "list_jobs": "virtual",
    "virtual_printer_dir": "virtual",
    "Win32Transport": "win32",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)


__all__ = [
    "ConfiguredPrinter",
    "CupsTransport",
    "FileTransport",
    "FoundPrinter",
    "PrinterDiscovery",
    "PrinterError",
    "PrinterRegistry",
    "PrinterState",
    "PrinterURI",
    "SerialSettings",
    "SerialTransport",
    "TcpTransport",
    "Timeouts",
    "Transport",
    "UsbTarget",
    "UsbTransport",
    "VirtualJob",
    "VirtualTransport",
    "Win32Transport",
    "list_jobs",
    "open_transport",
    "parse_status",
    "parse_uri",
    "probe_state",
    "state_error",
    "status_replies",
    "virtual_printer_dir",
    "with_discovered",
]
