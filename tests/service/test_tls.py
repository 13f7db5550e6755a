"""wss:// and https:// with ``ticket-daemon tls init``: a local CA and a server certificate that a real TLS client
verifies for 127.0.0.1 and localhost, and a daemon that serves /health, the dashboard login and a ticket over it."""

from __future__ import annotations

import json
import socket
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from websockets.sync.client import connect

from server.harness import WAIT_S, DaemonLauncher, receipt
from ticket_daemon.commands.main import main
from ticket_daemon.config import ConfigError, load_settings
from ticket_daemon.server.passwords import hash_password
from ticket_daemon.service.tls import CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY, init_tls, machine_names


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[DaemonLauncher]:
    launcher = DaemonLauncher(tmp_path)
    yield launcher
    launcher.stop_all()


def trusting(ca_file: Path) -> ssl.SSLContext:
    """What a till that trusts the CA does: verify the chain and the host name."""
    return ssl.create_default_context(cafile=str(ca_file))


def test_tls_init_with_a_kept_ca_key_makes_a_private_ca_and_a_certificate_for_this_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tls"
    kept = ["--keep-ca-key", "--names", "till.lan"]
    assert main(["tls", "init", "--out", str(out), "--data-dir", str(tmp_path), *kept]) == 0
    printed = capsys.readouterr().out
    assert f'tls_cert = "{(out / SERVER_CERT).as_posix()}"' in printed
    assert f'tls_key = "{(out / SERVER_KEY).as_posix()}"' in printed
    for private in (CA_KEY, SERVER_KEY):
        assert stat.S_IMODE((out / private).stat().st_mode) == 0o600, private

    certificate = x509.load_pem_x509_certificate((out / SERVER_CERT).read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = set(names.get_values_for_type(x509.DNSName))
    addresses = {str(address) for address in names.get_values_for_type(x509.IPAddress)}
    assert {"localhost", "till.lan", socket.gethostname()} <= dns
    assert {"127.0.0.1", "::1"} <= addresses

    # Run again: the CA is kept (tills that trust it keep working), the server certificate is new.
    ca_before = (out / CA_CERT).read_bytes()
    assert main(["tls", "init", "--out", str(out), "--data-dir", str(tmp_path)]) == 0
    assert (out / CA_CERT).read_bytes() == ca_before
    assert "reused local CA" in capsys.readouterr().out


def test_machine_names_include_loopback_and_extras_once() -> None:
    names = machine_names(["pos.lan", "localhost"])
    assert names[:4] == [socket.gethostname(), "localhost", "127.0.0.1", "::1"]
    assert names.count("localhost") == 1 and "pos.lan" in names


def test_a_daemon_with_the_certificate_serves_https_and_wss(daemons: DaemonLauncher, tmp_path: Path) -> None:
    files = init_tls(tmp_path / "tls", machine_names())
    daemon = daemons.start(tls_cert=str(files.server_cert), tls_key=str(files.server_key))
    context = trusting(files.ca_cert)

    for host in ("127.0.0.1", "localhost"):
        health = httpx.get(f"https://{host}:{daemon.port}/health", verify=context, timeout=WAIT_S)
        assert health.status_code == 200 and health.json()["status"] in ("ok", "degraded")
    with pytest.raises(httpx.ConnectError):  # a client that does not trust the CA refuses the daemon
        httpx.get(f"https://127.0.0.1:{daemon.port}/health", timeout=WAIT_S)

    with connect(f"wss://127.0.0.1:{daemon.port}/ws", ssl=context, open_timeout=WAIT_S, proxy=None) as ws:
        assert json.loads(ws.recv(timeout=WAIT_S))["tipo"] == "info"
        ws.send(json.dumps({"tipo": "ticket", "id": "tls-1", "datos": receipt("OVER TLS")}))
        ack = json.loads(ws.recv(timeout=WAIT_S))
        assert (ack["tipo"], ack["status"]) == ("ack", "queued"), ack
        result = json.loads(ws.recv(timeout=WAIT_S))
        assert (result["tipo"], result["status"]) == ("result", "success"), result
    assert b"OVER TLS" in daemon.virtual_jobs("default")[0]


def test_the_dashboard_cookie_is_secure_over_tls(daemons: DaemonLauncher, tmp_path: Path) -> None:
    files = init_tls(tmp_path / "tls", ["localhost", "127.0.0.1"])
    daemon = daemons.start(
        tls_cert=str(files.server_cert),
        tls_key=str(files.server_key),
        dashboard_password_hash=hash_password("owner-pass"),
    )
    reply = httpx.post(
        f"https://127.0.0.1:{daemon.port}/auth/login",
        json={"password": "owner-pass"},
        verify=trusting(files.ca_cert),
        timeout=WAIT_S,
    )
    assert reply.status_code == 200
    attributes = [part.strip().lower() for part in reply.headers["set-cookie"].split(";")]
    assert "secure" in attributes and "httponly" in attributes


def test_tls_settings_come_in_pairs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tls_cert and tls_key must be set together"):
        load_settings(flags={"server": {"tls_cert": str(tmp_path / "cert.pem")}})
