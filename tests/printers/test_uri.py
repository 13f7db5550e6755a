"""An installer writes a printer URI in the configuration; a wrong one is refused with a sentence that says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticket_daemon.printers import (
    FileTransport,
    PrinterError,
    SerialTransport,
    TcpTransport,
    UsbTransport,
    VirtualTransport,
    open_transport,
    parse_uri,
)


def test_tcp_uri_defaults_to_port_9100(tmp_path: Path) -> None:
    transport = open_transport("tcp://10.0.0.5", dot_width=576, data_dir=tmp_path)
    assert isinstance(transport, TcpTransport)
    assert (transport.host, transport.port, transport.uri) == ("10.0.0.5", 9100, "tcp://10.0.0.5:9100")


def test_a_tcp_printer_keeps_its_connection_for_waiting_jobs_unless_told_one_per_job(tmp_path: Path) -> None:
    shared = open_transport("tcp://10.0.0.5", dot_width=576, data_dir=tmp_path)
    per_job = open_transport("tcp://10.0.0.5:9100?connection=per-job", dot_width=576, data_dir=tmp_path)
    assert isinstance(per_job, TcpTransport)
    assert (per_job.host, per_job.port, per_job.uri) == ("10.0.0.5", 9100, "tcp://10.0.0.5:9100")
    assert (shared.can_take_another_job(), per_job.can_take_another_job()) == (False, False)  # not connected yet


@pytest.mark.parametrize(
    "uri", ["file:///dev/usb/lp0", "serial:///dev/ttyUSB0?baudrate=19200", "usb://04b8:0202?interface=1"]
)
def test_a_device_printer_takes_the_same_connection_option_as_a_network_printer(uri: str, tmp_path: Path) -> None:
    separator = "&" if "?" in uri else "?"
    shared = open_transport(f"{uri}{separator}connection=shared", dot_width=576, data_dir=tmp_path)
    per_job = open_transport(f"{uri}{separator}connection=per-job", dot_width=576, data_dir=tmp_path)
    assert type(shared) is type(per_job)
    assert isinstance(per_job, FileTransport | SerialTransport | UsbTransport)
    assert parse_uri(f"{uri}{separator}connection=per-job").location == parse_uri(uri).location
    assert (shared.can_take_another_job(), per_job.can_take_another_job()) == (False, False)  # not open yet


def test_tcp_uri_with_port_and_ipv6() -> None:
    assert parse_uri("tcp://printer.local:9101").location == "printer.local:9101"
    assert parse_uri("tcp://[::1]:9100").host == "::1"


def test_file_uri_keeps_the_absolute_path(tmp_path: Path) -> None:
    transport = open_transport("file:///dev/usb/lp0", dot_width=576, data_dir=tmp_path)
    assert isinstance(transport, FileTransport)
    assert transport.path == Path("/dev/usb/lp0")
    assert transport.can_read_status is False


def test_virtual_uri_lives_under_the_data_dir(tmp_path: Path) -> None:
    transport = open_transport("virtual://counter-2", dot_width=384, data_dir=tmp_path)
    assert isinstance(transport, VirtualTransport)
    assert transport.folder == tmp_path / "virtual" / "counter-2"


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("lpd://host/queue", "the scheme must be one of tcp://, file://, virtual://"),
        ("10.0.0.5:9100", "the scheme must be one of"),
        ("tcp://:9100", "expected tcp://HOST:PORT"),
        ("tcp://host:99999", "Port out of range"),
        ("tcp://host:9100/queue", "no path"),
        ("tcp://host:9100?connection=sometimes", "connection must be shared or per-job"),
        ("tcp://host:9100?timeout=5", "unknown option 'timeout' (known: connection)"),
        ("file://server/share", "three slashes"),
        ("file:///dev/usb/lp0?connection=sometimes", "connection must be shared or per-job"),
        ("file:///dev/usb/lp0?baudrate=9600", "unknown option 'baudrate' (known: connection)"),
        ("serial:///dev/ttyS0?connection=pooled", "connection must be shared or per-job"),
        ("usb://04b8:0202?connection=pooled", "connection must be shared or per-job"),
        ("virtual://", "expected virtual://NAME"),
        ("virtual://../etc", "expected virtual://NAME"),
        ("virtual://.hidden", "Invalid virtual printer name"),
        ("virtual://my printer", "Invalid virtual printer name"),
    ],
)
def test_a_wrong_uri_is_refused_for_good(uri: str, why: str) -> None:
    with pytest.raises(PrinterError) as info:
        parse_uri(uri)
    assert str(info.value).startswith("PRINTER: ")
    assert why in str(info.value)
    assert not info.value.retryable
