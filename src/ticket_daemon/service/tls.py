"""``ticket-daemon tls init [--names ...] [--out DIR]``: a local CA and a server certificate for wss:// and https://.

A POS page served over HTTPS may only open ``wss://`` sockets, so a daemon on another machine of the shop's LAN
needs a certificate the tills trust. Public CAs do not issue certificates for ``192.168.1.5`` or ``till.lan``;
instead the daemon makes its own small CA, the shop trusts that CA on each till (README "TLS"), and the CA signs a
server certificate naming this machine: its host name, ``localhost``, ``127.0.0.1``, ``::1``, the addresses its
host name resolves to, and any ``--names`` given.

A CA every till trusts is a key to every site those tills visit, so this one is kept small:

- X.509 name constraints (critical) limit it to the names and addresses it was made for: a certificate it signs
  for any other name is rejected by the tills, even if its key is stolen;
- it is valid :data:`CA_VALID_DAYS` (2 years) and the server certificate :data:`SERVER_VALID_DAYS` (1 year, never
  beyond the CA): one renewal per CA, and a lost key stops mattering within two years;
- its private key is not left on this machine: it is printed once for the operator to keep offline, and only
  ``--keep-ca-key`` stores it (``ca-key.pem``, owner-only). Renewing the server certificate takes the key back with
  ``--ca-key FILE``; without it the command says so, and ``--new-ca`` makes a new CA (to be trusted again).
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
# Re-trusting the CA on every till is the costly step, so it outlives one renewal of the server certificate;
# two years bounds how long a CA key that leaked stays useful.
CA_VALID_DAYS = 2 * 365
# One year: under the 398 days browsers accept for server certificates, renewed with the CA key kept offline.
SERVER_VALID_DAYS = 365
PRIVATE_FILE_MODE = 0o600
CA_NAME = "ticket-daemon local CA"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    ca_key: Path | None  # where the CA key is kept (--keep-ca-key); None when it is not on this machine
    server_cert: Path
    server_key: Path
    names: tuple[str, ...]
    ca_created: bool
    # The new CA's private key for the operator to keep offline (PEM); None when it was kept or reused.
    ca_key_handed_over: bytes | None = None


class TlsRefusal(Exception):
    """What keeps ``tls init`` from issuing a certificate, as a sentence telling the operator what to do."""


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


def init_tls(
    tls_dir: Path,
    names: Sequence[str],
    *,
    now: datetime.datetime | None = None,
    ca_key_file: Path | None = None,
    keep_ca_key: bool = False,
    new_ca: bool = False,
) -> TlsFiles:
    """Make a CA (first time, or ``new_ca``) or reuse the one in ``tls_dir`` with its key (``ca_key_file``, or the
    kept ``ca-key.pem``), and a new server certificate for ``names`` next to it. Raises :class:`TlsRefusal` when
    the CA's key is not at hand or the CA may not sign for ``names``."""
    now = now or datetime.datetime.now(datetime.UTC)
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca_cert_path, kept_key_path = tls_dir / CA_CERT, tls_dir / CA_KEY
    ca_created = new_ca or not ca_cert_path.is_file()
    handed_over: bytes | None = None
    if ca_created:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key, names, now)
        kept_key_path.unlink(missing_ok=True)  # a key of an earlier CA is no use any more
        if keep_ca_key:
            _write_private(kept_key_path, _key_pem(ca_key))
        else:
            handed_over = _key_pem(ca_key)
        ca_cert_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    else:
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        ca_key = _reused_ca_key(ca_cert, ca_key_file or (kept_key_path if kept_key_path.is_file() else None))
        _check_permitted(ca_cert, names)
        if keep_ca_key and not kept_key_path.is_file():
            _write_private(kept_key_path, _key_pem(ca_key))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _server_certificate(server_key, ca_key, ca_cert, names, now)
    server_cert_path, server_key_path = tls_dir / SERVER_CERT, tls_dir / SERVER_KEY
    _write_private(server_key_path, _key_pem(server_key))
    # The chain (server, then CA) lets clients that were given only the CA verify without fetching anything.
    server_cert_path.write_bytes(
        server_cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    kept = kept_key_path if kept_key_path.is_file() else None
    return TlsFiles(ca_cert_path, kept, server_cert_path, server_key_path, tuple(names), ca_created, handed_over)


def _reused_ca_key(ca_cert: x509.Certificate, key_file: Path | None) -> ec.EllipticCurvePrivateKey:
    if key_file is None:
        raise TlsRefusal(
            "the local CA's private key is not on this machine (it was handed to you when the CA was made): run "
            "again with --ca-key FILE, or with --new-ca to make a new CA (every till must then trust the new one)"
        )
    try:
        loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except ValueError:
        raise TlsRefusal(f"{key_file} is not a private key in PEM form (the CA key tls init handed out)") from None
    if not isinstance(loaded, ec.EllipticCurvePrivateKey) or loaded.public_key() != ca_cert.public_key():
        raise TlsRefusal(f"{key_file} is not the private key of this CA ({CA_CERT}): pass the key made with it")
    return loaded


def _check_permitted(ca_cert: x509.Certificate, names: Sequence[str]) -> None:
    """Refuse names the CA's name constraints do not cover (tills would reject the certificate)."""
    try:
        constraints = ca_cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return  # a CA made without constraints signs any name; --new-ca replaces it with a constrained one
    permitted = {_normalised(subtree) for subtree in constraints.permitted_subtrees or ()}
    outside = [name for name in names if _normalised(_general_name(name)) not in permitted]
    if outside:
        raise TlsRefusal(
            f"the local CA may only sign for the names it was made for, not {', '.join(outside)}: run again with "
            "--new-ca and every name (every till must then trust the new CA)"
        )


def _ca_certificate(
    key: ec.EllipticCurvePrivateKey, names: Sequence[str], now: datetime.datetime
) -> x509.Certificate:
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
        # RFC 5280 4.2.1.10: names outside these subtrees are invalid under this CA; critical, as the RFC requires.
        .add_extension(
            x509.NameConstraints(permitted_subtrees=[_subtree(name) for name in names], excluded_subtrees=None),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


def _general_name(name: str) -> x509.GeneralName:
    address = _ip(name)
    return x509.IPAddress(address) if address is not None else x509.DNSName(name)


def _subtree(name: str) -> x509.GeneralName:
    """The name-constraint subtree of one name: the DNS name (and its subdomains) or the single address."""
    address = _ip(name)
    if address is None:
        return x509.DNSName(name)
    return x509.IPAddress(ipaddress.ip_network(f"{address}/{address.max_prefixlen}"))


def _normalised(name: x509.GeneralName) -> str:
    """One form for comparing a name with a subtree: lower-case DNS names, addresses as single-address networks."""
    if isinstance(name, x509.IPAddress):
        value = name.value
        network = value if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)) else None
        return str(network or ipaddress.ip_network(f"{value}/{value.max_prefixlen}"))
    return str(name.value).lower()


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    names: Sequence[str],
    now: datetime.datetime,
) -> x509.Certificate:
    alt_names = [_general_name(name) for name in names]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + datetime.timedelta(days=SERVER_VALID_DAYS), ca_cert.not_valid_after_utc))
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
    ca_key = getattr(args, "ca_key", None)
    try:
        files = init_tls(
            tls_dir,
            names,
            ca_key_file=Path(ca_key).expanduser() if ca_key else None,
            keep_ca_key=bool(getattr(args, "keep_ca_key", False)),
            new_ca=bool(getattr(args, "new_ca", False)),
        )
    except TlsRefusal as refusal:
        print(f"VALIDATION: {refusal}", file=sys.stderr)
        return EXIT_CONFIG
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        print(f"EXECUTION: cannot make the TLS files in {tls_dir}: {reason}", file=sys.stderr)
        return EXIT_START_FAILED
    kept = f" (key kept in {files.ca_key}, owner only)" if files.ca_key else " (its key is not kept on this machine)"
    print(f"{'made' if files.ca_created else 'reused'} local CA: {files.ca_cert}{kept}")
    print(f"  it may only sign for: {', '.join(files.names) if files.ca_created else 'the names it was made for'}")
    print(f"server certificate: {files.server_cert} (key {files.server_key})")
    print(f"  valid for: {', '.join(files.names)}")
    print("add to the configuration file, under [server]:")
    print(f'  tls_cert = "{files.server_cert.as_posix()}"')
    print(f'  tls_key = "{files.server_key.as_posix()}"')
    print(f"then trust {files.ca_cert.name} on every till (README, section TLS) and use wss://…:PORT/ws")
    if files.ca_key_handed_over is not None:
        print(
            "\nThe local CA's private key follows. It is not stored on this machine: keep it offline (a USB stick, "
            "a password manager). Renewing the server certificate needs it: tls init --ca-key FILE. Whoever holds "
            "it can make certificates the tills trust for the names above."
        )
        sys.stdout.write(files.ca_key_handed_over.decode("ascii"))
    return EXIT_OK
