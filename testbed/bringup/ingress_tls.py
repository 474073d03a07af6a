"""The testbed's own CA and the ingress server certificate it signs, generated at bring-up.

Contour terminates TLS for the shop's host names (the HTTPProxies' fqdns) with a
`kubernetes.io/tls` Secret. Nothing is committed: the CA (ECDSA P-256) is created once in the
target's state dir, key mode 0600, and reused by every later bring-up, so a user trusts
`ca.crt` once and a Secret re-created after a teardown is still trusted. The Secret itself is
created only when absent (like every generated Secret), so a re-run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from testbed.errors import TestbedError
from testbed.shop.runtime.private_files import create_private_file

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
CA_NAME = "testbed ingress CA"
CA_VALIDITY = dt.timedelta(days=3650)
SERVER_VALIDITY = dt.timedelta(days=397)  # the longest lifetime browsers accept for a server certificate
_BACKDATE = dt.timedelta(minutes=5)  # tolerate clock skew between this machine and clients


@dataclass(frozen=True)
class CertificateAuthority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_path: Path

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()


def _new_ca() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "testbed"),
                      x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - _BACKDATE).not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _create_ca(directory: Path) -> None:
    """Write ca.crt and ca.key (0600) into a private temporary directory, then rename it into place:
    a reader sees both files or neither, and of two bring-ups creating it at once the first wins."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        cert_pem, key_pem = _new_ca()
        create_private_file(staging / CA_KEY, key_pem)
        (staging / CA_CERT).write_bytes(cert_pem)
        try:
            staging.rename(directory)
        except OSError:
            if not (directory / CA_KEY).exists():  # not a concurrent winner: something else is in the way
                raise TestbedError(f"{directory} exists without {CA_KEY}; remove it to create a new testbed CA "
                                   "(clients must then trust the new ca.crt)") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_or_create_ca(directory: Path) -> CertificateAuthority:
    """The CA kept in `directory` (ca.crt, ca.key mode 0600), created on first use."""
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    if not key_path.exists():
        _create_ca(directory)
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as err:
        raise TestbedError(f"the testbed CA in {directory} is unreadable ({err}); remove {key_path} and {cert_path} "
                           "to create a new one (clients must then trust the new ca.crt)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or cert.public_key() != key.public_key():
        raise TestbedError(f"{cert_path} does not belong to {key_path}; remove both to create a new CA")
    return CertificateAuthority(cert, key, cert_path)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def server_certificate(ca: CertificateAuthority, hosts: Sequence[str]) -> dict[str, str]:
    """`kubernetes.io/tls` data (tls.crt = leaf + CA, tls.key, ca.crt) for `hosts`, signed by `ca`."""
    if not hosts:
        raise TestbedError("a server certificate needs at least one host name")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "testbed"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE).not_valid_after(min(now + SERVER_VALIDITY, ca.cert.not_valid_after_utc))
            .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
            .sign(ca.key, hashes.SHA256()))
    leaf = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return {"tls.crt": leaf + ca.cert_pem, "tls.key": key_pem, "ca.crt": ca.cert_pem}
