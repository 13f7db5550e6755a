"""Printers: transports behind one small interface, selected by URI; real-time status; the printer registry.

Import the virtual network printer simulator from ``ticket_daemon.printers.virtual_server``: only the
``virtual-printer`` command and tests run it, so it is not re-exported here.
"""

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
