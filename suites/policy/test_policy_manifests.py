"""Every overlay of the testbed's manifests renders and passes schemas, built-in rules and Rego.

Evidence per overlay (JSON, JUnit, SARIF) goes to the run's artifacts directory. Optional inputs
next to the manifests: policy-waivers.yaml, policy/ (Rego) and upstream/crds/ (CRD schemas).
$TESTBED_POLICY_CRD_DIRS (paths separated by the OS path separator) adds CRD directories, e.g.
the real upstream CRDs of `testbed bundle --crds-only DIR`, so custom resources are checked
against the pinned releases' schemas instead of being waived as schema-less.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testbed.policy.engine import check_paths
from testbed.policy.formats import render
from testbed.policy.model import Severity
from testbed.policy.settings import DEFAULT_K8S_VERSION, PolicySettings, RegoSettings
from testbed.render import default_root


def manifests_root() -> Path:
    """$TESTBED_MANIFESTS, else ./manifests, else the manifests next to the package (wherever conform runs from)."""
    explicit = os.environ.get("TESTBED_MANIFESTS")
    return Path(explicit) if explicit else default_root()


def overlays() -> list[Path]:
    root = manifests_root() / "overlays"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if any((p / n).is_file() for n in ("kustomization.yaml", "kustomization.yml")))


OVERLAYS = overlays()


def settings_for_testbed() -> PolicySettings:
    root = manifests_root()
    waivers = root / "policy-waivers.yaml"
    rego_dir = root / "policy"
    crds = root / "upstream" / "crds"
    extra = tuple(Path(p) for p in os.environ.get("TESTBED_POLICY_CRD_DIRS", "").split(os.pathsep) if p)
    return PolicySettings(
        crd_dirs=((crds,) if crds.is_dir() else ()) + extra,
        k8s_version=os.environ.get("TESTBED_POLICY_K8S_VERSION", DEFAULT_K8S_VERSION),
        waiver_files=(waivers,) if waivers.is_file() else (),
        rego=RegoSettings(policy_paths=(rego_dir,) if rego_dir.is_dir() and any(rego_dir.rglob("*.rego")) else ()),
    )


def test_there_are_manifests_to_check() -> None:
    """Finding nothing to check is a failure, never a silent pass."""
    assert OVERLAYS, f"no kustomize overlays under {manifests_root()}/overlays (set TESTBED_MANIFESTS)"


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_overlay_passes_policy(overlay: Path, artifacts_dir: Path) -> None:
    report = check_paths([overlay], settings_for_testbed())
    out = artifacts_dir / "policy"
    out.mkdir(parents=True, exist_ok=True)
    for fmt, suffix in (("json", "json"), ("junit", "junit.xml"), ("sarif", "sarif")):
        (out / f"{overlay.name}.{suffix}").write_text(render(fmt, report, Severity.ERROR), encoding="utf-8")
    assert report.documents > 0, f"{overlay} rendered no documents"
    failing = report.failing(Severity.ERROR)
    assert not failing, "\n" + render("text", report, Severity.ERROR)
