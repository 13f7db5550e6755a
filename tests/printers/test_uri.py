"""An installer writes a printer URI in the configuration; a wrong one is refused with a sentence that says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticket_daemon.printers import (
    FileTransport,
    PrinterError,
    TcpTransport,
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
