"""Printer URIs → transports (DESIGN.md "Printers are URIs", after CUPS backends).

``tcp://host[:port]`` (port 9100 by default), ``file:///path`` and ``virtual://name``. Parsing is pure and separate
from construction, so configuration can be checked without touching the network or the disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .base import DEFAULT_TIMEOUTS, Timeouts, Transport
from .errors import unsupported_uri
from .file import FileTransport
from .tcp import DEFAULT_PORT, TcpTransport, format_address
from .virtual import VirtualTransport, virtual_printer_dir

SCHEMES = ("tcp", "file", "virtual")
_WINDOWS_DRIVE = re.compile(r"/[A-Za-z]:[/\\]")


@dataclass(frozen=True, slots=True)
class PrinterURI:
    """A parsed URI: ``scheme`` plus ``location`` (``host:port``, a path or a virtual printer's name)."""

    scheme: str
    location: str
    host: str = ""
    port: int = 0


def parse_uri(uri: str) -> PrinterURI:
    """Check and split a printer URI. Raises a not-retryable ``PrinterError`` naming what is wrong."""
    try:
        parts = urlsplit(uri.strip())
        port = parts.port
    except ValueError as error:
        raise unsupported_uri(uri, str(error)) from None
    scheme = parts.scheme.lower()
    if scheme == "tcp":
        if not parts.hostname:
            raise unsupported_uri(uri, "expected tcp://HOST:PORT")
        if parts.path not in ("", "/") or parts.query:
            raise unsupported_uri(uri, "a tcp printer URI has no path or options")
        port = DEFAULT_PORT if port is None else port
        if not 0 < port < 65536:
            raise unsupported_uri(uri, "the port must be 1-65535")
        return PrinterURI("tcp", format_address(parts.hostname, port), parts.hostname, port)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise unsupported_uri(uri, "expected file:///PATH (three slashes)")
        path = unquote(parts.path)
        if _WINDOWS_DRIVE.match(path):  # file:///C:/out/receipts.bin
            path = path[1:]
        if not path:
            raise unsupported_uri(uri, "expected file:///PATH")
        return PrinterURI("file", path)
    if scheme == "virtual":
        name = unquote(parts.netloc)
        if parts.path not in ("", "/") or not name:
            raise unsupported_uri(uri, "expected virtual://NAME")
        virtual_printer_dir(Path(), name)  # validates the name
        return PrinterURI("virtual", name)
    expected = ", ".join(f"{known}://" for known in SCHEMES)
    raise unsupported_uri(uri, f"the scheme must be one of {expected}")


def open_transport(uri: str, *, dot_width: int, data_dir: Path, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> Transport:
    """The transport for ``uri``, not yet opened (no I/O happens here; call ``await transport.open()``)."""
    parsed = parse_uri(uri)
    if parsed.scheme == "tcp":
        return TcpTransport(parsed.host, parsed.port, timeouts=timeouts)
    if parsed.scheme == "file":
        return FileTransport(Path(parsed.location), timeouts=timeouts)
    return VirtualTransport(parsed.location, data_dir=data_dir, dot_width=dot_width)
