"""The stand-in bundle takes a component's real CRDs from the upstream cache, never from the network."""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.bringup.bundle import load_bundle
from testbed.bringup.standin import STAND_IN_LABEL, upstream_crds, write_stand_in_bundle

pytestmark = pytest.mark.unit


def real_crd(group: str, kind: str, plural: str, version: str, *, status: bool = True, webhook: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "group": group, "names": {"kind": kind, "plural": plural}, "scope": "Namespaced",
        "versions": [{"name": version, "served": True, "storage": True, "subresources": {"status": {}} if status else {},
                      "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}}}]}
    if webhook:
        spec["conversion"] = {"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"],
                                                                 "clientConfig": {"service": {"name": "w", "namespace": "n"}}}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"}, "spec": spec}


def cached_tree(tmp_path: Path) -> tuple[Path, Path]:
    """A manifests root whose versions.yaml pins one file each for argocd and rook-ceph, both in a cache."""
    cache, manifests = tmp_path / "cache", tmp_path / "manifests"
    files = {
        "argocd": yaml.safe_dump_all([real_crd("argoproj.io", "Application", "applications", "v1alpha1", status=False),
                                      real_crd("argoproj.io", "AppProject", "appprojects", "v1alpha1"),
                                      real_crd("argoproj.io", "ApplicationSet", "applicationsets", "v1alpha1"),
                                      {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x"}}]).encode(),
        "tekton-pipelines": yaml.safe_dump_all([real_crd("tekton.dev", "Pipeline", "pipelines", "v1", webhook=True)]).encode(),
    }
    comps = []
    for name, data in files.items():
        sha = hashlib.sha256(data).hexdigest()
        (cache / "files").mkdir(parents=True, exist_ok=True)
        (cache / "files" / sha).write_bytes(data)
        comps.append({"name": name, "version": "v1", "install": "manifests", "namespace": name,
                      "manifests": [{"url": f"https://example.invalid/{name}.yaml", "sha256": sha}]})
    comps.append({"name": "rook-ceph", "version": "v1", "install": "manifests", "namespace": "rook-ceph",
                  "manifests": [{"url": "https://example.invalid/rook.yaml", "sha256": "a" * 64}]})  # not cached
    (manifests / "upstream").mkdir(parents=True)
    (manifests / "upstream" / "versions.yaml").write_text(yaml.safe_dump({"schema": 1, "components": comps}))
    return manifests, cache


def no_network(*_a: Any, **_k: Any) -> Any:
    raise AssertionError("the stand-in bundle must not touch the network")


def test_real_crds_come_from_the_cache_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    manifests, cache = cached_tree(tmp_path)
    crds = upstream_crds("argocd", manifests_root=manifests, cache=cache)
    assert crds is not None and [c["spec"]["names"]["kind"] for c in crds] == ["Application", "AppProject", "ApplicationSet"]
    assert upstream_crds("rook-ceph", manifests_root=manifests, cache=cache) is None  # pinned but not cached
    assert upstream_crds("harbor", manifests_root=manifests, cache=cache) is None  # not in versions.yaml here


def test_bundle_marks_which_crds_are_real_and_adapts_them_for_sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    manifests, cache = cached_tree(tmp_path)
    out = tmp_path / "bundle"
    write_stand_in_bundle(out, real_crds=True, manifests_root=manifests, cache=cache)
    crds_from = {e.name: e.crds_from for e in load_bundle(out).entries}
    assert crds_from["argocd"] == "upstream" and crds_from["rook-ceph"] == "stand-in"
    assert crds_from["harbor"] is None  # no CRDs at all
    # Tekton's real Pipeline CRD serves only one of the four kinds the testbed uses: the rest are stand-ins
    assert crds_from["tekton-pipelines"] == "upstream+stand-in"
    tekton = list(yaml.safe_load_all((out / "tekton-pipelines" / "crds.yaml").read_text()))
    pipeline = next(c for c in tekton if c["spec"]["names"]["kind"] == "Pipeline")
    assert pipeline["spec"]["conversion"] == {"strategy": "None"}  # no webhook server runs on sim
    assert STAND_IN_LABEL not in pipeline["metadata"].get("labels", {})
    assert all(c["metadata"]["labels"][STAND_IN_LABEL] == "true" for c in tekton if c is not pipeline)
    argocd = list(yaml.safe_load_all((out / "argocd" / "crds.yaml").read_text()))
    assert {c["kind"] for c in argocd} == {"CustomResourceDefinition"}
    stages = {s["metadata"]["name"]: s for s in yaml.safe_load_all((out / "sim" / "stages.yaml").read_text())}
    # Application's real CRD has no status subresource: its Stage patches the object itself
    assert stages["testbed-stand-in-application"]["spec"]["next"]["statusSubresource"] == ""
    assert "statusSubresource" not in stages["testbed-stand-in-cephcluster"]["spec"]["next"]


def test_real_crds_are_off_by_default(tmp_path: Path) -> None:
    manifests, cache = cached_tree(tmp_path)
    write_stand_in_bundle(tmp_path / "b", manifests_root=manifests, cache=cache)
    assert {e.crds_from for e in load_bundle(tmp_path / "b").entries} == {"stand-in", None}
