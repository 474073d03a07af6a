"""The testbed CA and the ingress certificate: key type, SANs, chain, validity, the CA kept 0600 and
reused, the TLS Secret created once, and the plan asking for it for every HTTPProxy fqdn."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from testbed.bringup.ingress_tls import CA_CERT, CA_KEY, load_or_create_ca, server_certificate
from testbed.bringup.plan import tls_secrets
from testbed.bringup.secrets import ensure_secrets
from testbed.errors import TestbedError
from testbed.manifests_gen.spec import INGRESS_TLS_SECRET

pytestmark = pytest.mark.unit
HOSTS = ["shop.dev.testbed.internal", "grpc.dev.testbed.internal"]


def test_ca_is_created_once_with_a_private_key_and_reused(tmp_path: Path) -> None:
    ca = load_or_create_ca(tmp_path / "ca")
    assert stat.S_IMODE((tmp_path / "ca" / CA_KEY).stat().st_mode) == 0o600
    assert isinstance(ca.key, ec.EllipticCurvePrivateKey) and ca.key.curve.name == "secp256r1"
    constraints = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and ca.cert.not_valid_after_utc - ca.cert.not_valid_before_utc > dt.timedelta(days=3000)
    again = load_or_create_ca(tmp_path / "ca")
    assert again.cert == ca.cert and again.cert_path == tmp_path / "ca" / CA_CERT


def test_server_certificate_covers_the_hosts_and_chains_to_the_ca(tmp_path: Path) -> None:
    ca = load_or_create_ca(tmp_path)
    data = server_certificate(ca, HOSTS)
    leaf, *chain = x509.load_pem_x509_certificates(data["tls.crt"].encode())
    assert chain == [ca.cert] and data["ca.crt"] == ca.cert_pem
    leaf.verify_directly_issued_by(ca.cert)
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == HOSTS
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    key = serialization.load_pem_private_key(data["tls.key"].encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert key.public_key() == leaf.public_key()
    now = dt.datetime.now(dt.timezone.utc)
    assert leaf.not_valid_before_utc <= now < leaf.not_valid_after_utc <= now + dt.timedelta(days=398)


def test_a_mismatched_or_broken_ca_is_one_clear_error(tmp_path: Path) -> None:
    load_or_create_ca(tmp_path / "a")
    load_or_create_ca(tmp_path / "b")
    (tmp_path / "a" / CA_CERT).write_bytes((tmp_path / "b" / CA_CERT).read_bytes())
    with pytest.raises(TestbedError, match="does not belong"):
        load_or_create_ca(tmp_path / "a")
    (tmp_path / "b" / CA_CERT).write_text("garbage")
    with pytest.raises(TestbedError, match="unreadable"):
        load_or_create_ca(tmp_path / "b")


class _FakeAPI:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}

    def get(self, _api_version: str, _kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.objects.get((str(namespace), name))

    def create(self, obj: dict[str, Any]) -> None:
        self.objects[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj


def test_tls_secret_is_created_once_and_signed_by_the_kept_ca(tmp_path: Path) -> None:
    api = _FakeAPI()
    wanted = [{"namespace": "testbed-dev-shop", "name": INGRESS_TLS_SECRET, "hosts": HOSTS},
              {"namespace": "testbed-dev-shop", "name": "shop-redis"}]
    assert ensure_secrets(api, wanted, tmp_path / "ca") == [f"testbed-dev-shop/{INGRESS_TLS_SECRET}", "testbed-dev-shop/shop-redis"]
    secret = api.objects[("testbed-dev-shop", INGRESS_TLS_SECRET)]
    assert secret["type"] == "kubernetes.io/tls" and {"tls.crt", "tls.key"} <= secret["stringData"].keys()
    assert ensure_secrets(api, wanted, tmp_path / "ca") == []  # a re-run changes nothing
    del api.objects[("testbed-dev-shop", INGRESS_TLS_SECRET)]  # e.g. after a teardown: same CA, new leaf
    ensure_secrets(api, wanted, tmp_path / "ca")
    leaf = x509.load_pem_x509_certificate(api.objects[("testbed-dev-shop", INGRESS_TLS_SECRET)]["stringData"]["tls.crt"].encode())
    leaf.verify_directly_issued_by(load_or_create_ca(tmp_path / "ca").cert)
    with pytest.raises(TestbedError, match="CA dir"):
        ensure_secrets(_FakeAPI(), wanted[:1], None)


def test_plan_asks_for_one_tls_secret_per_name_with_every_fqdn_that_uses_it() -> None:
    def proxy(name: str, fqdn: str, secret: str | None) -> dict[str, Any]:
        vhost: dict[str, Any] = {"fqdn": fqdn, **({"tls": {"secretName": secret}} if secret else {})}
        return {"kind": "HTTPProxy", "metadata": {"name": name, "namespace": "ns"}, "spec": {"virtualhost": vhost}}

    docs = [proxy("web", HOSTS[0], INGRESS_TLS_SECRET), proxy("grpc", HOSTS[1], INGRESS_TLS_SECRET),
            proxy("plain", "x.example", None), proxy("delegated", "y.example", "other-ns/cert")]
    assert tls_secrets(docs) == [{"namespace": "ns", "name": INGRESS_TLS_SECRET, "hosts": HOSTS}]


def test_a_ca_dir_without_its_key_is_refused_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "ca").mkdir()
    (tmp_path / "ca" / CA_CERT).write_text("a user's file")
    with pytest.raises(TestbedError, match="exists without ca.key"):
        load_or_create_ca(tmp_path / "ca")
    assert (tmp_path / "ca" / CA_CERT).read_text() == "a user's file"
    assert [p.name for p in tmp_path.iterdir()] == ["ca"]  # no staging directory left behind


def test_concurrent_creators_end_with_one_ca(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        cas = list(pool.map(lambda _: load_or_create_ca(tmp_path / "ca"), range(8)))
    assert all(ca.cert == cas[0].cert for ca in cas)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca"]
