"""Printers: transports behind one small interface, selected by URI; real-time status; the printer registry.

Import the virtual network printer simulator from ``ticket_daemon.printers.virtual_server`` (a command, not a
library part, so it is not re-exported here).
"""

from .base import DEFAULT_TIMEOUTS, Timeouts, Transport
from .errors import PrinterError
from .file import FileTransport
from .registry import ConfiguredPrinter, PrinterRegistry
from .status import PrinterState, parse_status, state_error, status_replies
from .tcp import TcpTransport
from .uri import PrinterURI, open_transport, parse_uri
from .virtual import VirtualJob, VirtualTransport, list_jobs, virtual_printer_dir

__all__ = [
    "DEFAULT_TIMEOUTS",
    "ConfiguredPrinter",
    "FileTransport",
    "PrinterError",
    "PrinterRegistry",
    "PrinterState",
    "PrinterURI",
    "TcpTransport",
    "Timeouts",
    "Transport",
    "VirtualJob",
    "VirtualTransport",
    "list_jobs",
    "open_transport",
    "parse_status",
    "parse_uri",
    "state_error",
    "status_replies",
    "virtual_printer_dir",
]
