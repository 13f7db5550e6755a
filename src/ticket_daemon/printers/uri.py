"""Printer URIs → transports (docs/printers.md, after CUPS backends).

``tcp://host[:port]`` (port 9100 by default), ``file:///path``, ``virtual://name``, ``cups://QUEUE[?server=…]``,
``win32://Printer Name``, ``serial:///dev/ttyUSB0?baudrate=9600&flow=rtscts`` (``serial://COM3?…``) and
``usb://VID:PID[?interface=N]``. The links that can carry several jobs (tcp, file, serial, usb) take
``?connection=per-job``: each job opens and closes a link of its own instead of sharing the one kept open while jobs
wait. On Windows a bare printer name (no scheme) means
``win32://NAME``, as the original service printed to the Windows printer named like the profile's model. Parsing is
pure and separate from construction, so configuration can be checked without touching the network, the disk or a
device.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from .base import CONNECTION_PER_JOB, CONNECTION_SHARED, DEFAULT_TIMEOUTS, Timeouts, Transport
from .errors import unsupported_uri
from .tcp import DEFAULT_PORT, TcpTransport, format_address
from .virtual import VirtualTransport, virtual_printer_dir

# The network and virtual transports load with this module; each other one (file, CUPS, Windows, serial, USB)
# loads when a URI of its scheme is first read, so a daemon loads only the transports its printers use.

SCHEMES = ("tcp", "file", "virtual", "cups", "win32", "serial", "usb")
CONNECTION = "connection"  # the option naming how the jobs waiting for a printer share its link
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_WINDOWS_DRIVE = re.compile(r"/[A-Za-z]:[/\\]")


@dataclass(frozen=True, slots=True)
class PrinterURI:
    """A parsed URI: ``scheme`` plus ``location`` (``host:port``, a path or a virtual printer's name)."""

    scheme: str
    location: str
    host: str = ""
    port: int = 0
    options: tuple[tuple[str, str], ...] = ()  # the query, e.g. (("baudrate", "9600"),)

    def option(self, name: str) -> str | None:
        return dict(self.options).get(name)


def _options(uri: str, query: str, allowed: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise unsupported_uri(uri, "the options must be NAME=VALUE joined by &") from None
    for name, value in pairs:
        if name not in allowed:
            known = ", ".join(allowed) if allowed else "none"
            raise unsupported_uri(uri, f"unknown option '{name}' (known: {known})")
        if name == CONNECTION and value not in (CONNECTION_SHARED, CONNECTION_PER_JOB):
            raise unsupported_uri(uri, f"connection must be {CONNECTION_SHARED} or {CONNECTION_PER_JOB}")
    return tuple(pairs)


def _parse_raw_name(uri: str) -> PrinterURI:
    """``win32://Printer Name``: everything after the scheme is the name (it may hold spaces, "\\" or "#")."""
    name = unquote(uri.strip()[len("win32://") :]).strip()
    if not name:
        raise unsupported_uri(uri, "expected win32://PRINTER NAME")
    return PrinterURI("win32", name)


def parse_uri(uri: str, *, windows: bool | None = None) -> PrinterURI:
    """Check and split a printer URI. Raises a not-retryable ``PrinterError`` naming what is wrong.

    ``windows`` (default: running on Windows) accepts a bare printer name as ``win32://NAME``."""
    windows = os.name == "nt" if windows is None else windows
    if windows and uri.strip() and not _SCHEME.match(uri.strip()):
        return PrinterURI("win32", uri.strip())
    if uri.strip().lower().startswith("win32://"):
        return _parse_raw_name(uri)
    try:
        parts = urlsplit(uri.strip())
        scheme = parts.scheme.lower()
        port = parts.port if scheme == "tcp" else None  # usb://04b8:0e15 is no host:port
    except ValueError as error:
        raise unsupported_uri(uri, str(error)) from None
    if scheme == "tcp":
        if not parts.hostname:
            raise unsupported_uri(uri, "expected tcp://HOST:PORT")
        if parts.path not in ("", "/"):
            raise unsupported_uri(uri, "a tcp printer URI has no path")
        options = _options(uri, parts.query, (CONNECTION,))
        port = DEFAULT_PORT if port is None else port
        if not 0 < port < 65536:
            raise unsupported_uri(uri, "the port must be 1-65535")
        return PrinterURI("tcp", format_address(parts.hostname, port), parts.hostname, port, options=options)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise unsupported_uri(uri, "expected file:///PATH (three slashes)")
        path = unquote(parts.path)
        if _WINDOWS_DRIVE.match(path):  # file:///C:/out/receipts.bin
            path = path[1:]
        if not path:
            raise unsupported_uri(uri, "expected file:///PATH")
        return PrinterURI("file", path, options=_options(uri, parts.query, (CONNECTION,)))
    if scheme == "virtual":
        name = unquote(parts.netloc)
        if parts.path not in ("", "/") or not name:
            raise unsupported_uri(uri, "expected virtual://NAME")
        virtual_printer_dir(Path(), name)  # validates the name
        return PrinterURI("virtual", name)
    if scheme == "cups":
        from .cups import QUEUE_NAME

        queue = unquote(parts.netloc)
        if parts.path not in ("", "/") or not QUEUE_NAME.fullmatch(queue):
            raise unsupported_uri(uri, "expected cups://QUEUE (a CUPS queue name, no spaces or slashes)")
        return PrinterURI("cups", queue, options=_options(uri, parts.query, ("server",)))
    if scheme == "serial":
        from .serial_port import SerialSettings

        device = unquote(parts.netloc + parts.path)  # serial:///dev/ttyUSB0 or serial://COM3
        if not device:
            raise unsupported_uri(uri, "expected serial:///dev/DEVICE or serial://COMn")
        options = _options(uri, parts.query, (*SerialSettings.OPTIONS, CONNECTION))
        try:
            SerialSettings.from_options(dict(options))
        except ValueError as error:
            raise unsupported_uri(uri, str(error)) from None
        return PrinterURI("serial", device, options=options)
    if scheme == "usb":
        from .usb import UsbTarget

        options = _options(uri, parts.query, (*UsbTarget.OPTIONS, CONNECTION))
        try:
            target = UsbTarget.parse(parts.netloc, dict(options))
        except ValueError as error:
            raise unsupported_uri(uri, str(error)) from None
        if parts.path not in ("", "/"):
            raise unsupported_uri(uri, "expected usb://VID:PID[?interface=N]")
        return PrinterURI("usb", target.id, options=options)
    expected = ", ".join(f"{known}://" for known in SCHEMES)
    raise unsupported_uri(uri, f"the scheme must be one of {expected}")


def open_transport(
    uri: PrinterURI | str,
    *,
    dot_width: int,
    data_dir: Path,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    codecs: Mapping[int, str] | None = None,
) -> Transport:
    """The transport for ``uri``, not yet opened (no I/O happens here; call ``await transport.open()``).
    ``dot_width`` and ``codecs`` (its ``ESC t`` table) are what a virtual printer draws with."""
    parsed = uri if isinstance(uri, PrinterURI) else parse_uri(uri)
    per_job = parsed.option(CONNECTION) == CONNECTION_PER_JOB
    if parsed.scheme == "tcp":
        return TcpTransport(parsed.host, parsed.port, timeouts=timeouts, connection_per_job=per_job)
    if parsed.scheme == "file":
        from .file import FileTransport

        return FileTransport(Path(parsed.location), timeouts=timeouts, connection_per_job=per_job)
    if parsed.scheme == "cups":
        from .cups import CupsTransport

        return CupsTransport(parsed.location, server=parsed.option("server"), timeouts=timeouts)
    if parsed.scheme == "win32":
        from .win32 import Win32Transport

        return Win32Transport(parsed.location, timeouts=timeouts)
    if parsed.scheme == "serial":
        from .serial_port import SerialSettings, SerialTransport

        settings = SerialSettings.from_options(dict(parsed.options))
        return SerialTransport(parsed.location, settings, timeouts=timeouts, connection_per_job=per_job)
    if parsed.scheme == "usb":
        from .usb import UsbTarget, UsbTransport

        target = UsbTarget.parse(parsed.location, dict(parsed.options))
        return UsbTransport(target, timeouts=timeouts, connection_per_job=per_job)
    return VirtualTransport(parsed.location, data_dir=data_dir, dot_width=dot_width, codecs=codecs)
