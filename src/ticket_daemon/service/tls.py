"""``ticket-daemon tls init [--names ...] [--out DIR]``: a local CA and a server certificate for wss:// and https://.

A POS page served over HTTPS may only open ``wss://`` sockets, so a daemon on another machine of the shop's LAN
needs a certificate the tills trust. Public CAs do not issue certificates for ``192.168.1.5`` or ``till.lan``;
instead the daemon makes its own small CA once (kept in ``<data_dir>/tls/``, private key readable by the owner
only), the shop trusts that CA on each till (README "TLS"), and the CA signs a server certificate naming this
machine: its host name, ``localhost``, ``127.0.0.1``, ``::1``, the addresses its host name resolves to, and any
``--names`` given. Running it again reuses the CA, so tills that trust it keep working with a new certificate.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import socket
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..config import ConfigError, load_settings
from .console import EXIT_CONFIG, EXIT_OK, EXIT_START_FAILED

TLS_DIR = "tls"
CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"
# The CA lives long: re-trusting it on every till is the expensive step. Server certificates are re-made at will;
# 825 days is the longest validity Apple platforms accept for a TLS server certificate.
CA_VALID_DAYS = 10 * 365
SERVER_VALID_DAYS = 825
PRIVATE_FILE_MODE = 0o600
CA_NAME = "ticket-daemon local CA"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    names: tuple[str, ...]
    ca_created: bool


def machine_names(extra: Iterable[str] = ()) -> list[str]:
    """This machine's host name, localhost, the loopback addresses, the non-loopback addresses its host name
    resolves to, then ``extra``; without duplicates, in that order."""
    hostname = socket.gethostname()
    names = [hostname, "localhost", "127.0.0.1", "::1"]
    try:
        found = socket.getaddrinfo(hostname, None, type=socket.SOCK_STREAM)
    except OSError:
        found = []
    for _, _, _, _, address in found:
        text = str(address[0]).split("%")[0]  # an IPv6 scope (fe80::1%eth0) is not part of a certificate name
        if not ipaddress.ip_address(text).is_loopback:
            names.append(text)
    names.extend(name.strip() for name in extra if name.strip())
    return list(dict.fromkeys(names))


def init_tls(tls_dir: Path, names: Sequence[str], *, now: datetime.datetime | None = None) -> TlsFiles:
    """Make (or reuse) the CA in ``tls_dir`` and a new server certificate for ``names`` next to it."""
    now = now or datetime.datetime.now(datetime.UTC)
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca_cert_path, ca_key_path = tls_dir / CA_CERT, tls_dir / CA_KEY
    ca_created = not (ca_cert_path.is_file() and ca_key_path.is_file())
    if ca_created:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key, now)
        _write_private(ca_key_path, _key_pem(ca_key))
        ca_cert_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    else:
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{ca_key_path} is not the EC key this command makes")
        ca_key = loaded
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _server_certificate(server_key, ca_key, ca_cert, names, now)
    server_cert_path, server_key_path = tls_dir / SERVER_CERT, tls_dir / SERVER_KEY
    _write_private(server_key_path, _key_pem(server_key))
    # The chain (server, then CA) lets clients that were given only the CA verify without fetching anything.
    server_cert_path.write_bytes(
        server_cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    return TlsFiles(ca_cert_path, ca_key_path, server_cert_path, server_key_path, tuple(names), ca_created)


def _ca_certificate(key: ec.EllipticCurvePrivateKey, now: datetime.datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{CA_NAME} ({socket.gethostname()[:40]})"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ticket-daemon"),
        ]
    )
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_VALID_DAYS))
        # pathlen 0: this CA signs server certificates only, never another CA.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    names: Sequence[str],
    now: datetime.datetime,
) -> x509.Certificate:
    alt_names: list[x509.GeneralName] = []
    for name in names:
        address = _ip(name)
        alt_names.append(x509.IPAddress(address) if address is not None else x509.DNSName(name))
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVER_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _ip(name: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    """Create the file readable by its owner only from the start (never briefly world-readable)."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def tls_main(args: argparse.Namespace) -> int:
    """Entry point of ``ticket-daemon tls init``: make the files, print where they are and the settings to add."""
    try:
        settings = load_settings(
            getattr(args, "config", None), {"storage": {"data_dir": getattr(args, "data_dir", None)}}
        )
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return EXIT_CONFIG
    out = getattr(args, "out", None)
    tls_dir = Path(out).expanduser().resolve() if out else settings.storage.data_dir / TLS_DIR
    names = machine_names(getattr(args, "names", None) or ())
    try:
        files = init_tls(tls_dir, names)
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        print(f"EXECUTION: cannot make the TLS files in {tls_dir}: {reason}", file=sys.stderr)
        return EXIT_START_FAILED
    print(f"{'made' if files.ca_created else 'reused'} local CA: {files.ca_cert} (key {files.ca_key}, keep private)")
    print(f"server certificate: {files.server_cert} (key {files.server_key})")
    print(f"  valid for: {', '.join(files.names)}")
    print("add to the configuration file, under [server]:")
    print(f'  tls_cert = "{files.server_cert.as_posix()}"')
    print(f'  tls_key = "{files.server_key.as_posix()}"')
    print(f"then trust {files.ca_cert.name} on every till (README, section TLS) and use wss://…:PORT/ws")
    return EXIT_OK
