"""Generated secrets have the right shape; `testbed bundle` fails with one clear error offline."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from testbed.bringup.secrets import secret_content
from testbed.cli.bundle import bundle
from testbed.cli.main import main

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]


def test_jwt_key_is_an_ed25519_pair() -> None:
    kind, data = secret_content("shop-jwt")
    key = serialization.load_pem_private_key(data["private.pem"].encode(), password=None)
    assert kind == "Opaque" and key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode() == data["public.pem"]


def test_values_differ_every_time_and_have_the_keys_consumers_read() -> None:
    assert secret_content("shop-redis")[1]["password"] != secret_content("shop-redis")[1]["password"]
    kind, data = secret_content("shop-postgres-app")
    assert kind == "kubernetes.io/basic-auth" and data["username"] == "app" and len(data["password"]) >= 32
    kind, data = secret_content("harbor-pull")
    assert kind == "kubernetes.io/dockerconfigjson" and "harbor.testbed.internal" in json.loads(data[".dockerconfigjson"])["auths"]
    assert len(secret_content("harbor-secret-key")[1]["secretKey"]) == 16
    assert set(secret_content("gitops-webhook")[1]) == {"secret"}


def test_bundle_offline_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    def offline(*_a: Any, **_k: Any) -> Any:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))  # an empty cache: every file needs the network
    rc = main(["bundle", str(tmp_path / "b"), "--manifests-root", str(REPO / "manifests")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1
    assert "cannot download crds.yaml: https://" in err[0] and "Go module proxy" in err[0] and "--stand-in" in err[0]
    assert not (tmp_path / "b" / "bundle.yaml").exists()


def test_stand_in_bundle_from_the_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(bundle, [str(tmp_path / "s"), "--stand-in"], standalone_mode=False)
    assert result.exception is None and "never for real clusters" in result.output
    assert (tmp_path / "s" / "bundle.yaml").is_file()


def test_a_stand_in_bundle_is_refused_on_a_real_cluster(tmp_path: Path) -> None:
    from testbed.bringup.session import BringUp, ClusterSpec
    from testbed.bringup.standin import write_stand_in_bundle
    from testbed.errors import ConfigError

    write_stand_in_bundle(tmp_path / "s")
    spec = ClusterSpec(kubeconfig=tmp_path / "k", context=None, sim=False, profile="minimal", env="dev",
                       bundle=tmp_path / "s", manifests_root=None, reports_dir=tmp_path, state_dir=tmp_path)
    with pytest.raises(ConfigError, match="must never be installed on a real cluster"):
        BringUp(spec).bundle(tmp_path)
    with pytest.raises(ConfigError, match="testbed bundle DIR"):
        BringUp(ClusterSpec(**{**spec.__dict__, "bundle": None})).bundle(tmp_path)
