"""The cluster side of the Harbor bootstrap tests: what the bring-up has created before the bootstrap
runs (the secrets step's Secrets, the harbor step's ConfigMap), in a test's own namespace, and
readers for what the bootstrap wrote.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from testbed.bringup.harbor import bootstrap_refs
from testbed.bringup.secrets import ensure_secrets
from testbed.kube.api import KubeAPI

PAYLOADS = Path(__file__).resolve().parents[3] / "manifests" / "components" / "harbor"


def prepare(api: KubeAPI, namespace: str) -> list[dict[str, str]]:
    """The cluster as the bring-up leaves it before the bootstrap; the refs, all in `namespace`."""
    refs = [{**r, "namespace": namespace} for r in bootstrap_refs(namespace)]
    ensure_secrets(api, [{"namespace": namespace, "name": n} for n in ("harbor-admin", "harbor-robot-ci", "harbor-pull", "harbor-ca")])
    api.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "harbor-bootstrap", "namespace": namespace},
                "data": {f.name: f.read_text() for f in sorted(PAYLOADS.glob("*.json"))}}])
    return refs


def secret(api: KubeAPI, namespace: str, name: str) -> dict[str, Any]:
    obj = api.get("v1", "Secret", name, namespace)
    assert obj is not None, f"Secret {namespace}/{name} missing"
    return {"type": obj["type"], "annotations": obj["metadata"].get("annotations") or {},
            **{k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}}


def auths(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(data[".dockerconfigjson"])["auths"]


def robot_secret_of(state: Any, name: str) -> str:
    return next(r["secret"] for r in state.robots.values() if r["name"] == name)


def self_signed_ca_and_server(tmp: Path) -> tuple[str, Path, Path]:
    """(CA PEM, server cert file, key file): a CA as the chart's certSource auto makes, and a cert for 127.0.0.1."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harbor-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_file, key_file = tmp / "server.crt", tmp / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file
