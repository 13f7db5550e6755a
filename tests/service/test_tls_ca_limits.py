"""The local CA of ``tls init`` cannot be turned against the tills that trust it: its name constraints limit it to
the names it was made for (checked with ``cryptography``'s own path validation, as a till would), it lives two
years (its server certificate one), and its private key is handed to the operator instead of being left on disk."""

from __future__ import annotations

import datetime
import ipaddress
import socket
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from ticket_daemon.commands.main import main
from ticket_daemon.service.tls import CA_CERT, CA_KEY, SERVER_CERT

NAMES = ["till.lan", "192.168.1.5"]
KEY_BEGIN = "-----BEGIN PRIVATE KEY-----"


def init(out: Path, *extra: str) -> int:
    return main(["tls", "init", "--out", str(out), "--data-dir", str(out.parent), "--names", *NAMES, *extra])


def handed_over_key(printed: str) -> ec.EllipticCurvePrivateKey:
    pem = printed[printed.index(KEY_BEGIN) :].encode()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def forged_leaf(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, name: x509.GeneralName) -> x509.Certificate:
    """What a thief of the CA key would make: a server certificate for a site of his choosing."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forged")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([name]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def till_accepts(ca: x509.Certificate, leaf: x509.Certificate, name: x509.DNSName | x509.IPAddress) -> bool:
    """RFC 5280 path validation against the CA alone, for ``name``: what a till trusting the CA decides."""
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(name)
    try:
        verifier.verify(leaf, [])
    except VerificationError:
        return False
    return True


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(path.read_bytes())[0]


def test_the_ca_signs_only_for_its_own_names_and_its_key_is_handed_over_not_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tls"
    assert init(out) == 0
    printed = capsys.readouterr().out
    ca, server = load(out / CA_CERT), load(out / SERVER_CERT)

    assert not (out / CA_KEY).exists()
    assert KEY_BEGIN not in "".join(path.read_text() for path in out.iterdir() if path.name != "server-key.pem")
    ca_key = handed_over_key(printed)
    assert ca_key.public_key() == ca.public_key()
    assert "It is not stored on this machine" in printed

    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    assert x509.DNSName("till.lan") in (constraints.value.permitted_subtrees or [])
    assert ca.not_valid_after_utc - ca.not_valid_before_utc <= datetime.timedelta(days=2 * 365, minutes=5)
    assert server.not_valid_after_utc - server.not_valid_before_utc <= datetime.timedelta(days=365, minutes=5)

    assert till_accepts(ca, server, x509.DNSName("till.lan"))
    assert till_accepts(ca, server, x509.DNSName(socket.gethostname()))
    for stolen_use in (x509.DNSName("bank.example"), x509.IPAddress(ipaddress.ip_address("10.9.9.9"))):
        leaf = forged_leaf(ca, ca_key, stolen_use)
        assert not till_accepts(ca, leaf, stolen_use), stolen_use
    # A subdomain of a permitted name is inside the constraint (RFC 5280); another domain is not.
    assert till_accepts(ca, forged_leaf(ca, ca_key, x509.DNSName("pos.till.lan")), x509.DNSName("pos.till.lan"))
    assert not till_accepts(ca, forged_leaf(ca, ca_key, x509.DNSName("till.lan.evil")), x509.DNSName("till.lan.evil"))


def test_renewing_without_the_ca_key_says_what_to_do_and_renewing_with_it_keeps_the_ca(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tls"
    assert init(out) == 0
    key_file = tmp_path / "offline-ca-key.pem"
    printed = capsys.readouterr().out
    key_file.write_text(printed[printed.index(KEY_BEGIN) :])
    ca_before = (out / CA_CERT).read_bytes()

    assert init(out) == 2
    refusal = capsys.readouterr().err.strip()
    assert refusal == (
        "VALIDATION: the local CA's private key is not on this machine (it was handed to you when the CA was made): "
        "run again with --ca-key FILE, or with --new-ca to make a new CA (every till must then trust the new one)"
    )

    assert init(out, "--ca-key", str(key_file)) == 0
    renewed = capsys.readouterr().out
    assert "reused local CA" in renewed and KEY_BEGIN not in renewed
    assert (out / CA_CERT).read_bytes() == ca_before
    assert till_accepts(load(out / CA_CERT), load(out / SERVER_CERT), x509.DNSName("till.lan"))

    other = ["tls", "init", "--out", str(out), "--data-dir", str(tmp_path), "--ca-key", str(key_file)]
    assert main([*other, "--names", "other.lan"]) == 2
    assert "may only sign for the names it was made for, not other.lan" in capsys.readouterr().err


def test_keep_ca_key_is_the_explicit_way_to_leave_the_key_on_this_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tls"
    assert init(out, "--keep-ca-key") == 0
    printed = capsys.readouterr().out
    assert KEY_BEGIN not in printed and f"key kept in {out / CA_KEY}" in printed
    assert (out / CA_KEY).stat().st_mode & 0o077 == 0
    assert init(out) == 0  # the kept key renews without being asked for
