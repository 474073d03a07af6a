from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import yaml

from testbed.errors import ConfigError, TargetUnreachable
from testbed.kube.api import KubeAPI
from testbed.kube.objects import load_manifest

pytestmark = pytest.mark.unit


def test_manifests_are_split_and_checked() -> None:
    docs = load_manifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Secret\n")

    assert [d["kind"] for d in docs] == ["ConfigMap", "Secret"]
    with pytest.raises(ConfigError, match="document\\[1\\]"):
        load_manifest("apiVersion: v1\nkind: A\n---\nfoo: bar\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_manifest("a: [")


def test_a_missing_kubeconfig_is_unreachable(tmp_path: Path) -> None:
    with pytest.raises(TargetUnreachable, match="does not exist"):
        KubeAPI(tmp_path / "nope.yaml")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_kubeconfig(kubeconfig: Path, port: int) -> None:
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}", "insecure-skip-tls-verify": True}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )


def test_an_api_nobody_serves_is_one_clear_unreachable_error(tmp_path: Path) -> None:
    port = closed_port()
    kubeconfig = tmp_path / "kubeconfig.yaml"
    write_kubeconfig(kubeconfig, port)

    with KubeAPI(kubeconfig, request_timeout_s=2) as api:
        ready, detail = api.probe("/readyz")
        with pytest.raises(TargetUnreachable) as err:
            api.list("v1", "Node")

    assert ready is False and detail
    assert err.value.message.startswith(f"cannot reach the Kubernetes API at https://127.0.0.1:{port}")
    assert "\n" not in err.value.message


def test_an_api_that_never_answers_times_out_even_during_discovery(tmp_path: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        kubeconfig = tmp_path / "kubeconfig.yaml"
        write_kubeconfig(kubeconfig, silent.getsockname()[1])
        start = time.monotonic()

        with KubeAPI(kubeconfig, request_timeout_s=0.5) as api, pytest.raises(TargetUnreachable, match="timed out"):
            api.list("v1", "Node")

    assert time.monotonic() - start < 10
