"""suites/policy run as users run it (a pytest subprocess) against a manifests tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.testing.prereqs import unavailable

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO / "tests" / "corpora" / "policy"


def make_tree(root: Path, overlay: str, extra: str = "") -> Path:
    target = root / "manifests" / "overlays" / overlay
    target.mkdir(parents=True)
    for name in ("app.yaml", "network.yaml"):
        shutil.copy(CORPUS / "good" / name, target / name)
    (target / "kustomization.yaml").write_text("resources:\n- app.yaml\n- network.yaml\n" + extra)
    return root / "manifests"


def run_suite(manifests: Path, artifacts: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TESTBED_MANIFESTS": str(manifests), "TESTBED_ARTIFACTS_DIR": str(artifacts),
           "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "policy",
                           str(REPO / "suites" / "policy")], capture_output=True, text=True, timeout=300, env=env,
                          cwd=REPO, check=False)


@pytest.fixture(autouse=True)
def _kubectl() -> None:
    if shutil.which("kubectl") is None:
        unavailable("kubectl (with kustomize) is required and not on PATH")


def test_clean_overlay_passes_and_leaves_evidence(tmp_path: Path) -> None:
    proc = run_suite(make_tree(tmp_path, "minimal-dev"), tmp_path / "artifacts")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
    assert {p.name for p in (tmp_path / "artifacts" / "policy").iterdir()} == {
        "minimal-dev.json", "minimal-dev.junit.xml", "minimal-dev.sarif"}


def test_failing_overlay_fails_with_the_report(tmp_path: Path) -> None:
    extra = "images:\n- name: registry.k8s.io/e2e-test-images/agnhost\n  newTag: latest\n"
    proc = run_suite(make_tree(tmp_path, "full-prd", extra), tmp_path / "artifacts")
    assert proc.returncode == 1
    assert "TB-IMAGE-TAG" in proc.stdout and "full-prd" in proc.stdout
