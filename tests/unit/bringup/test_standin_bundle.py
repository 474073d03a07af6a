"""The stand-in bundle: open-schema CRDs, upstream names, clearly marked, and a readable bundle layout."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from testbed.bringup.bundle import load_bundle
from testbed.bringup.standin import STAND_IN_LABEL, sim_stages, write_stand_in_bundle
from testbed.bringup.upstream import UPSTREAMS
from testbed.errors import ConfigError

pytestmark = pytest.mark.unit


def test_crds_have_open_schemas_and_status(tmp_path: Path) -> None:
    write_stand_in_bundle(tmp_path)
    for path in tmp_path.glob("*/crds.yaml"):
        for crd in yaml.safe_load_all(path.read_text()):
            version = crd["spec"]["versions"][0]
            assert version["schema"]["openAPIV3Schema"]["x-kubernetes-preserve-unknown-fields"] is True
            assert version["subresources"] == {"status": {}}
            assert crd["metadata"]["labels"][STAND_IN_LABEL] == "true"


def test_controllers_keep_upstream_names_and_namespaces(tmp_path: Path) -> None:
    write_stand_in_bundle(tmp_path)
    workloads = {}
    for path in tmp_path.glob("*/install.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
                workloads[doc["metadata"]["name"]] = doc
    assert workloads["cnpg-controller-manager"]["metadata"]["namespace"] == "cnpg-system"
    assert workloads["rook-ceph-operator"]["metadata"]["namespace"] == "rook-ceph"
    assert workloads["envoy"]["kind"] == "DaemonSet"
    assert workloads["nats"]["metadata"]["namespace"] == "testbed-{env}-shop"
    for doc in workloads.values():
        image = doc["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.startswith("registry.invalid/testbed-stand-in/")


def test_bundle_says_it_is_a_stand_in(tmp_path: Path) -> None:
    write_stand_in_bundle(tmp_path)
    bundle = load_bundle(tmp_path)
    assert bundle.stand_in and {e.name for e in bundle.entries} == {u.name for u in UPSTREAMS}
    assert "NEVER for real clusters" in (tmp_path / "README.md").read_text()
    assert (tmp_path / "images.txt").read_text().count("registry.invalid") >= len(UPSTREAMS)


def test_every_stage_skips_never_ready_objects() -> None:
    for stage in sim_stages():
        keys = [e["key"] for e in stage["spec"]["selector"]["matchExpressions"]]
        assert any("testbed.io/sim-never-ready" in k for k in keys)
        assert stage["metadata"]["name"].startswith("testbed-stand-in-")


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "bundle.yaml").unlink(), "not a testbed bundle"),
    (lambda d: (d / "bundle.yaml").write_text("kind: Other\n"), "kind must be TestbedBundle"),
    (lambda d: (d / "contour" / "install.yaml").unlink(), "contour/install.yaml is missing"),
])
def test_broken_bundles_are_config_errors(tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    write_stand_in_bundle(tmp_path)
    damage(tmp_path)
    with pytest.raises(ConfigError, match=message):
        load_bundle(tmp_path)
